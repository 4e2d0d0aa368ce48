"""run_analytics end to end on scripted folders: files, determinism, corrections, bad input,
recalibration, exports and the layering rule."""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from backend.analytics.exports import parse_timeline, read_mot, timeline_xml
from backend.analytics.inputs import AnalyticsInputs, AnalyticsSettings
from backend.analytics.stage import run_analytics
from backend.analytics.stats import PLAYER_COLUMNS, TEAM_COLUMNS
from tests.analytics.scenes import HOMOGRAPHY, Scene

CONTRACT_FILES = {"events.json", "events.csv", "possession.csv", "players.csv", "teams.csv",
                  "pass_network.json", "pass_network_A.png", "pass_network_B.png",
                  "timeline.xml", "tracks_mot.txt", "summary.json", "heatmap_A.png",
                  "heatmap_B.png"}  # fmt: skip


def _scene() -> Scene:
    s = Scene(n_frames=250)
    s.add(1, "A", (12.0, 5.0)).add(2, "A", (18.0, 10.0)).add(3, "A", (27.0, 7.6))
    s.add(4, "B", (16.0, 7.0)).add(5, "B", (5.0, 7.0))
    # player 6 runs 1 m/s along the court: distance and speed are known
    s.add(6, "B", np.c_[np.linspace(3.0, 13.0, 250, endpoint=False), np.full(250, 2.0)])
    s.hold(0.2, 1.2, 1).hold(1.6, 2.6, 2).hold(3.0, 4.0, 3).hold(4.8, 6.0, 4).hold(6.5, 8.0, 5)
    return s


def _csv(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return _scene().write(tmp_path / "out")


def test_writes_every_contract_file_with_its_columns(folder: Path) -> None:
    result = run_analytics(folder, AnalyticsInputs(team_a_attacks="right"))
    assert {p.name for p in result.files} == CONTRACT_FILES
    players = _csv(folder / "players.csv")
    assert tuple(players[0]) == PLAYER_COLUMNS
    assert tuple(_csv(folder / "teams.csv")[0]) == TEAM_COLUMNS
    runner = next(p for p in players if p["track_id"] == "6")
    assert float(runner["distance_m"]) == pytest.approx(10.0, rel=0.05)
    assert float(runner["top_speed_ms"]) == pytest.approx(1.0, abs=0.05)
    assert float(runner["mean_speed_ms"]) == pytest.approx(1.0, abs=0.05)
    assert "None" not in (folder / "players.csv").read_text()
    summary = json.loads((folder / "summary.json").read_text())
    a = summary["analytics"]
    assert a["calibrated"] and a["direction_source"] == "analyst"
    assert a["possession"] == summary["possession"]
    assert a["possession"]["A"] + a["possession"]["B"] == pytest.approx(1.0)
    assert a["counts"]["pass"] == 4 and a["counts"]["intercept"] == 1
    assert summary["video"]["fps"] == 25.0  # stage-1 keys kept
    teams = {(r["team"], r["period"]): r for r in _csv(folder / "teams.csv")}
    assert (
        teams[("A", "all")]["passesCompleted"] == "2" and teams[("B", "all")]["intercepts"] == "1"
    )
    network = json.loads((folder / "pass_network.json").read_text())
    assert network["A"]["edges"] == [
        {"from": 1, "to": 2, "count": 1},
        {"from": 2, "to": 3, "count": 1},
    ]
    assert (folder / "pass_network_A.png").read_bytes()[:4] == b"\x89PNG"


def test_twice_gives_identical_files(folder: Path) -> None:
    inputs = AnalyticsInputs(team_a_attacks="left", positions={3: "GS"})
    run_analytics(folder, inputs)
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    run_analytics(folder, inputs)
    second = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert first.keys() == second.keys()

    def without_timings(raw: bytes) -> dict:
        doc = json.loads(raw)
        doc["analytics"].pop("timings")
        return doc

    for name in first:
        if name == "summary.json":
            assert without_timings(first[name]) == without_timings(second[name])
        else:
            assert first[name] == second[name], name


def test_edited_events_recompute_statistics(folder: Path) -> None:
    run_analytics(folder, AnalyticsInputs(team_a_attacks="right"))
    auto = json.loads((folder / "events.json").read_text())["automatic"]
    intercept = next(e["id"] for e in auto if e["type"] == "intercept")
    first_pass = next(e["id"] for e in auto if e["type"] == "pass")
    corrections = {
        "deleted": [intercept],
        "changed": {first_pass: {"track_id": 5, "team": "B", "to_track_id": 4}},
        "added": [{"type": "shot", "time_s": 3.9, "team": "A", "track_id": 3, "outcome": "goal"}],
        "confirmed": ["a-1-nothing"],
    }
    result = run_analytics(folder, AnalyticsInputs(team_a_attacks="right", corrections=corrections))
    doc = json.loads((folder / "events.json").read_text())
    assert len(doc["automatic"]) == len(auto)  # automatic events are kept beside the edits
    final = {e["id"]: e for e in doc["events"]}
    assert intercept not in final and final["m-1"]["source"] == "analyst"
    assert final[first_pass]["source"] == "edited" and final[first_pass]["track_id"] == 5
    players = {r["track_id"]: r for r in _csv(folder / "players.csv")}
    assert players["4"]["intercepts"] == "0" and players["4"]["gain"] == "0"
    assert players["3"]["goals"] == "1" and players["3"]["shootingPct"] == "100.0"
    assert players["1"]["passes"] == "0" and players["5"]["passes"] == "1"
    assert result.analytics["score"]["A"]["total"] == 1 and result.analytics["score_confirmed"]
    assert any("a-1-nothing" in w for w in result.analytics["warnings"])
    assert "m-1" in [lab[1] for i in parse_timeline((folder / "timeline.xml").read_text())[0]
                     for lab in i["labels"]]  # fmt: skip


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"positions": {"3": "XX"}}, "position 'XX'"),
        ({"homography": [[1, 0], [0, 1]]}, "must be 3x3"),
        ({"homography": [[0, 0, 0], [0, 0, 0], [0, 0, 0]]}, "singular"),
        ({"team_a_attacks": "up"}, "team_a_attacks"),
        ({"periods": [{"start_s": 5, "end_s": 2}]}, "period 1"),
        ({"team_overrides": {"x": "A"}}, "track id 'x'"),
        ({"settings": {"hold_distance_m": -1}}, "hold_distance_m"),
        ({"settings": {"hold_distance_m": 2.0}}, "release_distance_m"),
        ({"settings": {"holding_s": 1}}, "Unknown analytics setting"),
        ({"corrections": {"changed": {"a-1-pass": {"colour": 1}}}}, "cannot be edited"),
        ({"corrections": {"added": [{"type": "dunk", "frame": 1}]}}, "added event 1"),
        ({"nonsense": 1}, "Unknown analytics input"),
    ],
)
def test_bad_inputs_are_clear_value_errors(inputs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AnalyticsInputs.from_dict(inputs)


def test_inputs_round_trip_through_json() -> None:
    inputs = AnalyticsInputs(homography=HOMOGRAPHY, positions={3: "GS"}, team_a_attacks="left",
                             settings=AnalyticsSettings(offside_tolerance_s=1.0))  # fmt: skip
    again = AnalyticsInputs.from_dict(json.loads(json.dumps(inputs.to_dict())))
    assert again == inputs


def test_missing_stage1_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = _scene().write(tmp_path / "out")
    (folder / "ball.csv").unlink()
    with pytest.raises(ValueError, match=r"no ball\.csv"):
        run_analytics(folder, AnalyticsInputs())


def test_homography_recomputes_court_columns(tmp_path: Path) -> None:
    folder = _scene().write(tmp_path / "out", court_columns=False)
    uncal = run_analytics(folder, AnalyticsInputs())
    assert not uncal.analytics["calibrated"] and uncal.analytics["direction_source"] == "unknown"
    assert any("calibrate the court" in w for w in uncal.analytics["warnings"])
    assert _csv(folder / "players.csv")[0]["distance_m"] == ""
    cal = run_analytics(folder, AnalyticsInputs(homography=HOMOGRAPHY))
    assert cal.analytics["calibrated"]
    rows = [r for r in _csv(folder / "tracks.csv") if r["track_id"] == "3"]
    assert (float(rows[0]["court_x"]), float(rows[0]["court_y"])) == (27.0, 7.6)
    assert rows[0]["zone"] == "right_circle"
    ball = {int(r["frame"]): r for r in _csv(folder / "ball.csv")}
    assert (ball[80]["court_x"], ball[80]["court_y"]) == ("27.00", "7.60")  # held by 3
    assert ball[35]["court_x"] == ""  # in flight
    assert not list(folder.glob(".*"))  # no temporary files left


def test_no_circle_play_says_where_to_set_the_attacking_end(tmp_path: Path) -> None:
    scene = Scene(n_frames=100)
    scene.add(1, "A", (12.0, 5.0)).add(2, "A", (18.0, 10.0)).add(3, "B", (15.0, 7.0))
    folder = scene.hold(0.2, 1.6, 1).hold(2.0, 3.6, 2).write(tmp_path / "out")
    unknown = run_analytics(folder, AnalyticsInputs())
    assert unknown.analytics["direction_source"] == "unknown"
    (warning,) = [w for w in unknown.analytics["warnings"] if "attacking direction" in w]
    assert "Match set-up" in warning and "Team A attacks in the first quarter" in warning
    chosen = run_analytics(folder, AnalyticsInputs(team_a_attacks="left"))
    assert chosen.analytics["direction_source"] == "analyst"
    assert not any("attacking direction" in w for w in chosen.analytics["warnings"])


def test_timeline_and_mot_parse_and_round_trip(folder: Path) -> None:
    run_analytics(folder, AnalyticsInputs(team_a_attacks="right"))
    text = (folder / "timeline.xml").read_text()
    instances, rows = parse_timeline(text)
    assert timeline_xml(instances, rows) == text
    codes = {i["code"] for i in instances}
    assert {"Team A Pass", "Team B Intercept", "Team A possession"} <= codes
    assert all(i["start"] <= i["end"] for i in instances)
    assert {r["code"] for r in rows} == codes
    assert next(r for r in rows if r["code"] == "Team A Pass")["R"] == 220 * 257
    mot = read_mot(folder / "tracks_mot.txt")
    assert mot.shape == (6 * 250, 10)
    assert mot[:, 0].min() == 1 and mot[:, 0].max() == 250  # 1-based frames
    assert (mot[:, 7:] == -1).all()
    first = mot[(mot[:, 0] == 1) & (mot[:, 1] == 1)][0]
    assert first[2:6].tolist() == [254.0, 85.0, 12.0, 35.0]
    with pytest.raises(ValueError, match="Sportscode"):
        parse_timeline("<file><x/></file>")


FORBIDDEN_PREFIXES = ("backend.pipeline", "backend.db", "backend.models", "backend.services",
                      "backend.config", "backend.api", "jobs", "dashboard", "streamlit",
                      "sqlmodel", "sqlalchemy", "huey", "fastapi")  # fmt: skip


def test_analytics_imports_nothing_from_pipeline_db_queue_or_ui() -> None:
    root = Path(__file__).resolve().parents[2] / "backend" / "analytics"
    bad = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad += [
                f"{path.name}: {n}"
                for n in names
                if any(n == p or n.startswith(p + ".") for p in FORBIDDEN_PREFIXES)
            ]
    assert bad == []


def test_slices_and_chunks_do_not_change_the_outputs(tmp_path: Path, monkeypatch) -> None:
    """Stage 2 reads, computes and rewrites in bounded slices so long matches stay small in
    memory; slicing a short match into many pieces must give the very same files."""
    from backend.analytics import possession, tables

    inputs = AnalyticsInputs(homography=HOMOGRAPHY, team_a_attacks="left", positions={3: "GS"})
    whole = run_analytics(_scene().write(tmp_path / "whole"), inputs).out_dir
    monkeypatch.setattr(tables, "CSV_CHUNK_ROWS", 7)
    monkeypatch.setattr(possession, "DISTANCE_CHUNK_ROWS", 5)
    sliced = run_analytics(_scene().write(tmp_path / "sliced"), inputs).out_dir
    for name in ("tracks.csv", "ball.csv", "players.csv", "events.csv", "possession.csv"):
        assert (whole / name).read_bytes() == (sliced / name).read_bytes(), name
    players = {int(r["track_id"]): r for r in _csv(sliced / "players.csv")}
    assert float(players[6]["distance_m"]) == pytest.approx(10.0, abs=0.3)
