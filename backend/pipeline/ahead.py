"""The detector one keyframe ahead of the tracking, in a thread of its own."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from backend.pipeline.detection import Detections

if TYPE_CHECKING:
    from backend.pipeline.engine import FrameState


class DetectAhead:
    """Runs `detect` on one keyframe in a thread of its own while the caller tracks the
    keyframe before it.

    OpenVINO releases the GIL while the network runs, so the tracking, team votes and ball
    search of one keyframe (single-threaded Python, about a third of the main pass) overlap
    with the next keyframe's detection instead of waiting for it. Nothing but the detector
    runs in the thread, and its results are taken in keyframe order, so the outputs are
    those of the in-line loop.
    """

    def __init__(self, detect: Callable[[np.ndarray], Detections]) -> None:
        self._detect = detect
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")
        self._pending: tuple[FrameState, Future] | None = None

    def submit(self, state: FrameState) -> tuple[FrameState, Detections] | None:
        """Start on `state`; return the previous keyframe with its detections, if any."""
        done = self.drain()
        self._pending = (state, self._pool.submit(self._detect, state.image))
        return done

    def drain(self) -> tuple[FrameState, Detections] | None:
        if self._pending is None:
            return None
        state, future = self._pending
        self._pending = None
        return state, future.result()

    def close(self) -> None:
        self._pending = None
        self._pool.shutdown(wait=True, cancel_futures=True)
