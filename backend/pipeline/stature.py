"""Stature: how tall a player stands compared with everyone else at that distance.

Team-mates wear one kit, so their shirt and trouser colours cannot tell them apart; their
heights can (a netball squad runs from about 1.65 m to 1.95 m, and positions are picked by
height). A box's pixel height depends on how far from the camera the player stands, so it is
compared with the height expected at its feet row: a line fitted to every clean whole box of
the last few seconds (on a flat court seen by a level camera, apparent height falls linearly
with the feet's image row towards the horizon). A stature of 1.05 is a player 5 % taller than
the average of the people seen around that row. The fit forgets old boxes (half-life
HALF_LIFE_S), so a zoom or a tilt is followed within a few half-lives; it needs no calibration.
"""

from __future__ import annotations

import numpy as np

# Boxes older than this weigh half as much in the fit: long enough that a few crowded
# seconds do not bend the line, short enough that a zoom is followed within a minute.
HALF_LIFE_S = 10.0
# Fewer clean boxes than this (in weight) and no stature is given.
BOXES_MIN = 8.0
# Slope towards flat, as a share of the mean box height in pixels: when every box stands at
# one row the slope is unknown, and a flat line is the safe guess.
SLOPE_RIDGE_FRAC = 0.1
# Boxes this far from the fitted height are not whole people standing (legs alone, two
# people in one box) and teach the fit nothing.
LEARN_RATIO_RANGE = (0.7, 1.4)


class StatureScale:
    """A decaying least-squares line: expected whole-box height (px) against feet row (px)."""

    def __init__(self, half_life_s: float = HALF_LIFE_S) -> None:
        self.half_life_s = half_life_s
        self.sums = np.zeros(5)  # weight, y, y^2, h, y*h
        self.time_s: float | None = None

    def learn(self, boxes: np.ndarray, time_s: float) -> None:
        """Folds in the clean whole boxes (N, 4) of one keyframe."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if self.time_s is not None and time_s > self.time_s:
            self.sums *= 0.5 ** ((time_s - self.time_s) / self.half_life_s)
        self.time_s = time_s if self.time_s is None else max(self.time_s, time_s)
        y, h = boxes[:, 3], boxes[:, 3] - boxes[:, 1]
        expected = self.expected(y)
        if expected is not None:
            ratio = h / np.maximum(expected, 1e-6)
            keep = (ratio >= LEARN_RATIO_RANGE[0]) & (ratio <= LEARN_RATIO_RANGE[1])
            y, h = y[keep], h[keep]
        keep = h > 0
        y, h = y[keep], h[keep]
        self.sums += [len(y), y.sum(), (y * y).sum(), h.sum(), (y * h).sum()]

    def expected(self, feet_y: np.ndarray | float) -> np.ndarray | None:
        """Expected box height at the feet row(s), or None until enough boxes were seen."""
        w, sy, syy, sh, syh = self.sums
        if w < BOXES_MIN:
            return None
        y_mean, h_mean = sy / w, sh / w
        variance = max(0.0, syy / w - y_mean * y_mean)
        covariance = syh / w - y_mean * h_mean
        slope = covariance / (variance + (SLOPE_RIDGE_FRAC * h_mean) ** 2)
        return np.maximum(h_mean + slope * (np.asarray(feet_y, np.float64) - y_mean), 1.0)

    def stature(self, box: np.ndarray) -> float | None:
        """The box's height against the expected one at its feet (1.0 = average)."""
        expected = self.expected(float(box[3]))
        if expected is None:
            return None
        return float((box[3] - box[1]) / expected)
