"""Court placements from painted lines: every assignment of two lines to the sidelines and
two to goal/third lines as a court -> image homography, the camera checks that rule out the
placements no real camera could give, and the scorer that says how much of the court model
lands on the line mask. Split from court_lines.py, which finds the lines and picks the best
placement. Pure: numpy and OpenCV.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import cv2
import numpy as np

from backend.analytics.calibration import apply
from backend.analytics.court import DEFAULT_COURT, NetballCourt
from backend.analytics.court_drawing import court_polylines_m

if TYPE_CHECKING:
    from backend.analytics.court_lines import CourtLineSettings


def _focal_px(v1: np.ndarray, v2: np.ndarray, centre: np.ndarray) -> float | None:
    """Focal length that makes two vanishing points square directions (square pixels,
    principal point at the centre); None when they cannot be, inf when one is at infinity."""
    a = v1[:2] - centre * v1[2]
    b = v2[:2] - centre * v2[2]
    ww = v1[2] * v2[2]
    dot = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    if abs(ww) < 1e-12 * np.linalg.norm(a) * np.linalg.norm(b):
        return np.inf if abs(dot) < 0.2 else None
    f2 = -float(a @ b) / ww
    return float(np.sqrt(f2)) if f2 > 0 else None


class LineScorer:
    """Scores a court -> image homography by how much of the court model lands on the mask."""

    def __init__(self, mask: np.ndarray, court: NetballCourt, settings: CourtLineSettings) -> None:
        self.h, self.w = mask.shape
        self.settings = settings
        self.model_m = np.concatenate(court_polylines_m(court))
        zero = (mask == 0).astype(np.uint8)
        self.dist, labels = cv2.distanceTransformWithLabels(
            zero, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        on = mask > 0
        self.nearest = np.zeros((labels.max() + 1, 2), np.float64)
        ys, xs = np.nonzero(on)
        self.nearest[labels[on]] = np.c_[xs, ys]
        self.labels = labels

    def project(self, c2i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.c_[self.model_m, np.ones(len(self.model_m))] @ c2i.T
        with np.errstate(divide="ignore", invalid="ignore"):
            px = h[:, :2] / h[:, 2:3]
        inside = (
            (h[:, 2] > 0)
            & (px[:, 0] >= 0)
            & (px[:, 0] < self.w - 1)
            & (px[:, 1] >= 0)
            & (px[:, 1] < self.h - 1)
        )
        return px, inside

    def score(self, c2i: np.ndarray) -> tuple[float, float, float]:
        """(score, support share, visible share) of a court -> image homography.

        Counted over the distinct pixels the model lands on, so a placement that squeezes
        the court onto one painted line earns no more than that line's length.
        """
        px, inside = self.project(c2i)
        if not inside.any():
            return -np.inf, 0.0, 0.0
        ij = np.round(px[inside]).astype(int)
        _, first = np.unique(ij[:, 1] * self.w + ij[:, 0], return_index=True)
        ij = ij[first]
        d = self.dist[ij[:, 1], ij[:, 0]]
        credit = np.exp(-0.5 * (d / self.settings.score_sigma_px) ** 2)
        score = float(credit.sum() - 0.5 * (1 - credit).sum())
        support = float((d <= self.settings.hit_px).mean())
        return score, support, float(inside.mean())

    def refine(self, c2i: np.ndarray) -> np.ndarray:
        """Iterate: each visible model point to its closest line pixel, refit the homography.

        A refit is kept only when it scores at least as well, so the iteration cannot slide
        into a degenerate placement that hugs one line.
        """
        best_score = self.score(c2i)[0]
        for radius in self.settings.refine_radii_px:
            px, inside = self.project(c2i)
            ij = np.round(px[inside]).astype(int)
            d = self.dist[ij[:, 1], ij[:, 0]]
            near = d <= radius
            if near.sum() < 8:
                break
            target = self.nearest[self.labels[ij[near, 1], ij[near, 0]]]
            refit, _ = cv2.findHomography(self.model_m[inside][near], target, cv2.RANSAC, radius)
            if refit is None or not np.isfinite(refit).all():
                break
            score = self.score(refit)[0]
            if score < best_score:
                continue
            c2i, best_score = refit, score
        return c2i


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    p = np.cross(a, b)
    if abs(p[2]) < 1e-9:
        return None
    return p[:2] / p[2]


def placements(
    lines: list[np.ndarray],
    court: NetballCourt,
    image_size: tuple[int, int],
    settings: CourtLineSettings,
):
    """Court -> image homographies: two lines as the sidelines, two as goal or third lines."""
    t = court.third_length_m
    xs = (0.0, t, 2 * t, court.length_m)
    w, h = image_size
    centre = np.array([w / 2, h / 2])
    limit = 3.0 * max(w, h)
    f_min, f_max = (r * w for r in settings.focal_range_widths)
    pairs = list(itertools.combinations(range(len(lines)), 2))
    for (i, j), (p, q) in itertools.permutations(pairs, 2):
        if {i, j} & {p, q}:
            continue
        focal = _focal_px(np.cross(lines[i], lines[j]), np.cross(lines[p], lines[q]), centre)
        if focal is None or not (f_min <= focal <= f_max or focal == np.inf):
            continue
        corners = {}
        for a, b in itertools.product((i, j), (p, q)):
            pt = _intersect(lines[a], lines[b])
            if pt is None or np.abs(pt - centre).max() > limit:
                break
            corners[a, b] = pt
        if len(corners) < 4:
            continue
        # The far sideline is the upper one and x grows to the right (court.py's frame), so
        # only increasing goal/third-line positions from left to right need trying.
        far, near = (
            (i, j)
            if corners[i, p][1] + corners[i, q][1] < corners[j, p][1] + corners[j, q][1]
            else (j, i)
        )
        left, right = (
            (p, q)
            if corners[far, p][0] + corners[near, p][0] < corners[far, q][0] + corners[near, q][0]
            else (q, p)
        )
        image = np.float32(
            [corners[far, left], corners[far, right], corners[near, right], corners[near, left]]
        )
        for c1, c2 in itertools.combinations(xs, 2):
            court_pts = np.float32([(c1, 0), (c2, 0), (c2, court.width_m), (c1, court.width_m)])
            yield cv2.getPerspectiveTransform(court_pts, image)


def plausible(c2i: np.ndarray, court: NetballCourt) -> bool:
    """Not mirrored, not upside down, every court corner in front of the camera."""
    corners = np.c_[np.float64(court.corners_m()), np.ones(4)] @ c2i.T
    if not (corners[:, 2] > 0).all() and not (corners[:, 2] < 0).all():
        return False
    px = corners[:, :2] / corners[:, 2:3]
    # far-left, far-right, near-right, near-left: clockwise on screen, far side above.
    edges = np.roll(px, -1, axis=0) - px
    turns = edges[:, 0] * np.roll(edges, -1, 0)[:, 1] - edges[:, 1] * np.roll(edges, -1, 0)[:, 0]
    return bool((turns > 0).all() and px[:2, 1].mean() < px[2:, 1].mean())


def camera_of(c2i: np.ndarray, size: tuple[int, int]) -> tuple[float, float, float] | None:
    """(focal px, camera height m, squareness ratio) of a pinhole camera with square pixels
    and the principal point at the frame centre that would see this homography; None if none.
    """
    w, h = size
    shift = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1.0]])
    m = shift @ c2i
    (h11, h12, _), (h21, h22, _), (h31, h32, _) = m
    a = np.array([h11 * h12 + h21 * h22, h11**2 + h21**2 - h12**2 - h22**2])
    b = np.array([h31 * h32, h31**2 - h32**2])
    if not (a @ a) > 0:
        return None
    u = -(a @ b) / (a @ a)  # 1 / f^2
    if not u > 0:
        return None
    f = 1.0 / np.sqrt(u)
    k_inv = np.diag([1 / f, 1 / f, 1.0])
    c1, c2, c3 = (k_inv @ m).T
    n1, n2 = np.linalg.norm(c1), np.linalg.norm(c2)
    scale = (n1 + n2) / 2 * (1 if c3[2] > 0 else -1)
    r1, r2, t = c1 / scale, c2 / scale, c3 / scale
    r3 = np.cross(r1, r2)
    centre = -np.stack([r1, r2, r3]) @ t
    return float(f), float(abs(centre[2])), float(max(n1, n2) / min(n1, n2))


def camera_ok(c2i: np.ndarray, size: tuple[int, int], settings: CourtLineSettings) -> bool:
    camera = camera_of(c2i, size)
    if camera is None:
        return False
    corners = apply(c2i, np.float64(DEFAULT_COURT.corners_m()))
    x, y = corners[:, 0], corners[:, 1]
    area = 0.5 * abs(float(x @ np.roll(y, -1) - y @ np.roll(x, -1)))
    if not area >= settings.min_court_area_share * size[0] * size[1]:
        return False
    f, height, squareness = camera
    f_min, f_max = (r * size[0] for r in settings.focal_range_widths)
    return (
        f_min <= f <= f_max
        and height >= settings.min_camera_height_m
        and squareness <= settings.max_squareness
    )
