"""Does the camera move? Estimated from the frames already sampled to learn team colours.

Positions in pixels, heatmaps and a court calibration all assume a fixed camera. Phase
correlation of small grey copies of frames spread over the video finds how far the whole
picture shifted between consecutive ones: players move, but the court, walls and stands
stay, so a fixed camera measures little shift on most pairs and a panning one a large one.
A zoom without a pan is not seen (phase correlation measures shifts only).

The same measure, against the frame a court calibration was fitted on, tells which time
ranges that calibration covers (`calibration_coverage`, used by the calibration service).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
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


# --- which stretches one court calibration covers -----------------------------------------
# A calibration is fitted on one frame; a sample whose whole picture is shifted from that frame
# by more than CAMERA_SHIFT_FRAC_MAX is filmed from another camera direction. A single such
# sample between fixed ones is a player crossing close to the camera, not a pan.
COVERAGE_MOVED_SAMPLES_MIN = 2


@dataclass(frozen=True)
class Coverage:
    """Time ranges (seconds) where the calibration holds, and where the camera had moved."""

    covered: list[tuple[float, float]]
    moved: list[tuple[float, float]]
    samples: int
    max_shift_frac: float  # of the frame width, from the calibration frame

    @property
    def camera_moved(self) -> bool:
        return bool(self.moved)

    def to_dict(self) -> dict:
        return {
            "covered_s": [[round(a, 2), round(b, 2)] for a, b in self.covered],
            "moved_s": [[round(a, 2), round(b, 2)] for a, b in self.moved],
            "samples": self.samples,
            "max_shift_frac": round(self.max_shift_frac, 4),
            "camera_moved": self.camera_moved,
        }


def shift_frac(reference: np.ndarray, sample: np.ndarray) -> float:
    """Whole-picture shift between two `small_grey` frames, as a fraction of the width."""
    if reference.shape != sample.shape:
        return float("inf")
    window = cv2.createHanningWindow(reference.shape[::-1], cv2.CV_32F)
    (dx, dy), _response = cv2.phaseCorrelate(reference, sample, window)
    return float(np.hypot(dx, dy)) / reference.shape[1]


def calibration_coverage(
    reference: np.ndarray, samples: Iterable[tuple[float, np.ndarray]], *, duration_s: float
) -> Coverage:
    """Compare (time_s, BGR frame) samples with the calibration frame `reference` (BGR)."""
    ref = small_grey(reference)
    marks: list[tuple[float, bool]] = []
    worst = 0.0
    for t, frame in samples:
        shift = shift_frac(ref, small_grey(frame))
        worst = max(worst, shift) if np.isfinite(shift) else worst
        marks.append((t, shift <= CAMERA_SHIFT_FRAC_MAX))
    marks = _without_lone_moves(marks)
    covered, moved = _ranges(marks, duration_s)
    return Coverage(covered, moved, len(marks), worst)


def _without_lone_moves(marks: list[tuple[float, bool]]) -> list[tuple[float, bool]]:
    out = list(marks)
    i = 0
    while i < len(out):
        if out[i][1]:
            i += 1
            continue
        j = i
        while j < len(out) and not out[j][1]:
            j += 1
        if j - i < COVERAGE_MOVED_SAMPLES_MIN and i > 0 and j < len(out):
            out[i:j] = [(t, True) for t, _ in out[i:j]]
        i = j
    return out


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
