"""A longer generated match: IDs and teams must hold for the whole clip, not just 3 seconds."""

from __future__ import annotations

import json

import pytest

from backend.pipeline import PipelineSettings
from backend.workflow import analyse_match
from tests.pipeline.evaluate import matched_passes, score
from tests.synthetic import make_match_clip


@pytest.mark.slow
def test_twenty_seconds_keep_ids_and_teams(tmp_path):
    truth = make_match_clip(
        tmp_path / "long.mp4", seconds=20, fps=25, players_per_team=3, officials=1, seed=11
    )
    result = analyse_match(truth.path, tmp_path / "out", PipelineSettings(imgsz=640))
    s = score(truth, result.out_dir / "tracks.csv")
    assert s.recall >= 0.85
    assert s.track_count <= truth.people + 1
    assert s.id_switches_per_min <= 3.0
    assert s.team_accuracy >= 0.85
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert summary["counts"]["frames"] == truth.frames == 500
    assert summary["analytics"]["counts"].get("pass", 0) >= 8  # a pass every ~0.9 s
    assert summary["counts"]["players_by_team"]["other"] == 1
    # Passes: the event names the passer's and the receiver's tracks within half a second.
    events = json.loads((result.out_dir / "events.json").read_text())["events"]
    found = matched_passes(truth, result.out_dir / "tracks.csv", events, tolerance_frames=12)
    assert found >= 0.7 * len(truth.passes)
