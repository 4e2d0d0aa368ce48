"""Player IDs across keyframes (ByteTrack), and the ball chosen from its recent path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.pipeline.detection import Detections

# ByteTrack association: a detection continues a track when their IoU is above 1 - this.
BYTETRACK_MATCH_THRESH = 0.8


class PlayerTracker:
    """ByteTrack (from ultralytics) fed only keyframe detections.

    `lost_track_buffer_keyframes` is how many keyframes a track may go undetected and still
    come back with its ID: raising it survives longer occlusions but risks giving an ID to
    the wrong person.
    """

    def __init__(self, conf_min: float, lost_track_buffer_keyframes: int) -> None:
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

        args = IterableSimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=conf_min,
            track_low_thresh=min(0.1, conf_min),
            new_track_thresh=conf_min,
            track_buffer=max(1, lost_track_buffer_keyframes),
            match_thresh=BYTETRACK_MATCH_THRESH,
            fuse_score=True,
        )
        self._tracker = BYTETracker(args)

    def update_with_detections(self, players: Detections) -> Detections:
        """Returns the detections that belong to a confirmed track, with tracker_id set."""
        if len(players) == 0:
            self._tracker.update(players)
            return Detections.empty()
        out = self._tracker.update(players)
        if len(out) == 0:
            return Detections.empty()
        idx = out[:, 7].astype(np.int64)
        tracked = players[idx]
        tracked.tracker_id = out[:, 4].astype(np.int64)
        return tracked

    def reset(self) -> None:
        self._tracker.reset()


@dataclass
class BallPoint:
    frame: int
    xy: np.ndarray
    confidence: float


class BallSelector:
    """Keeps one ball per keyframe: the candidate that best continues the recent path.

    A candidate farther from the predicted position than the ball could travel
    (`max_speed_px_per_frame`) is a false ball (a head, a light) unless the path has been
    lost for longer than `reacquire_after_frames`, when the most confident one restarts it.
    """

    def __init__(self, max_speed_px_per_frame: float, reacquire_after_frames: int) -> None:
        self.max_speed = max_speed_px_per_frame
        self.reacquire_after = reacquire_after_frames
        self.history: list[BallPoint] = []

    def select(self, frame: int, balls: Detections) -> BallPoint | None:
        if len(balls) == 0:
            return None
        centers = balls.centers
        last = self.history[-1] if self.history else None
        if last is None or frame - last.frame > self.reacquire_after:
            best = int(np.argmax(balls.confidence))
        else:
            predicted = last.xy
            if len(self.history) >= 2:
                prev = self.history[-2]
                velocity = (last.xy - prev.xy) / max(1, last.frame - prev.frame)
                predicted = last.xy + velocity * (frame - last.frame)
            dist = np.linalg.norm(centers - predicted, axis=1)
            reach = self.max_speed * (frame - last.frame)
            near_last = np.linalg.norm(centers - last.xy, axis=1) <= reach
            if not near_last.any():
                return None
            # Closeness to the prediction, weighted by confidence so a clear ball wins.
            score = np.where(near_last, dist / (0.5 + balls.confidence), np.inf)
            best = int(np.argmin(score))
        point = BallPoint(frame, centers[best].astype(np.float64), float(balls.confidence[best]))
        self.history = [*self.history[-1:], point]
        return point
