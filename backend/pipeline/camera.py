"""Does the camera move? Estimated from the frames already sampled to learn team colours.

Positions in pixels, heatmaps and a court calibration all assume a fixed camera. Phase
correlation of small grey copies of frames spread over the video finds how far the whole
picture shifted between them: players move, but the court, walls and stands dominate the
picture, so a fixed camera measures close to no shift and a panning one a large one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

# Width the sampled frames are shrunk to before comparing: enough for the court lines.
CAMERA_SAMPLE_WIDTH_PX = 160
# A picture shifted by more than this fraction of its width between two samples moved.
CAMERA_SHIFT_FRAC_MAX = 0.02
# Below this phase-correlation peak the two samples share no background at all (a zoom, a
# cut, a pan to another part of the hall): that counts as moved too.
CAMERA_MATCH_RESPONSE_MIN = 0.05
# The camera "moves" when at least this share of consecutive sample pairs moved.
CAMERA_MOVING_PAIRS_SHARE_MIN = 0.25
CAMERA_PAIRS_MIN = 2


@dataclass(frozen=True)
class CameraMotion:
    pairs: int
    moved_pairs: int
    median_shift_frac: float  # of the frame width, over consecutive sample pairs
    max_shift_frac: float

    @property
    def moving(self) -> bool:
        return self.pairs >= CAMERA_PAIRS_MIN and (
            self.moved_pairs >= CAMERA_MOVING_PAIRS_SHARE_MIN * self.pairs
        )

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
    """Shifts between consecutive `small_grey` samples (in video order); None with under two."""
    samples = [s for s in samples if s.size]
    if len(samples) < 2:
        return None
    window = None
    shifts, moved = [], 0
    for before, after in itertools.pairwise(samples):
        if before.shape != after.shape:
            continue
        if window is None or window.shape != before.shape:
            window = cv2.createHanningWindow(before.shape[::-1], cv2.CV_32F)
        (dx, dy), response = cv2.phaseCorrelate(before, after, window)
        shift = float(np.hypot(dx, dy)) / before.shape[1]
        shifts.append(shift)
        moved += int(shift > CAMERA_SHIFT_FRAC_MAX or response < CAMERA_MATCH_RESPONSE_MIN)
    if not shifts:
        return None
    return CameraMotion(
        pairs=len(shifts),
        moved_pairs=moved,
        median_shift_frac=float(np.median(shifts)),
        max_shift_frac=float(np.max(shifts)),
    )
