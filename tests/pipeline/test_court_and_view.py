"""Court zones and the image<->court homography: accuracy in centimetres and bad calibrations."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.court import DEFAULT_COURT, NetballCourt, zone_of
from backend.pipeline.errors import CalibrationError
from backend.pipeline.view import ViewTransformer
from tests.synthetic import court_homography

SIZE = (1280, 720)


def test_court_dimensions_follow_the_rules():
    court = NetballCourt()
    assert (court.length_m, court.width_m) == (30.5, 15.25)
    assert court.third_length_m == pytest.approx(10.1667, abs=1e-3)
    assert court.goal_circle_radius_m == 4.9
    assert court.centre_circle_diameter_m == 0.9


@pytest.mark.parametrize(
    ("x_m", "y_m", "zone"),
    [
        (1.0, 7.6, "left_circle"),
        (4.8, 7.625, "left_circle"),
        (5.0, 7.625, "left_third"),
        (1.0, 0.5, "left_third"),  # corner of the third, outside the circle
        (10.0, 3.0, "left_third"),
        (10.5, 3.0, "centre_third"),
        (15.25, 7.625, "centre_third"),
        (20.5, 14.0, "right_third"),
        (29.0, 7.0, "right_circle"),
        (-0.5, 7.0, "out"),
        (12.0, 15.5, "out"),
        (float("nan"), 3.0, "out"),
    ],
)
def test_zone_of(x_m, y_m, zone):
    assert zone_of(x_m, y_m) == zone


def _calibration(points_m):
    h = court_homography(SIZE)
    pts = np.asarray(points_m, dtype=np.float64)
    px = np.c_[pts, np.ones(len(pts))] @ h.T
    return (px[:, :2] / px[:, 2:]).tolist(), pts.tolist()


def test_homography_maps_known_court_points_within_centimetres():
    image_pts, court_pts = _calibration(DEFAULT_COURT.corners_m())
    view = ViewTransformer(image_pts, court_pts)
    checks = np.array(
        [DEFAULT_COURT.centre_m, (10.1667, 0.0), (20.333, 15.25), (4.9, 7.625), (25.0, 3.0)]
    )
    image_checks, _ = _calibration(checks)
    mapped = view.transform_points(np.array(image_checks))
    errors_cm = np.linalg.norm(mapped - checks, axis=1) * 100
    assert errors_cm.max() < 2.0, errors_cm
    back = view.court_to_image(checks)
    assert np.abs(back - np.array(image_checks)).max() < 0.01


def test_homography_with_clicking_noise_stays_within_a_few_centimetres():
    rng = np.random.default_rng(0)
    landmarks = list(DEFAULT_COURT.landmarks_m().values())
    image_pts, court_pts = _calibration(landmarks)
    noisy = (np.array(image_pts) + rng.normal(0, 0.5, (len(image_pts), 2))).tolist()
    view = ViewTransformer(noisy, court_pts)
    image_checks, _ = _calibration([DEFAULT_COURT.centre_m, (7.0, 11.0)])
    mapped = view.transform_points(np.array(image_checks))
    assert (
        np.linalg.norm(mapped - np.array([DEFAULT_COURT.centre_m, (7.0, 11.0)]), axis=1).max()
        < 0.05
    )


def _mirrored():
    image_pts, court_pts = _calibration(DEFAULT_COURT.corners_m())
    return image_pts, [[DEFAULT_COURT.length_m - x, y] for x, y in court_pts]


def _one_point_wrong():
    image_pts, court_pts = _calibration([*DEFAULT_COURT.corners_m(), (10.1667, 0.0)])
    court_pts[4] = [20.333, 0.0]  # clicked the other third line
    return image_pts, court_pts


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 2]]), "at least 4"),
        (
            lambda: ([[0, 0], [100, 0], [200, 0], [300, 0]], [[0, 0], [30, 0], [30, 15], [0, 15]]),
            "one line",
        ),
        (
            lambda: ([[0, 0], [100, 0], [100, 100], [0, 100]], [[0, 0], [1, 0], [2, 0], [3, 0]]),
            "one line",
        ),
        (
            lambda: ([[0, 0], [100, 0], [100, 100], [0, 100]], [[0, 0], [30, 0], [30, 15]]),
            "pair up",
        ),
        (
            lambda: (
                [[0, 0], [100, 0], [100, float("nan")], [0, 100]],
                [[0, 0], [30, 0], [30, 15], [0, 15]],
            ),
            "missing",
        ),
        (lambda: ([[0, 0], [1, 2, 3]], [[0, 0]]), "[x, y]"),
        (_mirrored, "mirrors"),
        (_one_point_wrong, "disagree"),
    ],
)
def test_bad_calibrations_are_rejected_with_a_reason(make, message):
    image_pts, court_pts = make()
    with pytest.raises(CalibrationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ViewTransformer(image_pts, court_pts)


def test_calibration_dict_must_have_both_lists():
    with pytest.raises(CalibrationError, match="court_points_m"):
        ViewTransformer.from_dict({"image_points": [[0, 0]] * 4})


def test_points_beyond_the_horizon_map_to_nan():
    image_pts, court_pts = _calibration(DEFAULT_COURT.corners_m())
    view = ViewTransformer(image_pts, court_pts)
    # Far above the far sideline the perspective flips: no court position there.
    out = view.transform_points(np.array([[640.0, -5000.0], [640.0, 400.0]]))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()
