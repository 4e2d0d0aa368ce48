"""Which stretches of a clip one court calibration holds for: global camera motion vs a frame.

Each sampled frame is matched to the calibration frame (ORB features, RANSAC homography);
where the court landmarks would move by more than a tolerance, the camera has panned or
zoomed and the calibration no longer maps that stretch. Pure: numpy and OpenCV.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

# Court landmarks moving less than this (median, px at the frame's own size) is "not moved".
MOTION_TOLERANCE_PX = 8.0
ORB_FEATURES = 1500
MIN_MATCHES = 25  # fewer matched features: the frame cannot be compared (a cut, a blur)
RANSAC_PX = 3.0


@dataclass(frozen=True)
class Coverage:
    """Time ranges (seconds) where the calibration holds, and where the camera had moved."""

    covered: list[tuple[float, float]]
    moved: list[tuple[float, float]]
    samples: int
    max_shift_px: float

    @property
    def camera_moved(self) -> bool:
        return bool(self.moved)

    def to_dict(self) -> dict:
        return {
            "covered_s": [[round(a, 2), round(b, 2)] for a, b in self.covered],
            "moved_s": [[round(a, 2), round(b, 2)] for a, b in self.moved],
            "samples": self.samples,
            "max_shift_px": round(self.max_shift_px, 1),
            "camera_moved": self.camera_moved,
        }


def frame_shift_px(
    reference_gray: np.ndarray, frame_gray: np.ndarray, points_px: np.ndarray
) -> float:
    """Median displacement of `points_px` from the reference frame to this one; inf if unknown."""
    orb = cv2.ORB_create(ORB_FEATURES)
    k1, d1 = orb.detectAndCompute(reference_gray, None)
    k2, d2 = orb.detectAndCompute(frame_gray, None)
    if d1 is None or d2 is None:
        return float("inf")
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d1, d2)
    if len(matches) < MIN_MATCHES:
        return float("inf")
    src = np.float32([k1[m.queryIdx].pt for m in matches])
    dst = np.float32([k2[m.trainIdx].pt for m in matches])
    h, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_PX)
    if h is None or int(inliers.sum()) < MIN_MATCHES:
        return float("inf")
    moved = cv2.perspectiveTransform(np.float64(points_px).reshape(-1, 1, 2), h).reshape(-1, 2)
    return float(np.median(np.linalg.norm(moved - points_px, axis=1)))


def calibration_coverage(
    reference_bgr: np.ndarray,
    frames: Iterable[tuple[float, np.ndarray]],
    points_px: np.ndarray,
    *,
    duration_s: float,
    tolerance_px: float = MOTION_TOLERANCE_PX,
) -> Coverage:
    """Compare sampled (time_s, frame) pairs with the calibration frame at `points_px`."""
    reference = cv2.cvtColor(reference_bgr, cv2.COLOR_BGR2GRAY)
    marks: list[tuple[float, bool]] = []
    worst = 0.0
    for t, frame in frames:
        shift = frame_shift_px(reference, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), points_px)
        worst = max(worst, shift if np.isfinite(shift) else worst)
        marks.append((t, shift <= tolerance_px))
    covered, moved = _ranges(marks, duration_s)
    return Coverage(covered, moved, len(marks), worst)


def _ranges(
    marks: list[tuple[float, bool]], duration_s: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Runs of equal verdicts; a run ends halfway to the next sample with another verdict."""
    covered: list[tuple[float, float]] = []
    moved: list[tuple[float, float]] = []
    if not marks:
        return covered, moved
    start = 0.0
    for (t0, ok0), (t1, ok1) in itertools.pairwise(marks):
        if ok0 != ok1:
            edge = (t0 + t1) / 2
            (covered if ok0 else moved).append((start, edge))
            start = edge
    (covered if marks[-1][1] else moved).append((start, max(duration_s, start)))
    return covered, moved
