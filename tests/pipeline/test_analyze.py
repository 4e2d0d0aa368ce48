"""Both stages end to end on one generated clip (one detector run for the whole module)."""

from __future__ import annotations

import csv
import json

import av
import numpy as np
import pytest

from backend.analytics.inputs import EVENT_TYPES
from backend.pipeline import PipelineSettings, Progress, analyze_video
from backend.pipeline.outputs import TRACKS_COLUMNS
from backend.workflow import analyse_match
from tests.pipeline.evaluate import iou, read_tracks, score
from tests.synthetic import make_match_clip

# The product default imgsz (480) is tuned for 720p footage; on these 640x360 test clips the
# same people are half as tall, so the detector sees the frame at its own size instead.
TEST_SETTINGS = {"imgsz": 640, "team_names": {"A": "Home"}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyze")
    truth = make_match_clip(
        folder / "match.mp4",
        seconds=3.0,
        fps=25,
        players_per_team=2,
        officials=1,
        spectators=2,
        seed=2,
    )
    progress: list[Progress] = []
    result = analyse_match(
        truth.path,
        folder / "out",
        PipelineSettings.from_dict(TEST_SETTINGS),
        calibration=truth.calibration(),
        on_progress=progress.append,
    )
    return truth, result, progress


def test_people_are_detected_tracked_and_split_into_teams(run):
    truth, result, _ = run
    # The two spectators beyond the far sideline are outside the calibrated court: no tracks.
    s = score(truth, result.out_dir / "tracks.csv")
    assert s.recall >= 0.85
    assert s.track_count == truth.people
    assert s.id_switches == 0
    assert s.team_accuracy == 1.0


def test_ball_path_follows_the_truth_after_interpolation(run):
    truth, result, _ = run
    s = score(truth, result.out_dir / "tracks.csv", short_gap_frames=6)
    # One 0.6 s gap is longer than ball_gap_fill_max_s and stays empty (43 of 75 frames have a
    # ball): filled in, its straight line was up to 45 px off the true ball.
    assert s.ball_frames >= 0.55 * truth.frames
    # Between detections up to two keyframes apart the filled-in path is on the true one.
    assert s.ball_short_gap_frames >= 0.3 * truth.frames
    assert s.ball_short_gap_error_median_px <= 3.0
    assert s.ball_short_gap_error_p90_px <= 10.0
    ball = list(csv.DictReader((result.out_dir / "ball.csv").open(newline="")))
    assert len(ball) == truth.frames
    held = [r for r in ball if r["state"] == "held"]
    assert held and all(r["holder_track_id"] for r in held)


def test_tracks_csv_has_the_contract_columns_and_every_frame(run):
    truth, result, _ = run
    with (result.out_dir / "tracks.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == TRACKS_COLUMNS
    rows = read_tracks(result.out_dir / "tracks.csv")
    frames = {int(r["frame"]) for r in rows if r["class"] == "player"}
    assert frames == set(range(truth.frames))
    sources = {r["source"] for r in rows}
    assert sources == {"detected", "interpolated"}
    players = [r for r in rows if r["class"] == "player"]
    assert {r["team"] for r in players} == {"A", "B", "other"}
    assert all(r["team"] == "" and r["track_id"] == "0" for r in rows if r["class"] == "ball")


def test_court_positions_match_the_generated_paths(run):
    truth, result, _ = run
    rows = [r for r in read_tracks(result.out_dir / "tracks.csv") if r["class"] == "player"]
    errors = []
    for r in rows:
        f = int(r["frame"])
        box = np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
        p = int(iou(box, truth.boxes[f]).argmax())
        if iou(box, truth.boxes[f])[p] >= 0.5:
            got = np.array([float(r["court_x"]), float(r["court_y"])])
            errors.append(np.linalg.norm(got - truth.feet_court_m[f, p]))
            assert r["zone"] in (
                "left_circle",
                "left_third",
                "centre_third",
                "right_third",
                "right_circle",
            )
    assert len(errors) > truth.frames
    assert np.median(errors) < 0.5  # metres: a box's bottom edge is a few pixels off the feet


def test_annotated_video_is_browser_h264_with_every_frame(run):
    truth, result, _ = run
    with av.open(str(result.out_dir / "annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert round(float(stream.average_rate)) == 25
        decoded = sum(1 for _ in container.decode(stream))
    assert decoded == truth.frames


def test_players_summary_events_and_heatmaps(run):
    truth, result, _ = run
    out = result.out_dir
    names = {p.name for p in result.files}
    assert {"annotated.mp4", "tracks.csv", "players.csv", "summary.json", "heatmap_A.png",
            "heatmap_B.png", "events.csv", "events.json", "ball.csv"} <= names  # fmt: skip
    assert not [p for p in out.iterdir() if p.name.startswith(".partial")]
    with (out / "players.csv").open(newline="") as handle:
        players = list(csv.DictReader(handle))
    assert len(players) == truth.people
    assert all(
        int(p["frames_seen"]) >= truth.frames - 3 and float(p["distance_m"]) > 1 for p in players
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary == result.summary
    assert summary["video"]["frames_processed"] == truth.frames
    assert summary["counts"]["player_tracks"] == truth.people
    assert sum(float(p["possession_s"]) for p in players) > 0
    assert (
        summary["counts"]["players_by_team"]["A"] == summary["counts"]["players_by_team"]["B"] == 2
    )
    teams = {t["label"]: t for t in summary["teams"]}
    assert teams["A"]["name"] == "Home" and teams["B"]["name"] == "Team B"
    assert all(t["color"].startswith("#") and len(t["color"]) == 7 for t in teams.values())
    assert summary["settings"]["imgsz"] == 640 and summary["calibration"]["max_error_m"] < 0.01
    events = json.loads((out / "events.json").read_text())["events"]
    assert events and events[0]["type"] == "possession_start"
    assert {e["type"] for e in events} <= set(EVENT_TYPES)
    assert summary["analytics"]["calibrated"] is True
    assert {"teams.csv", "possession.csv", "timeline.xml", "tracks_mot.txt"} <= names


def test_progress_is_reported_up_to_the_last_frame(run):
    truth, _, progress = run
    analysing = [p for p in progress if p.phase == "analysing"]
    assert analysing[-1].frames_done == truth.frames == analysing[-1].frames_total
    done = [p.frames_done for p in progress]
    assert done == sorted(done)


def test_progress_names_each_phase_in_order(run):
    _, result, progress = run
    phases = [p.phase for p in progress]
    order = [phase for i, phase in enumerate(phases) if i == 0 or phases[i - 1] != phase]
    assert order == ["loading_model", "learning_teams", "analysing", "writing_outputs"]
    # Before the analysing phase no frame is counted: the 0 % then is start-up, not analysis.
    assert [p.frames_done for p in progress if p.phase in ("loading_model", "learning_teams")] == [
        0,
        0,
    ]
    timings = result.summary["timings"]
    assert {"model_load_s", "team_fit_s", "main_pass_s", "finalize_s"} <= set(timings)


def test_without_calibration_court_columns_stay_empty_and_spectators_count(tmp_path):
    truth = make_match_clip(tmp_path / "m.mp4", seconds=1.5, players_per_team=1, spectators=2)
    result = analyze_video(truth.path, tmp_path / "out", PipelineSettings.from_dict(TEST_SETTINGS))
    rows = read_tracks(result.out_dir / "tracks.csv")
    assert rows and all(r["court_x"] == r["court_y"] == r["zone"] == "" for r in rows)
    boxes = [
        np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
        for r in rows
        if r["class"] == "player"
    ]
    on_spectators = [b for b in boxes if iou(b, truth.spectator_boxes).max() >= 0.5]
    assert on_spectators, "without a court region, people beside it are tracked too"
    assert result.summary["calibration"] is None
