"""Issue 15 identities on the ten-player wide shots (tests.synthetic.make_wide_shot), 15 s:
re-identification against the stitching alone, on a fixed calibrated camera and a slow pan.

The wide shot's errors are the tracker's inside crowds: a box moved to a rival (undone from the
looks, reid_tracking.py) or to a team-mate in the same kit (told apart by stature when their
heights differ, stature.py; team-mates of one height remain). Ceilings sit a little above the
figures in benchmarks/README.md (issue 15 identities); the controls, the stitching alone and
re-identification without the stature cue, are measured to give more identities.
"""

from __future__ import annotations

import pytest

from backend.pipeline import PipelineSettings, analyze_video
from tests.pipeline.identities import identity_score
from tests.synthetic import make_wide_shot

SECONDS = 15.0
WIDE_SETTINGS = {"ball_motion_search_px": 320, "imgsz_auto_player_px": 64}
# (seed, pan px/s) -> most identities per player with re-identification (the goal is
# 1.3; measured 1.1 fixed and 1.2 on the pan, 1.3 and 1.4 without the stature cue). Seed 4
# fixed: 1.2, 1.4 before an ID's stature stopped learning while a team-mate hid behind it.
# Seed 5 on the pan: 1.3, 1.4 while a track found again on a rival's box kept its ID.
CEILING = {(3, 0.0): 1.2, (3, 40.0): 1.3, (4, 0.0): 1.3, (5, 40.0): 1.3}
RUNS = {
    "stitching": {"reid_lost_max_s": 0.0},
    "reid": {"reid_lost_max_s": 6.0},
    "no_stature": {"reid_lost_max_s": 6.0, "reid_stature_tolerance": 0.0},
}


@pytest.fixture(
    scope="module",
    params=list(CEILING),
    ids=["fixed-seed3", "pan-seed3", "fixed-seed4", "pan-seed5"],
)
def wide_runs(request, tmp_path_factory):
    seed, pan = request.param
    folder = tmp_path_factory.mktemp("wide-ids")
    truth = make_wide_shot(folder / "wide.mp4", seconds=SECONDS, seed=seed, pan_px_per_s=pan)
    scores = {}
    for name, run in RUNS.items():
        settings = PipelineSettings.from_dict({**WIDE_SETTINGS, **run})
        result = analyze_video(
            truth.path, folder / name, settings, calibration=None if pan else truth.calibration()
        )
        scores[name] = identity_score(truth, result.out_dir / "tracks.csv")
    return request.param, scores


@pytest.mark.slow
def test_wide_shot_identities_stay_within_the_goal(wide_runs) -> None:
    key, scores = wide_runs
    reid = scores["reid"]
    assert reid.identities_per_player <= CEILING[key], reid
    assert reid.tracks_per_person <= 1.3, reid
    assert reid.coverage >= 0.88, reid


@pytest.mark.slow
def test_the_stitching_alone_gives_more_identities(wide_runs) -> None:
    _, scores = wide_runs
    assert scores["stitching"].identities_per_player > scores["reid"].identities_per_player
    assert scores["stitching"].id_switches > scores["reid"].id_switches


@pytest.mark.slow
def test_without_the_stature_cue_team_mates_swap_more(wide_runs) -> None:
    _, scores = wide_runs
    assert scores["no_stature"].identities_per_player > scores["reid"].identities_per_player
