"""Warnings about weak results: the rules (tables), the long ball gap left empty, camera motion,
and the warnings of real runs on generated clips."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from backend.pipeline import PipelineSettings, analyze_video
from backend.pipeline.ball import BallPath
from backend.pipeline.camera import CameraMotion, estimate_camera_motion, small_grey
from backend.pipeline.detection import BALL, Detections
from backend.pipeline.engine import FrameState
from backend.pipeline.quality import QualityInputs, quality_warnings
from backend.pipeline.stream import frames_at
from tests.synthetic import draw_court, make_match_clip

HEALTHY_COUNTS = {
    "frames": 240,
    "ball_frames_detected": 150,
    "ball_frames_interpolated": 60,
    "players_by_team": {"A": 4, "B": 4, "other": 1, "": 0},
    "ball_unfilled_gaps": 0,
}


def inputs(**changes) -> QualityInputs:
    base = dict(
        frame_size=(1280, 720),
        imgsz=480,
        counts=HEALTHY_COUNTS,
        team_colour_distance=90.0,
        people_together_max=8,
        person_heights_px=np.full(20, 200.0),
        camera=CameraMotion(pairs=23, moved_pairs=0, median_shift_frac=0.004, max_shift_frac=0.01),
    )
    return QualityInputs(**{**base, **changes})


def test_a_healthy_run_has_no_warnings():
    assert quality_warnings(inputs()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # The real portrait clip of issue 16: ball detected on 19 of 240, filled in on 74.
        (
            {"counts": {**HEALTHY_COUNTS, "ball_frames_detected": 19,
                        "ball_frames_interpolated": 74}},
            ["ball was placed on only 93 of 240 frames (39%; detected on 19)",
             "higher input size (e.g. 640)", "custom ball model"],
        ),
        (
            {"counts": {**HEALTHY_COUNTS, "ball_unfilled_gaps": 3,
                        "ball_unfilled_gap_frames": 60, "ball_longest_unfilled_gap_s": 1.4}},
            ["lost 3 time(s) for longer than 0.5 s (longest 1.4 s)", "not drawn or counted"],
        ),
        (
            {"people_together_max": 1},
            ["Only one player was seen at a time", "Rename or merge the teams"],
        ),
        (
            {"team_colour_distance": 12.0},
            ["too close to tell apart (distance 12, under 25)", "rename or merge the teams"],
        ),
        (
            {"counts": {**HEALTHY_COUNTS, "players_by_team": {"A": 3, "B": 0}}},
            ["Only Team A's kit was seen", "rename or merge"],
        ),
        # 60 px tall people in a 1280 px wide video are 22 px tall at 480 px input.
        (
            {"person_heights_px": np.full(10, 60.0)},
            ["about 22 px tall at the detector's input size of 480 px", "about 1280"],
        ),
        (
            {"frame_size": (720, 1280)},
            ["portrait (720×1280)", "calibrate the court"],
        ),
        (
            {"camera": CameraMotion(pairs=10, moved_pairs=6, median_shift_frac=0.05,
                                    max_shift_frac=0.08)},
            ["camera moves", "about 5% of its width", "6 of 10 times by more than 2%",
             "tripod"],
        ),
    ],
)  # fmt: skip
def test_each_weakness_gets_one_warning_that_says_what_to_do(changes, expected):
    warnings = quality_warnings(inputs(**changes))
    assert len(warnings) == 1
    for part in expected:
        assert part in warnings[0]


def test_one_short_ball_dropout_in_a_long_match_is_not_worth_a_warning():
    counts = {**HEALTHY_COUNTS, "ball_unfilled_gaps": 1, "ball_unfilled_gap_frames": 11,
              "ball_longest_unfilled_gap_s": 0.5}  # fmt: skip
    assert quality_warnings(inputs(counts=counts)) == []


def test_portrait_warning_does_not_ask_for_a_calibration_already_made():
    [warning] = quality_warnings(inputs(frame_size=(720, 1280), calibrated=True))
    assert "calibrate" not in warning


def _state(index: int) -> FrameState:
    return FrameState(index, np.zeros((360, 640, 3), np.uint8))


def _ball_at(x: float, y: float) -> Detections:
    return Detections(np.array([[x - 4, y - 4, x + 4, y + 4]]), np.array([0.9]), np.array([BALL]))


@pytest.mark.parametrize(
    ("second_frame", "filled"),
    [(9, True), (12, True), (21, False)],  # at 25 fps the fill limit of 0.5 s is 12 frames
)
def test_a_ball_gap_longer_than_the_fill_limit_stays_empty(second_frame, filled):
    settings = PipelineSettings(ball_zoom_px=0, ball_gap_max_s=1.0, ball_gap_fill_max_s=0.5)
    path = BallPath(settings, detector=None, fps=25.0, frame_width=640, delay_frames=25)
    buffer: deque[FrameState] = deque(_state(i) for i in range(second_frame + 1))
    path.on_keyframe(buffer[0], _ball_at(100, 100), buffer)
    path.on_keyframe(buffer[-1], _ball_at(160, 100), buffer)
    between = [state.ball for state in list(buffer)[1:-1]]
    if filled:
        assert all(ball is not None and not ball[2] for ball in between)
        assert between[len(between) // 2][0][0] == pytest.approx(130, abs=4)
        assert path.unfilled_gaps == 0
    else:
        assert all(ball is None for ball in between)
        assert path.unfilled_gaps == 1
        assert path.unfilled_gap_frames == second_frame - 1
        assert path.longest_unfilled_gap_frames == second_frame


def test_camera_motion_tells_a_fixed_camera_from_a_pan(tmp_path):
    wide = draw_court((1280, 360))
    panning = [small_grey(wide[:, 20 * i : 20 * i + 640]) for i in range(8)]
    pan = estimate_camera_motion(panning)
    # 20 px of 640 between samples: about 3 % of the width each time.
    assert pan.moving and pan.moved_pairs == 7
    assert pan.median_shift_frac == pytest.approx(20 / 640, abs=0.005)
    # A fixed camera with big players walking across a plain floor (the hard case: they
    # shift single pairs by up to 5 %), sampled as the engine does.
    truth = make_match_clip(
        tmp_path / "tall.mp4", seconds=3, size=(360, 640), players_per_team=1,
        person_height_frac=0.2,
    )  # fmt: skip
    times = [3 * (i + 0.5) / 24 for i in range(24)]
    frames = [image for _, image in frames_at(truth.path, times)]
    still = estimate_camera_motion([small_grey(frame) for frame in frames])
    assert not still.moving and still.median_shift_frac < 0.015
    assert estimate_camera_motion(panning[:2]) is None


TEST_SETTINGS = {"imgsz": 640}


def test_a_fixed_camera_landscape_match_has_no_warnings(tmp_path):
    truth = make_match_clip(tmp_path / "m.mp4", seconds=2.0, players_per_team=2, seed=2)
    result = analyze_video(truth.path, tmp_path / "out", PipelineSettings.from_dict(TEST_SETTINGS))
    summary = result.summary
    assert summary["warnings"] == []
    assert summary["camera"]["moving"] is False
    assert summary["counts"]["ball_unfilled_gaps"] == 0


def test_a_portrait_clip_is_warned_about_in_the_summary(tmp_path):
    truth = make_match_clip(
        tmp_path / "tall.mp4", seconds=1.5, size=(360, 640), players_per_team=1,
        person_height_frac=0.2,
    )  # fmt: skip
    result = analyze_video(truth.path, tmp_path / "out", PipelineSettings.from_dict(TEST_SETTINGS))
    assert any("portrait (360×640)" in w for w in result.summary["warnings"])


def test_calibration_coverage_reports_the_time_ranges_before_the_camera_panned():
    from backend.pipeline.camera import calibration_coverage
    from tests.court_views import random_pose, render_view

    view = render_view(random_pose(np.random.default_rng(500)), seed=4, people=0)
    panned = np.roll(view.image, 60, axis=1)  # 6 % of the width
    frames = [(t, view.image) for t in (0.0, 2.0, 4.0)] + [(t, panned) for t in (6.0, 8.0)]
    coverage = calibration_coverage(view.image, frames, duration_s=10.0)
    assert coverage.camera_moved
    assert coverage.covered == [(0.0, 5.0)] and coverage.moved == [(5.0, 10.0)]
    assert 0.05 < coverage.max_shift_frac < 0.07
    # One shifted sample between fixed ones is a player close to the camera, not a pan.
    lone = [*frames[:2], (4.0, panned), (6.0, view.image)]
    assert not calibration_coverage(view.image, lone, duration_s=8.0).camera_moved
    still = calibration_coverage(view.image, frames[:3], duration_s=6.0)
    assert not still.camera_moved and still.covered == [(0.0, 6.0)]
