"""The court model as lines in metres and drawn through a calibration onto a frame (the
calibration preview, the automatic guess's scorer, the court views). Pure: numpy and OpenCV.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from backend.analytics.court import DEFAULT_COURT, NetballCourt

# Court polylines are sampled this finely so a line partly behind the camera can be clipped.
DRAW_STEP_M = 0.25


def court_polylines_m(court: NetballCourt = DEFAULT_COURT) -> list[np.ndarray]:
    """Every painted court line as a finely sampled (N, 2) polyline in metres."""
    length, width = court.length_m, court.width_m

    def segment(a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
        n = max(2, int(math.hypot(b[0] - a[0], b[1] - a[1]) / DRAW_STEP_M) + 1)
        return np.linspace(a, b, n)

    lines = [
        segment((0.0, 0.0), (length, 0.0)),
        segment((0.0, width), (length, width)),
        segment((0.0, 0.0), (0.0, width)),
        segment((length, 0.0), (length, width)),
    ]
    t = court.third_length_m
    lines += [segment((x, 0.0), (x, width)) for x in (t, 2 * t)]
    r, cy = court.goal_circle_radius_m, width / 2
    arc = np.linspace(-math.pi / 2, math.pi / 2, max(8, int(math.pi * r / DRAW_STEP_M)))
    lines.append(np.c_[r * np.cos(arc), cy + r * np.sin(arc)])
    lines.append(np.c_[length - r * np.cos(arc), cy + r * np.sin(arc)])
    cr = court.centre_circle_diameter_m / 2
    ring = np.linspace(0, 2 * math.pi, 25)
    lines.append(np.c_[length / 2 + cr * np.cos(ring), cy + cr * np.sin(ring)])
    return lines


def court_to_image(homography: np.ndarray, points_m: np.ndarray) -> np.ndarray:
    """Court metres -> image pixels through the inverse of an image -> court homography.

    NaN for points behind the camera (on the other side of the horizon from the court).
    """
    inverse = np.linalg.inv(np.asarray(homography, np.float64))
    pts = np.asarray(points_m, np.float64).reshape(-1, 2)
    h = np.c_[pts, np.ones(len(pts))] @ inverse.T
    centre = np.r_[DEFAULT_COURT.centre_m, 1.0] @ inverse.T
    out = h[:, :2] / np.where(np.abs(h[:, 2:3]) < 1e-12, np.nan, h[:, 2:3])
    out[h[:, 2] * np.sign(centre[2]) <= 1e-12] = np.nan
    return out


def draw_court_lines(
    frame: np.ndarray,
    homography: np.ndarray,
    *,
    court: NetballCourt = DEFAULT_COURT,
    color_bgr: tuple[int, int, int] = (0, 0, 255),
    thickness_px: int = 2,
) -> np.ndarray:
    """A copy of `frame` with the court model drawn through the calibration (the preview)."""
    out = frame.copy()
    h, w = out.shape[:2]
    limit = 4 * max(h, w)  # cv2 draws int coordinates; far-off points only need a direction
    for line in court_polylines_m(court):
        px = court_to_image(homography, line)
        ok = np.isfinite(px).all(axis=1)
        # Draw each visible run separately so a line crossing the horizon is not joined up.
        runs = np.split(np.arange(len(px)), np.flatnonzero(np.diff(ok.astype(int))) + 1)
        for run in runs:
            if len(run) < 2 or not ok[run[0]]:
                continue
            pts = np.clip(px[run], -limit, limit)
            cv2.polylines(out, [np.round(pts).astype(np.int32)], False, color_bgr, thickness_px)
    return out
