"""What stage 1 emits: one TrackedFrame per video frame, handed to a list of consumers.

The engine only decides where everything is; writing CSVs, drawing the video, collecting
per-track figures and saving a background frame are consumers (see consumers.py). A new
output is a new consumer, not another branch in the engine's loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from backend.pipeline.detection import Detections

SOURCE_DETECTED = "detected"
SOURCE_INTERPOLATED = "interpolated"


@dataclass
class BallState:
    """The ball in one frame. `holder` is stage 1's image-space guess (ball inside a player's
    widened box and moving slowly); stage 2 decides possession itself."""

    xy: np.ndarray
    confidence: float
    source: str
    holder: int | None = None
    court_xy: tuple[float, float] | None = None
    zone: str = ""


@dataclass
class TrackedFrame:
    """One frame's players and ball.

    `players` is a Detections with `tracker_id` set and these `data` columns, one row each:
    `team` (str: A, B, other, or "" while unknown; the running vote, final teams come in
    `StreamEnd`), `source` (detected | interpolated), `court_xy` (float (n, 2), NaN when
    uncalibrated or off the floor) and `zone` (str, "" when uncalibrated).
    """

    index: int
    time_s: float
    image: np.ndarray
    players: Detections
    ball: BallState | None = None

    @property
    def player_ids(self) -> list[int]:
        return self.players.tracker_id.tolist()


@dataclass
class StreamEnd:
    """What only the end of the video knows: each track's final team, and which tracks are
    real (detected on enough keyframes) rather than noise."""

    frames: int
    teams: dict[int, str]
    kept: set[int]
    team_names: dict[str, str]
    colors_bgr: dict[str, tuple[int, int, int]]
    extra: dict = field(default_factory=dict)


class FrameConsumer(Protocol):
    def on_frame(self, frame: TrackedFrame) -> None: ...

    def finish(self, end: StreamEnd) -> None:
        """The last frame has been seen: write what depends on the whole video."""

    def abort(self) -> None:
        """The run failed or was cancelled: release resources, write nothing more."""
