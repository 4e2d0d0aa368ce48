"""Calibration fitting, refusals, preview drawing, the automatic guess and camera coverage,
on generated views of a court drawn to scale from known camera poses (tests/court_views.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from backend.analytics.calibration import apply, fit_landmarks
from backend.analytics.court import DEFAULT_COURT
from backend.analytics.court_drawing import court_polylines_m, draw_court_lines
from backend.analytics.court_lines import detect_court
from backend.analytics.court_placements import camera_of
from tests.court_views import (
    generated_views,
    landmark_errors_px,
    project,
    random_pose,
    render_view,
)

LANDMARKS = DEFAULT_COURT.landmarks_m()
# Court positions where the fit is checked: a grid over the whole court.
GRID_M = np.stack(np.meshgrid(np.linspace(0, 30.5, 7), np.linspace(0, 15.25, 5)), -1).reshape(-1, 2)
CORNERS = ("far_left_corner", "far_right_corner", "near_right_corner", "near_left_corner")


def _poses(n: int, partial: bool = False):
    return [random_pose(np.random.default_rng(500 + i), partial=partial) for i in range(n)]


def _clicks(pose, names, noise_px=0.0, seed=0, scale=1.0) -> dict[str, list[float]]:
    c2i = np.diag([scale, scale, 1.0]) @ pose.court_to_image()
    rng = np.random.default_rng(seed)
    px = project(c2i, np.float64([LANDMARKS[n] for n in names]))
    px += rng.normal(0, noise_px, px.shape) if noise_px else 0
    return {n: p.tolist() for n, p in zip(names, px, strict=True)}


def _grid_errors_m(fit, pose, scale=1.0) -> np.ndarray:
    truth_px = project(np.diag([scale, scale, 1.0]) @ pose.court_to_image(), GRID_M)
    return np.linalg.norm(apply(fit.homography, truth_px) - GRID_M, axis=1)


def _grid_error_m(fit, pose) -> float:
    return float(_grid_errors_m(fit, pose).max())


@pytest.mark.parametrize("pose", _poses(6), ids=lambda p: f"h{p.height_m:.0f}m-f{p.focal_px:.0f}")
def test_exact_clicks_fit_within_a_tenth_of_a_metre(pose):
    fit = fit_landmarks(_clicks(pose, CORNERS))
    assert fit.status == "ok", fit.reason
    assert _grid_error_m(fit, pose) < 0.1
    assert fit.mean_error_m < 0.01 and len(fit.points) == 4


@pytest.mark.parametrize("seed", range(6))
def test_three_pixel_click_noise_stays_within_thirty_centimetres(seed):
    # Clicked on a 1920x1080 frame (HD footage): 3 px there is what an analyst's click is.
    pose = _poses(6)[seed]
    names = [n for n in LANDMARKS if n not in ("left_goal_post", "right_goal_post")]
    fit = fit_landmarks(_clicks(pose, names, noise_px=3.0, seed=seed, scale=2.0))
    assert fit.status == "ok", fit.reason
    errors = _grid_errors_m(fit, pose, scale=2.0)
    assert errors.mean() < 0.3, errors
    assert all(p.used for p in fit.points)


def test_partial_view_fits_from_the_landmarks_it_shows():
    pose = _poses(1, partial=True)[0]
    view = render_view(pose, seed=3)
    names = list(view.visible_landmarks_px())
    assert 4 <= len(names) < len(LANDMARKS)
    fit = fit_landmarks(_clicks(pose, names, noise_px=1.0))
    assert fit.status == "ok", fit.reason
    visible = np.float64([LANDMARKS[n] for n in names])
    err = np.linalg.norm(
        apply(fit.homography, project(pose.court_to_image(), visible)) - visible, axis=1
    )
    assert err.max() < 0.15


def _mirrored(points):
    swap = {"left": "right", "right": "left"}
    return {"_".join(swap.get(w, w) for w in n.split("_")): p for n, p in points.items()}


def _upside_down(points):
    swap = {"left": "right", "right": "left", "far": "near", "near": "far"}
    return {"_".join(swap.get(w, w) for w in n.split("_")): p for n, p in points.items()}


POSE = _poses(1)[0]
GOOD = _clicks(POSE, [*CORNERS, "centre", "far_left_third"])


def _moved(name, dx, dy):
    points = dict(GOOD)
    points[name] = [points[name][0] + dx, points[name][1] + dy]
    return points


@pytest.mark.parametrize(
    ("points", "status", "message"),
    [
        ({}, "refused", "0 landmark(s) clicked: at least 4"),
        (dict(list(GOOD.items())[:3]), "refused", "(1 more)"),
        ({"corner": [1, 2], **GOOD}, "refused", "Unknown landmark(s) corner"),
        ({**GOOD, "centre": [1, "x"]}, "refused", "centre: expected [x_px, y_px]"),
        ([[1, 2]], "refused", "landmark name -> [x_px, y_px]"),
        (
            _clicks(POSE, ["far_left_corner", "far_left_third", "far_right_third",
                           "far_right_corner"]),
            "refused",
            "court points lie on (almost) one line",
        ),
        (_mirrored(GOOD), "refused", "mirrors the court"),
        (_upside_down(GOOD), "refused", "upside down"),
        (
            {**GOOD, "far_left_third": GOOD["far_left_corner"]},
            "refused",
            "(far_left_corner) and point 6 (far_left_third) are 10.2 m apart on the court but "
            "only 0 px",
        ),
        (
            {
                "far_left_corner": GOOD["far_left_corner"],
                "left_circle_far": [GOOD["far_left_corner"][0] + 900, GOOD["far_left_corner"][1]],
                "near_right_corner": GOOD["near_right_corner"],
                "centre": GOOD["centre"],
            },
            "refused",
            "(left_circle_far) are 2.7 m apart on the court but 900 px apart in the image",
        ),
        (_moved("centre", 0, 60), "unsure", "Centre of the court lands"),
    ],
    ids=["none", "three", "unknown", "not-a-number", "not-an-object", "collinear", "mirrored",
         "upside-down", "clicked-twice", "spacing", "outlier"],
)  # fmt: skip
def test_bad_calibrations_are_refused_with_the_reason(points, status, message):
    fit = fit_landmarks(points)
    assert fit.status == status
    assert message in fit.reason, fit.reason
    if status == "refused":
        assert fit.homography is None


def test_outlier_is_left_out_and_the_rest_still_fit():
    fit = fit_landmarks(_moved("centre", 0, 60))
    used = {p.name: p.used for p in fit.points}
    assert used["centre"] is False and sum(used.values()) == 5
    assert _grid_error_m(fit, POSE) < 0.05


def test_preview_draws_the_court_lines_where_they_are_painted():
    view = render_view(POSE, seed=2, people=0, clutter=0)
    fit = fit_landmarks(_clicks(POSE, CORNERS))
    blank = np.zeros_like(view.image)
    drawn = draw_court_lines(blank, fit.homography, color_bgr=(0, 0, 255), thickness_px=1)
    on = np.argwhere(drawn[:, :, 2] > 0)
    assert len(on) > 1500
    # Every drawn pixel lies on a true court line (within 2 px).
    mask = np.zeros(view.image.shape[:2], np.uint8)
    for line in court_polylines_m():
        px = np.round(project(view.court_to_image, line)).astype(np.int32)
        cv2.polylines(mask, [px], False, 255, 1)
    near = cv2.dilate(mask, np.ones((5, 5), np.uint8))
    assert (near[on[:, 0], on[:, 1]] > 0).mean() > 0.97


def test_camera_recovered_from_a_homography_is_the_generating_pose():
    pose = _poses(1)[0]
    h = pose.court_to_image()
    focal, height, squareness = camera_of(h / h[2, 2], (960, 540))
    assert focal == pytest.approx(pose.focal_px, rel=1e-6)
    assert height == pytest.approx(pose.height_m, rel=1e-6)
    assert squareness == pytest.approx(1.0, abs=1e-6)


@pytest.fixture(scope="module")
def guesses():
    views = generated_views(8)
    return [(v, detect_court(v.image)) for v in views]


def test_automatic_guess_solves_most_views_and_is_accurate_when_ok(guesses):
    ok = [(v, g) for v, g in guesses if g.status == "ok"]
    assert len(ok) >= 5, [(v.seed, g.status, g.fit.reason) for v, g in guesses]
    for view, guess in ok:
        assert landmark_errors_px(view, guess.fit.homography).max() < 20, view.seed
        assert guess.fit.source == "auto" and guess.support >= 0.95


def test_automatic_guess_is_never_confidently_wrong(guesses):
    for view, guess in guesses:
        if guess.fit.homography is not None and guess.status == "ok":
            assert landmark_errors_px(view, guess.fit.homography).mean() < 15, view.seed


def test_automatic_guess_works_at_another_frame_size(guesses):
    view, _ = next((v, g) for v, g in guesses if g.status == "ok")
    big = cv2.resize(view.image, (1920, 1080), interpolation=cv2.INTER_CUBIC)
    guess = detect_court(big)
    assert guess.status == "ok", guess.fit.reason
    # Pixels of the 960 px view -> the 1920 px frame the guess was made on -> court.
    errors = landmark_errors_px(view, guess.fit.homography @ np.diag([2.0, 2.0, 1.0]))
    assert errors.max() < 20


def test_a_frame_without_a_court_is_refused_with_a_reason():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (540, 960, 3), dtype=np.uint8)
    guess = detect_court(cv2.GaussianBlur(noise, (9, 9), 3))
    assert guess.status == "refused" and guess.fit.homography is None
    assert "court line" in guess.fit.reason or "No placement" in guess.fit.reason
