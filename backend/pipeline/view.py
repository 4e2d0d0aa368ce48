"""Image pixels <-> court metres through a homography fitted to analyst-clicked points.

The fitting and its checks live in backend.analytics.calibration (one fitter for the whole
product); this class keeps stage 1's stricter rule: every point must agree with the fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.analytics.calibration import (
    MAX_POINT_ERROR_M,
    MIN_POINTS,
    CalibrationRefused,
    fit_pairs,
)
from backend.pipeline.errors import CalibrationError

MIN_CALIBRATION_PAIRS = MIN_POINTS
CALIBRATION_ERROR_MAX_M = MAX_POINT_ERROR_M


class ViewTransformer:
    """Maps image points to court metres (and back) for one fixed camera view.

    Rejects, with the reason, calibrations that cannot be right: too few or unpaired points,
    points on a line, a mapping that mirrors the court (image points clicked in the wrong
    order) or that puts some clicked points behind the camera, and points that disagree with
    each other by more than CALIBRATION_ERROR_MAX_M. A saved `homography` is used as given.
    """

    def __init__(
        self,
        image_points: Sequence[Sequence[float]],
        court_points_m: Sequence[Sequence[float]],
        error_max_m: float = CALIBRATION_ERROR_MAX_M,
    ) -> None:
        try:
            fit = fit_pairs(image_points, court_points_m)
        except CalibrationRefused as exc:
            raise CalibrationError(str(exc)) from None
        # Stage 1 keeps no RANSAC outlier: a raw point list with a mis-click is refused here.
        self.max_error_m = float(np.max(fit.errors_m))
        if not self.max_error_m <= error_max_m:
            worst = int(np.argmax(fit.errors_m))
            raise CalibrationError(
                f"The calibration points disagree: point {worst + 1} lands "
                f"{fit.errors_m[worst]:.2f} m from its court position (at most {error_max_m} m "
                "expected). Check that it was clicked on the right line."
            )
        self._set_matrix(fit.matrix, np.asarray(image_points, np.float64))

    def _set_matrix(self, matrix: np.ndarray, image_points: np.ndarray) -> None:
        self.matrix = np.asarray(matrix, np.float64)
        w = (np.c_[image_points, np.ones(len(image_points))] @ self.matrix.T)[:, 2]
        self._w_sign = float(np.sign(w[0]))
        self.inverse = np.linalg.inv(self.matrix)

    @classmethod
    def from_dict(cls, calibration: dict) -> ViewTransformer:
        if not isinstance(calibration, dict):
            raise CalibrationError(
                "A calibration must be a mapping with image_points and court_points_m."
            )
        missing = [k for k in ("image_points", "court_points_m") if k not in calibration]
        if missing:
            raise CalibrationError(f"The calibration is missing {', '.join(missing)}.")
        if calibration.get("homography") is None:
            return cls(calibration["image_points"], calibration["court_points_m"])
        # A saved calibration (backend.services.calibration) was checked when it was fitted,
        # possibly by RANSAC that left a mis-click out: its matrix is the one to use.
        view = cls.__new__(cls)
        try:
            matrix = np.asarray(calibration["homography"], np.float64)
            if matrix.shape != (3, 3) or not np.isfinite(matrix).all():
                raise ValueError
            view._set_matrix(matrix, np.asarray(calibration["image_points"], np.float64))
        except (ValueError, TypeError, np.linalg.LinAlgError):
            raise CalibrationError("The saved homography is not a usable 3x3 matrix.") from None
        view.max_error_m = float(calibration.get("mean_error_m") or 0.0)
        return view

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
