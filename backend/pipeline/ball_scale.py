"""How big the ball should look at a point of the image: from the court scale there when the
court is calibrated, else from the players in view (split from ball_candidates.py)."""

from __future__ import annotations

import numpy as np

from backend.analytics.court import DEFAULT_COURT
from backend.pipeline.view import ViewTransformer

# A netball (0.23 m) against a player's box (~1.75 m standing, more with arms up or a stride).
BALL_TO_PLAYER_HEIGHT = 0.1
# With no players in view to scale from, the expected ball width as a fraction of frame height.
BALL_WIDTH_FALLBACK_FRAC = 0.012
# The court scale is trusted for image points whose floor point lies within this many metres
# of the court; beyond (the stands, above the horizon) the homography says nothing useful.
SCALE_COURT_MARGIN_M = 3.0
# Step, in metres, of the finite difference that measures the court scale at a point.
SCALE_STEP_M = 0.25


def court_scale_px_per_m(view: ViewTransformer, points_px: np.ndarray) -> np.ndarray:
    """Horizontal image pixels per metre of floor at each image point (NaN off the court).

    A ball is round, so its image width is what the floor's horizontal scale gives at its
    depth; the floor point under a ball in the air is a little farther away than the ball,
    which makes the estimate slightly small (~5 % for a ball at hand height in a wide shot),
    well inside the size window.
    """
    court = view.transform_points(points_px)
    out = np.full(len(court), np.nan)
    xs, ys = court[:, 0], court[:, 1]
    m = SCALE_COURT_MARGIN_M
    ok = np.isfinite(court).all(axis=1)
    ok &= (xs >= -m) & (xs <= DEFAULT_COURT.length_m + m)
    ok &= (ys >= -m) & (ys <= DEFAULT_COURT.width_m + m)
    if not ok.any():
        return out
    c = court[ok]
    base = view.court_to_image(c)[:, 0]
    step_x, step_y = np.array([SCALE_STEP_M, 0.0]), np.array([0.0, SCALE_STEP_M])
    du_dx = (view.court_to_image(c + step_x)[:, 0] - base) / SCALE_STEP_M
    du_dy = (view.court_to_image(c + step_y)[:, 0] - base) / SCALE_STEP_M
    out[ok] = np.hypot(du_dx, du_dy)
    return out


def expected_ball_width_px(players_xyxy: np.ndarray, frame_height: int) -> float:
    """The ball's width in pixels from the median height of the players in view."""
    if len(players_xyxy) == 0:
        return BALL_WIDTH_FALLBACK_FRAC * frame_height
    heights = players_xyxy[:, 3] - players_xyxy[:, 1]
    return float(max(3.0, BALL_TO_PLAYER_HEIGHT * np.median(heights)))
