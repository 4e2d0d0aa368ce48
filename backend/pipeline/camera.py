"""Does the camera move? Estimated from the frames already sampled to learn team colours.

Positions in pixels, heatmaps and a court calibration all assume a fixed camera. Phase
correlation of small grey copies of frames spread over the video finds how far the whole
picture shifted between consecutive ones: players move, but the court, walls and stands
stay, so a fixed camera measures little shift on most pairs and a panning one a large one.
A zoom without a pan is not seen (phase correlation measures shifts only).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

# Width the sampled frames are shrunk to before comparing: enough for the court lines.
CAMERA_SAMPLE_WIDTH_PX = 160
# A picture shifted by more than this fraction of its width between two samples moved.
# Measured on generated fixed-camera clips, big players alone shift single pairs by up to
# 5 % (portrait) while the median pair stays at 0.4-1.0 %; a pan of 3 % per sample is seen.
CAMERA_SHIFT_FRAC_MAX = 0.02
CAMERA_PAIRS_MIN = 2


@dataclass(frozen=True)
class CameraMotion:
    pairs: int
    moved_pairs: int
    median_shift_frac: float  # of the frame width, over consecutive sample pairs
    max_shift_frac: float

    @property
    def moving(self) -> bool:
        """The typical pair of samples is shifted: players crossing a plain floor can shift a
        few pairs, but not most of them."""
        return self.pairs >= CAMERA_PAIRS_MIN and self.median_shift_frac > CAMERA_SHIFT_FRAC_MAX

    def to_dict(self) -> dict:
        return {
            "pairs": self.pairs,
            "moved_pairs": self.moved_pairs,
            "median_shift_frac": round(self.median_shift_frac, 4),
            "max_shift_frac": round(self.max_shift_frac, 4),
            "moving": self.moving,
        }


def small_grey(frame: np.ndarray) -> np.ndarray:
    """The frame shrunk to CAMERA_SAMPLE_WIDTH_PX wide, grey, as float32 for phase correlation."""
    h, w = frame.shape[:2]
    width = min(CAMERA_SAMPLE_WIDTH_PX, w)
    height = max(1, round(h * width / w))
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    return cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def estimate_camera_motion(samples: list[np.ndarray]) -> CameraMotion | None:
    """Shifts between consecutive `small_grey` samples (in video order); None with fewer than
    CAMERA_PAIRS_MIN + 1 samples."""
    samples = [s for s in samples if s.size]
    shifts = []
    window = None
    for before, after in itertools.pairwise(samples):
        if before.shape != after.shape:
            continue
        if window is None or window.shape != before.shape:
            window = cv2.createHanningWindow(before.shape[::-1], cv2.CV_32F)
        (dx, dy), _response = cv2.phaseCorrelate(before, after, window)
        shifts.append(float(np.hypot(dx, dy)) / before.shape[1])
    if len(shifts) < CAMERA_PAIRS_MIN:
        return None
    return CameraMotion(
        pairs=len(shifts),
        moved_pairs=sum(shift > CAMERA_SHIFT_FRAC_MAX for shift in shifts),
        median_shift_frac=float(np.median(shifts)),
        max_shift_frac=float(np.max(shifts)),
    )
