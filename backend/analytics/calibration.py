"""Court calibration: named landmarks clicked on a frame -> a checked image-to-court homography.

One fitter for the whole product: the pipeline's ViewTransformer, the calibration service,
the automatic court-line guess and the dashboard preview all go through `fit_pairs`.
A fit is refused, with a reason a person can act on, when it cannot come from a camera
looking at this court: too few or unknown landmarks, points on one line, a mirrored court,
two points whose spacing in the image contradicts their spacing on the court, or a court
that folds over or crosses the horizon. Pure: numpy and OpenCV only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from backend.analytics.court import DEFAULT_COURT, NetballCourt

MIN_POINTS = 4
# Above MIN_POINTS the fit is RANSAC: a click farther than this (in the image) from where the
# fit puts its landmark is an outlier (a click on the wrong line), left out of the final fit.
# Judged in pixels because a click is as precise near as far, while a pixel on the far
# sideline spans far more court than one on the near sideline.
RANSAC_THRESHOLD_PX = 12.0
# Stage 1 (ViewTransformer) refuses raw point lists whose points land farther than this.
MAX_POINT_ERROR_M = 0.5
# A fit whose points land this far from their landmarks on average is unsure.
MAX_MEAN_ERROR_M = 0.5
# Points whose spread has a second principal axis this small relative to the first lie on
# (almost) one line: the homography across that line is then a guess.
MIN_SPREAD_RATIO = 0.04
MIN_SPREAD_AREA_PX2 = 100.0
MIN_SPREAD_AREA_M2 = 1.0
# Perspective changes the pixels per metre across a court by a factor of a few (near vs far
# sideline, and foreshortening in depth); a pair of points off by more than this factor from
# the median of all pairs was clicked on the wrong landmark.
MAX_PAIR_SCALE_RATIO = 12.0
# Two clicks this close in the image are one place, whatever landmarks they were given.
MIN_CLICK_SEPARATION_PX = 4.0
STATUSES = ("ok", "unsure", "refused")

LANDMARK_LABELS: dict[str, str] = {
    "far_left_corner": "Far left corner",
    "far_right_corner": "Far right corner",
    "near_right_corner": "Near right corner",
    "near_left_corner": "Near left corner",
    "far_left_third": "Far sideline, left third line",
    "far_right_third": "Far sideline, right third line",
    "near_left_third": "Near sideline, left third line",
    "near_right_third": "Near sideline, right third line",
    "left_goal_post": "Left goal post (foot)",
    "right_goal_post": "Right goal post (foot)",
    "centre": "Centre of the court",
    "left_circle_far": "Left goal circle meets goal line, far side",
    "left_circle_near": "Left goal circle meets goal line, near side",
    "right_circle_far": "Right goal circle meets goal line, far side",
    "right_circle_near": "Right goal circle meets goal line, near side",
}


class CalibrationRefused(ValueError):
    """Points that cannot define this court seen by a camera; the message says why."""


@dataclass(frozen=True)
class PairFit:
    """A homography fitted to point pairs, with each pair's error and whether it was used."""

    matrix: np.ndarray  # 3x3, image pixel -> court metre
    errors_m: np.ndarray  # (N,) distance of each mapped image point from its court point
    inliers: np.ndarray  # (N,) bool: used in the final fit

    @property
    def mean_error_m(self) -> float:
        return float(self.errors_m[self.inliers].mean())

    @property
    def max_error_m(self) -> float:
        return float(self.errors_m[self.inliers].max())


@dataclass(frozen=True)
class CalibrationPoint:
    name: str
    image_px: tuple[float, float]
    court_m: tuple[float, float]
    error_m: float | None
    used: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_px": [round(v, 2) for v in self.image_px],
            "court_m": [round(v, 4) for v in self.court_m],
            "error_m": None if self.error_m is None else round(self.error_m, 4),
            "used": self.used,
        }


@dataclass(frozen=True)
class CalibrationFit:
    """The result the CLI, API and dashboard show: status, reason, matrix and every point."""

    status: str
    reason: str
    homography: np.ndarray | None
    points: list[CalibrationPoint] = field(default_factory=list)
    mean_error_m: float | None = None
    source: str = "manual"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def landmarks_px(self) -> dict[str, list[float]]:
        return {p.name: [float(v) for v in p.image_px] for p in self.points}

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "source": self.source,
            "homography": None if self.homography is None else self.homography.tolist(),
            "points": [p.to_dict() for p in self.points],
            "mean_error_m": None if self.mean_error_m is None else round(self.mean_error_m, 4),
        }


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) points through a 3x3 homography; NaN where the point maps to infinity."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    h = np.c_[pts, np.ones(len(pts))] @ np.asarray(matrix, np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        out = h[:, :2] / h[:, 2:3]
    out[np.abs(h[:, 2]) < 1e-12] = np.nan
    return out


def _spread(points: np.ndarray) -> tuple[float, float]:
    """(convex hull area, second/first principal axis ratio) of a point set."""
    area = float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))
    centred = points - points.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    return area, float(sv[1] / sv[0]) if sv[0] > 0 else 0.0


def _label(labels: Sequence[str], i: int) -> str:
    return f"point {i + 1} ({labels[i]})" if labels[i] else f"point {i + 1}"


def _check_pair_spacing(src: np.ndarray, dst: np.ndarray, labels: Sequence[str]) -> None:
    n = len(src)
    i, j = np.triu_indices(n, k=1)
    px = np.linalg.norm(src[i] - src[j], axis=1)
    m = np.linalg.norm(dst[i] - dst[j], axis=1)
    for k in np.flatnonzero((px < MIN_CLICK_SEPARATION_PX) & (m > 1.0)):
        raise CalibrationRefused(
            f"{_label(labels, i[k])} and {_label(labels, j[k])} are {m[k]:.1f} m apart on the "
            f"court but only {px[k]:.0f} px apart in the image: one of them was clicked twice."
        )
    same = m < 1e-6
    if same.any():
        k = int(np.flatnonzero(same)[0])
        raise CalibrationRefused(
            f"{_label(labels, i[k])} and {_label(labels, j[k])} are the same court point."
        )
    scale = px / m
    median = float(np.median(scale))
    ratio = np.maximum(scale / median, median / np.maximum(scale, 1e-9))
    worst = int(np.argmax(ratio))
    if ratio[worst] > MAX_PAIR_SCALE_RATIO:
        raise CalibrationRefused(
            f"{_label(labels, i[worst])} and {_label(labels, j[worst])} are {m[worst]:.1f} m "
            f"apart on the court but {px[worst]:.0f} px apart in the image, against "
            f"{median:.0f} px per metre for the other points: one of them is on the wrong "
            "landmark."
        )


def _check_camera(matrix: np.ndarray, src: np.ndarray, court: NetballCourt) -> None:
    w = (np.c_[src, np.ones(len(src))] @ matrix.T)[:, 2]
    if not ((w > 0).all() or (w < 0).all()):
        raise CalibrationRefused(
            "The mapping puts some clicked points beyond the horizon; check that each "
            "image point is paired with the right court point."
        )
    # The Jacobian determinant of a homography is det(H) / w^3: its sign says whether the
    # mapping keeps handedness. Court y grows towards the camera like image y, so a negative
    # sign means the points were mirrored (left and right, or near and far, swapped).
    if np.sign(np.linalg.det(matrix)) * np.sign(w[0]) < 0:
        raise CalibrationRefused(
            "The calibration mirrors the court (left and right swapped): x runs from the "
            "left goal line and y from the far sideline towards the camera."
        )
    # A camera sees the whole court plane on one side of its horizon and the court as a convex
    # quadrilateral; a fit that folds the court or puts part of it behind the camera is no view.
    inverse = np.linalg.inv(matrix)
    corners = np.c_[np.float64(court.corners_m()), np.ones(4)] @ inverse.T
    if not ((corners[:, 2] > 0).all() or (corners[:, 2] < 0).all()):
        raise CalibrationRefused(
            "The fitted court crosses the horizon (part of it would be behind the camera): "
            "this is not a view of the court; check each point's landmark."
        )
    quad = corners[:, :2] / corners[:, 2:3]
    # far-left, far-right, near-right, near-left: the far sideline is higher in the image.
    if quad[:2, 1].mean() > quad[2:, 1].mean():
        raise CalibrationRefused(
            "The fitted court is upside down (the far sideline comes out below the near one): "
            "far and near, or every landmark, were swapped."
        )
    edges = np.roll(quad, -1, axis=0) - quad
    turns = (
        edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, 0)[:, 0]
    )
    if not ((turns > 0).all() or (turns < 0).all()):
        raise CalibrationRefused(
            "The fitted court folds over itself in the image: some points are on the wrong "
            "landmark."
        )


def _consensus(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Which clicks agree, judged in image pixels: all of them when a least-squares fit of
    all lands each within RANSAC_THRESHOLD_PX, else RANSAC's inliers re-judged against the
    least-squares fit of those (OpenCV's mask comes from one noisy minimal sample)."""
    c2i, _ = cv2.findHomography(dst, src, 0)
    if c2i is not None:
        residual = np.linalg.norm(apply(c2i, dst) - src, axis=1)
        if (residual <= RANSAC_THRESHOLD_PX).all():
            return np.ones(len(src), bool)
    _, mask = cv2.findHomography(dst, src, cv2.RANSAC, RANSAC_THRESHOLD_PX)
    inliers = mask.ravel().astype(bool) if mask is not None else np.zeros(len(src), bool)
    for _ in range(3):
        if inliers.sum() < MIN_POINTS:
            break
        c2i, _ = cv2.findHomography(dst[inliers], src[inliers], 0)
        if c2i is None:
            break
        again = np.linalg.norm(apply(c2i, dst) - src, axis=1) <= RANSAC_THRESHOLD_PX
        if (again == inliers).all():
            break
        inliers = again
    return inliers


def fit_pairs(
    image_px: Sequence[Sequence[float]] | np.ndarray,
    court_m: Sequence[Sequence[float]] | np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    court: NetballCourt = DEFAULT_COURT,
) -> PairFit:
    """Fit image pixel -> court metre; RANSAC above MIN_POINTS. Raises CalibrationRefused."""
    src = _as_points("image_points", image_px)
    dst = _as_points("court_points_m", court_m, n_expected=len(src))
    labels = list(labels) if labels is not None else [""] * len(src)
    if len(src) < MIN_POINTS:
        raise CalibrationRefused(
            f"A calibration needs at least {MIN_POINTS} point pairs, got {len(src)}."
        )
    area_m, ratio_m = _spread(dst)
    if area_m < MIN_SPREAD_AREA_M2 or ratio_m < MIN_SPREAD_RATIO:
        raise CalibrationRefused(
            "The court points lie on (almost) one line; spread them out (add a landmark off "
            "that line, e.g. a corner of the other sideline)."
        )
    area_px, ratio_px = _spread(src)
    if area_px < MIN_SPREAD_AREA_PX2 or ratio_px < MIN_SPREAD_RATIO:
        raise CalibrationRefused("The image points lie on (almost) one line; spread them out.")
    _check_pair_spacing(src, dst, labels)
    if len(src) > MIN_POINTS:
        inliers = _consensus(src, dst)
        if inliers.sum() < MIN_POINTS:
            raise CalibrationRefused(
                f"Fewer than {MIN_POINTS} of the {len(src)} points agree on one court: check "
                "each point's landmark."
            )
        matrix, _ = cv2.findHomography(src[inliers], dst[inliers], 0)
    else:
        matrix, _ = cv2.findHomography(src, dst, 0)
        inliers = np.ones(len(src), bool)
    if matrix is None or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
        raise CalibrationRefused("These points do not define a usable court mapping.")
    _check_camera(matrix, src[inliers], court)
    errors = np.linalg.norm(apply(matrix, src) - dst, axis=1)
    errors[~np.isfinite(errors)] = np.inf
    return PairFit(matrix=matrix, errors_m=errors, inliers=inliers)


def _as_points(name: str, points: object, n_expected: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CalibrationRefused(f"{name} must be a list of [x, y] numbers.") from exc
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CalibrationRefused(f"{name} must be a list of [x, y] pairs, got shape {arr.shape}.")
    if n_expected is not None and len(arr) != n_expected:
        raise CalibrationRefused(
            f"image_points and court_points_m must pair up: got {n_expected} image points "
            f"and {len(arr)} court points."
        )
    if not np.isfinite(arr).all():
        raise CalibrationRefused(f"{name} contains a missing or infinite coordinate.")
    return arr


def parse_landmarks(
    points: Any, court: NetballCourt = DEFAULT_COURT
) -> dict[str, tuple[float, float]]:
    """{landmark name: [x_px, y_px]} checked against court.landmarks_m(); raises the reason."""
    if not isinstance(points, Mapping):
        raise CalibrationRefused(
            "The points must be an object of landmark name -> [x_px, y_px], got "
            f"{type(points).__name__}."
        )
    known = court.landmarks_m()
    unknown = sorted(set(points) - set(known))
    if unknown:
        raise CalibrationRefused(
            f"Unknown landmark(s) {', '.join(map(str, unknown))}; expected among "
            f"{', '.join(known)}."
        )
    parsed: dict[str, tuple[float, float]] = {}
    for name, value in points.items():
        try:
            x, y = (float(v) for v in value)
        except (TypeError, ValueError):
            raise CalibrationRefused(f"{name}: expected [x_px, y_px], got {value!r}.") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise CalibrationRefused(f"{name}: pixel position {value!r} is not a number.")
        parsed[name] = (x, y)
    return parsed


def fit_landmarks(
    points: Any, *, court: NetballCourt = DEFAULT_COURT, source: str = "manual"
) -> CalibrationFit:
    """Fit named landmarks; never raises for bad input: a refusal carries its reason."""
    try:
        landmarks = parse_landmarks(points, court)
    except CalibrationRefused as exc:
        return CalibrationFit("refused", str(exc), None, source=source)
    names = list(landmarks)
    court_of = court.landmarks_m()
    unfitted = [
        CalibrationPoint(n, landmarks[n], court_of[n], error_m=None, used=False) for n in names
    ]
    if len(names) < MIN_POINTS:
        needed = MIN_POINTS - len(names)
        return CalibrationFit(
            "refused",
            f"{len(names)} landmark(s) clicked: at least {MIN_POINTS} well-spread ones are "
            f"needed ({needed} more).",
            None,
            unfitted,
            source=source,
        )
    try:
        fit = fit_pairs(
            [landmarks[n] for n in names], [court_of[n] for n in names], names, court=court
        )
    except CalibrationRefused as exc:
        return CalibrationFit("refused", str(exc), None, unfitted, source=source)
    fitted = [
        CalibrationPoint(n, landmarks[n], court_of[n], float(e), bool(u))
        for n, e, u in zip(names, fit.errors_m, fit.inliers, strict=True)
    ]
    left_out = [p for p in fitted if not p.used]
    status, reason = (
        "ok",
        (
            f"{len(names)} landmarks, mean error {fit.mean_error_m:.2f} m"
            + (" (exact with 4 points: add more to check them)" if len(names) == MIN_POINTS else "")
        ),
    )
    if left_out:
        status = "unsure"
        reason = "; ".join(
            f"{LANDMARK_LABELS.get(p.name, p.name)} lands {p.error_m:.1f} m from its court "
            "position and was left out: correct or remove it"
            for p in left_out
        )
    elif fit.mean_error_m > MAX_MEAN_ERROR_M:
        worst = max(fitted, key=lambda p: p.error_m or 0.0)
        status = "unsure"
        reason = (
            f"The points disagree by {fit.mean_error_m:.2f} m on average (at most "
            f"{MAX_MEAN_ERROR_M} m); the worst, {LANDMARK_LABELS.get(worst.name, worst.name)}, "
            f"lands {worst.error_m:.2f} m from its court position."
        )
    return CalibrationFit(status, reason, fit.matrix, fitted, fit.mean_error_m, source=source)
