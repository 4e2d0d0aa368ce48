"""Image pixels <-> court metres through a homography fitted to analyst-clicked points."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from backend.pipeline.errors import CalibrationError

MIN_CALIBRATION_PAIRS = 4
# A calibration whose own points land farther than this from where the analyst put them is
# inconsistent (a point clicked on the wrong line), not just imprecise.
CALIBRATION_ERROR_MAX_M = 0.5
# Points spanning less than this area are effectively on one line.
MIN_SPREAD_AREA_PX2 = 100.0
MIN_SPREAD_AREA_M2 = 1.0


def _as_points(name: str, points: object, n_expected: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{name} must be a list of [x, y] numbers.") from exc
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise CalibrationError(f"{name} must be a list of [x, y] pairs, got shape {arr.shape}.")
    if n_expected is not None and len(arr) != n_expected:
        raise CalibrationError(
            f"image_points and court_points_m must pair up: got {n_expected} image points "
            f"and {len(arr)} court points."
        )
    if len(arr) < MIN_CALIBRATION_PAIRS:
        raise CalibrationError(
            f"A calibration needs at least {MIN_CALIBRATION_PAIRS} point pairs, got {len(arr)}."
        )
    if not np.isfinite(arr).all():
        raise CalibrationError(f"{name} contains a missing or infinite coordinate.")
    return arr


def _spread_area(points: np.ndarray) -> float:
    hull = cv2.convexHull(points.astype(np.float32))
    return float(cv2.contourArea(hull))


class ViewTransformer:
    """Maps image points to court metres (and back) for one fixed camera view.

    Rejects, with the reason, calibrations that cannot be right: too few or unpaired points,
    points on a line, a mapping that mirrors the court (image points clicked in the wrong
    order) or that puts some clicked points behind the camera, and points that disagree with
    each other by more than CALIBRATION_ERROR_MAX_M.
    """

    def __init__(
        self,
        image_points: Sequence[Sequence[float]],
        court_points_m: Sequence[Sequence[float]],
        error_max_m: float = CALIBRATION_ERROR_MAX_M,
    ) -> None:
        src = _as_points("image_points", image_points)
        dst = _as_points("court_points_m", court_points_m, n_expected=len(src))
        if _spread_area(src) < MIN_SPREAD_AREA_PX2:
            raise CalibrationError("The image points lie on (almost) one line; spread them out.")
        if _spread_area(dst) < MIN_SPREAD_AREA_M2:
            raise CalibrationError("The court points lie on (almost) one line; spread them out.")
        matrix, _ = cv2.findHomography(src, dst, 0)
        if matrix is None or not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
            raise CalibrationError("These points do not define a usable court mapping.")
        w = (np.c_[src, np.ones(len(src))] @ matrix.T)[:, 2]
        if not ((w > 0).all() or (w < 0).all()):
            raise CalibrationError(
                "The mapping puts some clicked points beyond the horizon; check that each "
                "image point is paired with the right court point."
            )
        # The Jacobian determinant of a homography is det(H) / w^3: its sign says whether the
        # mapping keeps handedness. Court y grows towards the camera like image y, so a
        # negative sign means the points were mirrored (left and right swapped).
        if np.sign(np.linalg.det(matrix)) * np.sign(w[0]) < 0:
            raise CalibrationError(
                "The calibration mirrors the court (left and right swapped): x runs from the "
                "left goal line and y from the far sideline towards the camera."
            )
        self.matrix = matrix
        self._w_sign = float(np.sign(w[0]))
        self.inverse = np.linalg.inv(matrix)
        mapped = self.transform_points(src)
        errors = np.linalg.norm(mapped - dst, axis=1)
        self.max_error_m = float(np.nanmax(errors))
        if not self.max_error_m <= error_max_m:
            worst = int(np.nanargmax(errors))
            raise CalibrationError(
                f"The calibration points disagree: point {worst + 1} lands "
                f"{self.max_error_m:.2f} m from its court position (at most {error_max_m} m "
                "expected). Check that it was clicked on the right line."
            )

    @classmethod
    def from_dict(cls, calibration: dict) -> ViewTransformer:
        if not isinstance(calibration, dict):
            raise CalibrationError(
                "A calibration must be a mapping with image_points and court_points_m."
            )
        missing = [k for k in ("image_points", "court_points_m") if k not in calibration]
        if missing:
            raise CalibrationError(f"The calibration is missing {', '.join(missing)}.")
        return cls(calibration["image_points"], calibration["court_points_m"])

    def transform_points(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 2) metres; NaN for points at or beyond the horizon."""
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return np.empty((0, 2))
        h = np.c_[pts, np.ones(len(pts))] @ self.matrix.T
        out = h[:, :2] / h[:, 2:3]
        out[h[:, 2] * self._w_sign <= 1e-12] = np.nan
        return out

    def court_to_image(self, points_m: np.ndarray) -> np.ndarray:
        pts = np.asarray(points_m, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return np.empty((0, 2))
        h = np.c_[pts, np.ones(len(pts))] @ self.inverse.T
        return h[:, :2] / h[:, 2:3]
