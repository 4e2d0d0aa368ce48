"""What colour the ball is, as the motion candidates learn it (ball_candidates.py).

Sightings come from sure balls (confident detector hits) and from pairs of blobs flying clear
of every player. The colour is their mean once `ball_colour_samples_min` of the last
COLOUR_HISTORY agree within `ball_colour_distance_max_lab`, so one odd sighting (a shoe, a
hand) neither makes nor breaks it. A colour learnt before the main pass (ball_prelearn.py)
stays on trial until the pass sees the ball itself: see `judge`.
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.pipeline.settings import PipelineSettings

# Sightings kept: the newest push the oldest out, so a ball seen under new light is followed.
COLOUR_HISTORY = 12


class BallColour:
    def __init__(self, settings: PipelineSettings) -> None:
        self.s = settings
        self._samples: list[np.ndarray] = []
        self._on_trial = False  # a colour from before this pass, not seen here yet

    @property
    def lab(self) -> np.ndarray | None:
        """The ball's CIELAB colour once enough recent sightings agree on it, else None."""
        if len(self._samples) < self.s.ball_colour_samples_min:
            return None
        samples = np.array(self._samples)
        median = np.median(samples, axis=0)
        agree = np.linalg.norm(samples - median, axis=1) <= self.s.ball_colour_distance_max_lab
        if agree.sum() < self.s.ball_colour_samples_min:
            return None
        return samples[agree].mean(axis=0)

    @property
    def samples(self) -> list[np.ndarray]:
        """The sightings kept so far, oldest first."""
        return list(self._samples)

    def holds(self, sample: np.ndarray) -> bool:
        """Whether this very sighting (not an equal one) is already kept."""
        return any(sample is kept for kept in self._samples)

    def add(self, lab: np.ndarray) -> None:
        self._samples = [*self._samples[-(COLOUR_HISTORY - 1) :], lab]

    def forget(self) -> None:
        """Unlearn the colour (a flight that taught it turned out to be no ball's)."""
        self._samples = []
        self._on_trial = False

    def prime(self, samples: list[np.ndarray]) -> None:
        """Start with sightings made before this pass; later ones push them out as they
        come. Until this pass has seen the ball itself the colour is on trial (`judge`)."""
        for lab in samples[-COLOUR_HISTORY:]:
            self.add(np.asarray(lab, dtype=np.float32))
        self._on_trial = self.lab is not None

    @property
    def on_trial(self) -> bool:
        """Whether the colour came from before this pass and no sure ball has judged it."""
        return self._on_trial

    def confirm(self) -> None:
        """This pass saw the ball itself (a flight): the colour is no longer on trial."""
        self._on_trial = False

    def judge(self, image: np.ndarray, ball_xy: np.ndarray, width_px: float) -> None:
        """A sure ball (a confident detection) judges a colour learnt before this pass.

        That colour may be something else's (a shoe that moved like a ball in one flight);
        the search then finds only that colour, and a path of false candidates can keep the
        detector's real ball from being chosen, so later sightings never correct it. So the
        first sure ball decides: one of another colour clears the colour (the search learns
        it again, as without the bursts), one of the same colour confirms it."""
        self._judge(patch_colour(image, ball_xy, width_px))

    def _judge(self, lab: np.ndarray | None) -> None:
        known = self.lab
        if lab is None or not self._on_trial or known is None:
            return
        if np.linalg.norm(lab - known) > self.s.ball_colour_distance_max_lab:
            self._samples = []
        self._on_trial = False

    def learn(self, image: np.ndarray, ball_xy: np.ndarray, width_px: float) -> None:
        """A sure ball (a confident detection) shows what colour the ball is."""
        lab = patch_colour(image, ball_xy, width_px)
        if lab is not None:
            # BallPath judges with the keyframe's surest detector ball; a sure ball that the
            # zoom look found instead comes here first.
            self._judge(lab)
            self.add(lab)


def patch_colour(image: np.ndarray, ball_xy: np.ndarray, width_px: float) -> np.ndarray | None:
    """Mean CIELAB colour of the middle of a ball of `width_px` at `ball_xy`."""
    r = max(1, round(width_px / 4))
    x, y = round(float(ball_xy[0])), round(float(ball_xy[1]))
    patch = image[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
    return lab_of(patch).reshape(-1, 3).mean(axis=0) if patch.size else None


def lab_of(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2LAB).astype(np.float32)
