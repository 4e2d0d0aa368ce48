"""Stage 2 rerun on a finished job: the analyst's inputs are checked, stored and used; the
job's files, summary and ZIP follow; detection is never run again."""

from __future__ import annotations

import csv
import io
import json

import pytest

from backend.analytics.court import DEFAULT_COURT
from backend.cli import main as cli_main
from backend.models import JobAnalysis, JobStatus
from backend.services import analysis
from backend.services.errors import InvalidArgument, JobNotFound, JobStateError
from backend.services.files import job_outputs_dir, list_job_files, register_outputs
from tests.analytics.scenes import Scene, court_to_px
from tests.platform.factories import make_job


def _calibration() -> dict:
    corners = DEFAULT_COURT.corners_m()
    return {
        "image_points": court_to_px(corners).tolist(),
        "court_points_m": [list(c) for c in corners],
    }


def _pass_scene() -> Scene:
    """A passes to A2, A2 loses it to B's player: one pass, one turnover, one intercept/gain."""
    scene = Scene(n_frames=200)
    scene.add(1, "A", (8.0, 7.0)).add(2, "A", (14.0, 6.0)).add(3, "B", (20.0, 9.0))
    return scene.hold(0.2, 1.6, 1).hold(2.2, 4.0, 2).hold(4.8, 7.5, 3)


@pytest.fixture
def finished_job(session):
    job = make_job(
        session,
        status=JobStatus.completed,
        settings={"calibration": _calibration(), "team_names": {"A": "Giants", "B": "Swifts"}},
    )
    _pass_scene().write(job_outputs_dir(job.id))
    register_outputs(session=session, job_id=job.id)
    return job


def _players(job_id: str) -> dict[int, dict]:
    with (job_outputs_dir(job_id) / "players.csv").open(newline="") as handle:
        return {int(r["track_id"]): r for r in csv.DictReader(handle)}


def test_reanalyse_writes_the_stage_two_files_and_records_them(session, finished_job):
    result = analysis.reanalyse_job(session=session, job_id=finished_job.id)
    names = {f.name for f in list_job_files(session=session, job_id=finished_job.id)}
    assert {"players.csv", "teams.csv", "events.json", "timeline.xml", "tracks_mot.txt",
            "heatmap_A.png", "pass_network.json", "possession.csv"} <= names  # fmt: skip
    assert result.analytics["calibrated"] is True
    events = json.loads((job_outputs_dir(finished_job.id) / "events.json").read_text())["events"]
    passes = [e for e in events if e["type"] == "pass"]
    assert [(e["track_id"], e["to_track_id"], e["details"]["completed"]) for e in passes] == [
        (1, 2, True),
        (2, None, False),
    ]
    session.refresh(finished_job)
    assert finished_job.summary["analytics"]["counts"] == result.analytics["counts"]
    players = _players(finished_job.id)
    assert players[1]["team_name"] == "Giants" and int(players[1]["passes"]) == 1
    row = session.get(JobAnalysis, finished_job.id)
    assert row.analysed_at is not None and row.error is None


def test_positions_and_corrections_are_stored_and_change_the_statistics(session, finished_job):
    analysis.update_inputs(session=session, job_id=finished_job.id, positions={"1": "C", "2": "WA"})
    analysis.reanalyse_job(session=session, job_id=finished_job.id)
    players = _players(finished_job.id)
    assert (players[1]["position"], players[1]["position_source"]) == ("C", "analyst")
    events = json.loads((job_outputs_dir(finished_job.id) / "events.json").read_text())
    the_pass = next(e for e in events["events"] if e["type"] == "pass")
    corrections = {"added": [], "deleted": [the_pass["id"]], "changed": {}, "confirmed": []}
    analysis.update_inputs(session=session, job_id=finished_job.id, corrections=corrections)
    analysis.reanalyse_job(session=session, job_id=finished_job.id)
    assert int(_players(finished_job.id)[1]["passes"]) == 0
    events = json.loads((job_outputs_dir(finished_job.id) / "events.json").read_text())
    assert any(e["id"] == the_pass["id"] for e in events["automatic"])
    assert not any(e["id"] == the_pass["id"] for e in events["events"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"positions": {"1": "XX"}}, "position 'XX'"),
        ({"team_a_attacks": "up"}, "team_a_attacks"),
        ({"colour": "red"}, "unknown analysis input(s) colour"),
    ],
)
def test_bad_inputs_are_refused_and_nothing_is_stored(session, finished_job, changes, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        analysis.update_inputs(session=session, job_id=finished_job.id, **changes)
    assert session.get(JobAnalysis, finished_job.id) is None


@pytest.mark.parametrize("status", [JobStatus.queued, JobStatus.running, JobStatus.failed])
def test_only_a_completed_job_can_be_reanalysed(session, status):
    job = make_job(session, status=status)
    with pytest.raises(JobStateError, match=f"is {status.value}"):
        analysis.reanalyse_job(session=session, job_id=job.id)


def test_unknown_job(session):
    with pytest.raises(JobNotFound):
        analysis.reanalyse_job(session=session, job_id="nope")


def test_cli_reanalyse_json(session, finished_job):
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["reanalyse", finished_job.id, "--json"], out=out, err=err) == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert doc["job_id"] == finished_job.id and doc["counts"]["pass"] == 2
    assert "players.csv" in doc["files"] and doc["seconds"] >= 0
    err = io.StringIO()
    assert cli_main(["reanalyse", "missing"], out=io.StringIO(), err=err) == 1
    assert "job not found" in err.getvalue()


def test_confirming_events_marks_them_and_an_outcome_becomes_an_edit(session, finished_job):
    analysis.reanalyse_job(session=session, job_id=finished_job.id)
    events = json.loads((job_outputs_dir(finished_job.id) / "events.json").read_text())["events"]
    the_pass = next(e for e in events if e["type"] == "pass")
    analysis.confirm_events(session=session, job_id=finished_job.id, event_ids=[the_pass["id"]])
    final = json.loads((job_outputs_dir(finished_job.id) / "events.json").read_text())["events"]
    confirmed = next(e for e in final if e["id"] == the_pass["id"])
    assert confirmed["details"]["confirmed"] is True and confirmed["source"] == "auto"
    stored = analysis.stored_inputs(session=session, job_id=finished_job.id)["corrections"]
    assert stored["confirmed"] == [the_pass["id"]] and stored["changed"] == {}
    with pytest.raises(InvalidArgument, match="no automatic event m-9"):
        analysis.confirm_events(session=session, job_id=finished_job.id, event_ids=["m-9"])


def test_corrections_from_rows_is_the_whole_state():
    automatic = [
        {"id": "a-1-pass", "time_s": 1.0, "type": "pass", "team": "A", "track_id": 1,
         "to_track_id": 2, "outcome": None},
        {"id": "a-9-shot", "time_s": 9.0, "type": "shot", "team": "A", "track_id": 2,
         "to_track_id": None, "outcome": "unknown"},
    ]  # fmt: skip
    rows = [
        {**automatic[1], "outcome": "goal"},
        {"id": None, "time_s": 4.0, "type": "gain", "team": "B", "track_id": 3},
    ]
    corrections = analysis.corrections_from_rows(automatic, rows, confirmed=["a-1-pass"])
    assert corrections == {
        "added": [{"time_s": 4.0, "type": "gain", "team": "B", "track_id": 3}],
        "deleted": ["a-1-pass"],
        "changed": {"a-9-shot": {"outcome": "goal"}},
        "confirmed": [],
    }
    with pytest.raises(InvalidArgument, match="needs at least a type and a time"):
        analysis.corrections_from_rows(automatic, [{"id": None, "type": "gain"}], confirmed=[])
