"""Issue 15's scale helpers: the detector input from the players' height, the ball's expected
width from the court calibration."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from backend.analytics.court import DEFAULT_COURT
from backend.pipeline.ball_candidates import MotionBallCandidates
from backend.pipeline.ball_scale import court_scale_px_per_m
from backend.pipeline.input_size import detector_input_size
from backend.pipeline.settings import PipelineSettings
from backend.pipeline.view import ViewTransformer
from tests.synthetic import court_homography


@pytest.mark.parametrize(
    ("heights_px", "frame_size", "imgsz", "min_px", "imgsz_max", "expected"),
    [
        # 720p, players ~190 px: 71 px at 480 already, nothing changes.
        ([190.0] * 9, (1280, 720), 480, 64, 1280, 480),
        # A 960 px wide shot, players ~88 px: 44 px at 480; 64 px needs 698, i.e. 704.
        ([80.0, 88.0, 96.0], (960, 540), 480, 64, 1280, 704),
        # Very small players: capped at the frame's long side (no upscaling).
        ([30.0] * 5, (960, 540), 480, 64, 1920, 960),
        # ... and at imgsz_max.
        ([30.0] * 5, (1920, 1080), 480, 64, 1280, 1280),
        # Off, nobody seen, NaN heights: the configured size.
        ([80.0], (960, 540), 480, 0, 1280, 480),
        ([], (960, 540), 480, 64, 1280, 480),
        ([np.nan, 0.0], (960, 540), 480, 64, 1280, 480),
        # Never smaller than asked for.
        ([40.0] * 5, (960, 540), 1280, 64, 960, 1280),
    ],
)
def test_detector_input_size(heights_px, frame_size, imgsz, min_px, imgsz_max, expected) -> None:
    size = detector_input_size(np.array(heights_px), frame_size, imgsz, min_px, imgsz_max)
    assert size == expected
    assert size % 32 == 0


def _view(size: tuple[int, int]) -> ViewTransformer:
    corners_m = np.float64(DEFAULT_COURT.corners_m())
    corners_px = cv2.perspectiveTransform(corners_m.reshape(-1, 1, 2), court_homography(size))
    return ViewTransformer.from_dict(
        {"image_points": corners_px.reshape(-1, 2).tolist(), "court_points_m": corners_m.tolist()}
    )


@pytest.mark.parametrize("size", [(960, 540), (1280, 720), (640, 360)])
def test_the_ball_is_expected_as_wide_as_the_court_scale_says(size) -> None:
    view = _view(size)
    w = size[0]
    # The generator's court: the far sideline spans 72 % of the width, the near one 98 %.
    far_line = court_scale_px_per_m(view, np.array([[0.5 * w, 0.30 * size[1]]]))[0]
    near_line = court_scale_px_per_m(view, np.array([[0.5 * w, 0.95 * size[1]]]))[0]
    assert far_line == pytest.approx(0.72 * w / 30.5, rel=0.02)
    assert near_line == pytest.approx(0.98 * w / 30.5, rel=0.02)

    settings = PipelineSettings(ball_diameter_m=0.225, ball_scale_disagreement_max=2.0)
    finder = MotionBallCandidates(settings, view)
    player = np.array([[10.0, 10.0, 30.0, 70.0]])  # 60 px tall: 6 px without a calibration
    points = np.array([[0.5 * w, 0.30 * size[1]], [0.5 * w, 0.95 * size[1]], [0.5 * w, 2.0]])
    widths = finder.expected_widths_px(points, player, size[1])
    assert widths[0] == pytest.approx(max(3.0, 0.225 * far_line), rel=1e-6)
    assert widths[1] == pytest.approx(max(3.0, 0.225 * near_line), rel=1e-6)
    assert widths[1] > widths[0] or widths[0] == 3.0
    # Above the far stands the homography says nothing: the players' heights are used.
    assert widths[2] == pytest.approx(6.0)
    uncalibrated = MotionBallCandidates(settings).expected_widths_px(points, player, size[1])
    assert uncalibrated == pytest.approx([6.0] * 3)
    # Players five times taller than the court scale allows: the calibration is not trusted.
    giant = np.array([[10.0, 10.0, 30.0, 10.0 + 100.0 * 0.225 * near_line]])
    assert finder.expected_widths_px(points[:2], giant, size[1]) == pytest.approx(
        [10.0 * 0.225 * near_line] * 2
    )
