"""Issue 15 on generated wide shots: a ball a few pixels wide, found by the motion candidates.

Floors sit a little under the figures measured when they were written (benchmarks/README.md
has the figures, side by side with today's clips); they fail if the motion candidates stop
finding the ball, or start placing it on players' heads and court lines.
"""

from __future__ import annotations

import json

import pytest

from backend.pipeline import PipelineSettings, analyze_video
from tests.pipeline.evaluate import wide_shot_score
from tests.synthetic import make_wide_shot

# The detector input follows the players' height (480 -> 704 here); off by default.
WIDE_SETTINGS = {"ball_motion_search_px": 320, "imgsz_auto_player_px": 64}
# Players boxed (IoU >= 0.5) on this share of player-frames at least; measured 0.93-0.97.
COVERAGE_FLOOR = 0.85
# Measured on these 6 s clips (seed 3) 0.94 fixed and 1.0 pan, 0.93 and 0.81 on the pans of
# seeds 4 and 9. The ball's colour is learnt before the main pass from a burst of keyframes
# (ball_prelearn.py); before that (2026-12-06) it came only with the first flight clear of
# every player in the main pass (up to 3 s in; a pass between neighbours never leaves their
# boxes), which a 6 s clip weighs heavily: 0.92 fixed and pan, 0.61 and 0.39 on seeds 4 and
# 9. Before the background followed a pan by whole pixels, the pan measured 0.00-0.01.
BALL_PLACED_FLOOR = {0.0: 0.85, 40.0: 0.85}
PAN_SEEDS_FLOOR = 0.7


@pytest.fixture(scope="module", params=[0.0, 40.0], ids=["fixed", "pan"])
def wide_run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    truth = make_wide_shot(folder / "wide.mp4", pan_px_per_s=request.param)
    # A panning camera has no fixed calibration: the frame-0 one would drift off the court.
    calibration = None if request.param else truth.calibration()
    result = analyze_video(
        truth.path, folder / "out", PipelineSettings.from_dict(WIDE_SETTINGS),
        calibration=calibration,
    )  # fmt: skip
    return request.param, truth, result


def test_the_small_ball_is_placed_within_one_and_a_half_widths(wide_run) -> None:
    pan, truth, result = wide_run
    score = wide_shot_score(truth, result.out_dir / "tracks.csv", events=[])
    assert score.ball_placed_share >= BALL_PLACED_FLOOR[pan]
    counts = result.summary["counts"]
    assert counts["ball_motion_keyframes"] >= 0.3 * counts["keyframes"]


def test_far_players_are_boxed_at_an_input_size_chosen_from_their_height(wide_run) -> None:
    _, truth, result = wide_run
    score = wide_shot_score(truth, result.out_dir / "tracks.csv", events=[])
    assert score.coverage >= COVERAGE_FLOOR
    assert score.tracks_per_person <= 1.5
    # Players 76-108 px tall in a 960 px frame: ~44 px at 480, so the input grows.
    assert result.summary["model"]["main_pass_imgsz"] > 480


@pytest.mark.parametrize("seed", [4, 9, 14])
def test_wide_shot_coverage_across_seeds(seed, tmp_path) -> None:
    truth = make_wide_shot(tmp_path / "wide.mp4", seconds=2.0, seed=seed)
    result = analyze_video(
        truth.path, tmp_path / "out", PipelineSettings.from_dict(WIDE_SETTINGS),
        calibration=truth.calibration(),
    )  # fmt: skip
    score = wide_shot_score(truth, result.out_dir / "tracks.csv", events=[])
    assert score.coverage >= COVERAGE_FLOOR, score
    fixed = analyze_video(
        truth.path, tmp_path / "fixed", PipelineSettings.from_dict(
            {**WIDE_SETTINGS, "imgsz_auto_player_px": 0}
        ), calibration=truth.calibration(),
    )  # fmt: skip
    # The same clip at the fixed 480 px input boxes clearly fewer of them.
    fixed_score = wide_shot_score(truth, fixed.out_dir / "tracks.csv", events=[])
    assert fixed_score.coverage <= score.coverage - 0.1, (fixed_score, score)
    assert fixed.summary["model"]["main_pass_imgsz"] == 480


def test_motion_settings_and_counts_are_reported(wide_run) -> None:
    _, _, result = wide_run
    summary = json.loads((result.out_dir / "summary.json").read_text())
    for name in (
        "ball_motion_search_px", "ball_motion_diff_min", "ball_motion_grow_diff_min",
        "ball_motion_background_rate", "ball_motion_camera_jump_px", "ball_motion_conf",
        "ball_blob_fill_min",
        "ball_colour_distance_max_lab", "ball_colour_samples_min",
        "ball_colour_chroma_min_lab", "ball_contrast_min_lab", "imgsz_auto_player_px",
        "imgsz_auto_max", "ball_diameter_m", "ball_colour_bursts", "ball_colour_burst_keyframes",
        "ball_colour_burst_share_max",
    ):  # fmt: skip
        assert isinstance(summary["settings"][name], int | float), name
    for name in ("ball_colour_bursts_run", "ball_colour_bursts_taught"):
        assert isinstance(summary["counts"][name], int), name
    assert isinstance(summary["counts"]["ball_colour_before_main_pass"], bool)
    assert summary["timings"]["ball_colour_s"] >= 0
    assert summary["settings"]["ball_motion_search_px"] == 320
    assert summary["counts"]["ball_motion_searches"] >= summary["counts"]["ball_motion_keyframes"]


@pytest.mark.parametrize("seed", [4, 9])
def test_the_ball_behind_a_slow_pan_across_seeds(seed, tmp_path) -> None:
    truth = make_wide_shot(tmp_path / "pan.mp4", pan_px_per_s=40.0, seed=seed)
    result = analyze_video(truth.path, tmp_path / "out", PipelineSettings.from_dict(WIDE_SETTINGS))
    score = wide_shot_score(truth, result.out_dir / "tracks.csv", events=[])
    assert score.ball_placed_share >= PAN_SEEDS_FLOOR, score
    assert result.summary["counts"]["ball_motion_camera_resets"] == 0
