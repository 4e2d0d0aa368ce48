"""Player IDs across keyframes (ByteTrack), and the ball chosen from its recent path."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from backend.pipeline.detection import Detections

# ByteTrack association: a detection continues a track when their IoU is above 1 - this.
BYTETRACK_MATCH_THRESH = 0.8
# Stitching (PlayerTracker._stitch): a new track continues a lost one when its feet are within
# STITCH_DISTANCE_MAX_HEIGHTS box heights of where the lost one vanished, plus
# STITCH_WALK_HEIGHTS_PER_S for every second out of sight; when its box is at most
# STITCH_HEIGHT_RATIO_MAX times taller or shorter (the detector sometimes boxes only the legs);
# and, for whole boxes (at least STITCH_COLOR_HEIGHT_FRAC_MIN of the player's height), when
# its shirt colour is within STITCH_COLOR_DISTANCE_MAX_LAB of the lost one's running colour,
# which follows new whole-box crops at COLOR_EMA per keyframe.
STITCH_DISTANCE_MAX_HEIGHTS = 0.75
STITCH_WALK_HEIGHTS_PER_S = 0.5
STITCH_HEIGHT_RATIO_MAX = 2.6
STITCH_COLOR_HEIGHT_FRAC_MIN = 0.8
STITCH_COLOR_DISTANCE_MAX_LAB = 30.0
COLOR_EMA = 0.2
# A ball candidate present in this share of the keyframes of the static window is scenery.
STATIC_SHARE_MIN = 0.8
# Among frames sampled across the whole video, a ball spot in this share of them is scenery.
STATIC_SAMPLE_SHARE_MIN = 0.34
STATIC_SAMPLES_MIN = 4
# A ball inside a player's box widened by this fraction of its width can be in their hands.
HOLD_BOX_MARGIN_FRAC = 0.25


class PlayerTracker:
    """ByteTrack (from ultralytics) fed only keyframe detections.

    `lost_track_buffer_keyframes` is how many keyframes a track may go undetected and still
    come back with its ID: raising it survives longer occlusions but risks giving an ID to
    the wrong person.
    """

    def __init__(
        self, conf_min: float, lost_track_buffer_keyframes: int, keyframes_per_s: float = 10.0
    ) -> None:
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

        args = IterableSimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=conf_min,
            track_low_thresh=min(0.1, conf_min),
            new_track_thresh=conf_min,
            track_buffer=max(1, lost_track_buffer_keyframes),
            match_thresh=BYTETRACK_MATCH_THRESH,
            fuse_score=False,
        )
        self._tracker = BYTETracker(args)
        self.lost_buffer = max(1, lost_track_buffer_keyframes)
        self.keyframes_per_s = keyframes_per_s
        self._keyframe = 0
        self._alias: dict[int, int] = {}  # ByteTrack ID -> the ID we publish
        self._owner: dict[int, int] = {}  # published ID -> the ByteTrack ID that holds it now
        self._next_id = 0
        self._last: dict[int, tuple[int, np.ndarray]] = {}  # published ID -> (keyframe, box)
        self._colors: dict[int, np.ndarray] = {}  # published ID -> running shirt colour
        self._heights: dict[int, list[float]] = {}  # published ID -> its last few box heights

    def update_with_detections(self, players: Detections) -> Detections:
        """Returns the detections that belong to a confirmed track, with tracker_id set.

        If `players.data["color"]` holds each box's shirt colour (teams.torso_features), a lost
        player is only stitched to a new box of a similar colour.
        """
        self._keyframe += 1
        out = self._tracker.update(players)
        if len(players) == 0 or len(out) == 0:
            return Detections.empty()
        idx = out[:, 7].astype(np.int64)
        tracked = players[idx]
        raw_ids = out[:, 4].astype(np.int64)
        # A published ID belongs to one ByteTrack track at a time: a track that lost its ID to
        # a stitch and is later found again by ByteTrack gets a fresh ID, never a duplicate.
        for raw in raw_ids.tolist():
            if raw in self._alias and self._owner.get(self._alias[raw]) != raw:
                self._alias[raw] = self._new_id(raw)
        present = {self._alias[r] for r in raw_ids.tolist() if r in self._alias}
        ids = []
        colors = tracked.data.get("color")
        for i, (raw, box) in enumerate(
            zip(raw_ids.tolist(), tracked.xyxy.astype(np.float64), strict=True)
        ):
            color = colors[i] if colors is not None else None
            if raw not in self._alias:
                stitched = self._stitch(box, present, color)
                if stitched is None:
                    self._alias[raw] = self._new_id(raw)
                else:
                    self._alias[raw] = stitched
                    self._owner[stitched] = raw
                present.add(self._alias[raw])
            tid = self._alias[raw]
            self._last[tid] = (self._keyframe, box)
            h = float(box[3] - box[1])
            before = max(self._heights.get(tid, [0.0]))
            self._heights[tid] = [*self._heights.get(tid, [])[-4:], h]
            if color is not None and np.isfinite(color).all():
                prev = self._colors.get(tid)
                if prev is None or h >= before / STITCH_COLOR_HEIGHT_FRAC_MIN:
                    # First box, or the first whole one after part-boxes (whose colour is
                    # of the legs): start the colour afresh.
                    self._colors[tid] = color
                elif h >= STITCH_COLOR_HEIGHT_FRAC_MIN * before:
                    self._colors[tid] = prev + COLOR_EMA * (color - prev)
            ids.append(tid)
        tracked.tracker_id = np.array(ids, dtype=np.int64)
        return tracked

    def _new_id(self, raw: int) -> int:
        self._next_id += 1
        self._owner[self._next_id] = raw
        return self._next_id

    def _stitch(self, box: np.ndarray, present: set[int], color: np.ndarray | None) -> int | None:
        """A new ByteTrack ID near where a recently lost player vanished continues that player.

        ByteTrack's Kalman prediction drifts while a player is undetected, so a player who
        reappears after a few missed keyframes often gets a new ID; this undoes that.
        """
        # Feet, not centres, and the recent tallest box, not the last: the detector sometimes
        # boxes only the legs of a player, and the feet are the part both boxes share.
        h = box[3] - box[1]
        feet = np.array([(box[0] + box[2]) / 2, box[3]])
        best, best_score = None, 1.0
        for tid, (kf, last) in self._last.items():
            if tid in present or self._keyframe - kf > self.lost_buffer:
                continue
            ref_h = max(self._heights.get(tid, [last[3] - last[1]]))
            known = self._colors.get(tid)
            # A box much shorter than the player is a part of them, and its "torso" is not.
            whole = h >= STITCH_COLOR_HEIGHT_FRAC_MIN * ref_h
            if (
                whole
                and color is not None
                and known is not None
                and np.isfinite(color).all()
                and np.linalg.norm(color - known) > STITCH_COLOR_DISTANCE_MAX_LAB
            ):
                continue
            if not 1 / STITCH_HEIGHT_RATIO_MAX <= h / max(ref_h, 1e-6) <= STITCH_HEIGHT_RATIO_MAX:
                continue
            last_feet = np.array([(last[0] + last[2]) / 2, last[3]])
            # The longer a player was out of sight, the farther they may have walked.
            gap_s = (self._keyframe - kf) / self.keyframes_per_s
            reach = STITCH_DISTANCE_MAX_HEIGHTS + STITCH_WALK_HEIGHTS_PER_S * gap_s
            score = np.linalg.norm(feet - last_feet) / max(h, ref_h) / reach
            if score < best_score:
                best, best_score = tid, score
        return best

    def reset(self) -> None:
        self._tracker.reset()
        self._alias.clear()
        self._owner.clear()
        self._next_id = 0
        self._last.clear()
        self._heights.clear()
        self._colors.clear()
        self._keyframe = 0


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

    def __init__(
        self,
        max_speed_px_per_frame: float,
        reacquire_after_frames: int,
        static_window_frames: int,
        static_cell_px: float,
    ) -> None:
        self.max_speed = max_speed_px_per_frame
        self.reacquire_after = reacquire_after_frames
        self.static_window = static_window_frames
        self.static_cell = max(1.0, static_cell_px)
        self.history: list[BallPoint] = []
        self.static_spots: set[tuple[int, int]] = set()
        self._seen: deque[tuple[int, set[tuple[int, int]]]] = deque()

    def _static_mask(self, frame: int, centers: np.ndarray) -> np.ndarray:
        """True for candidates where a 'ball' has sat for the whole static window.

        A real ball is never still that long (a player must release it within 3 s and is
        rarely motionless meanwhile), but court markings and lights are.
        """
        cells = {(int(x // self.static_cell), int(y // self.static_cell)) for x, y in centers}
        self._seen.append((frame, cells))
        while self._seen and self._seen[0][0] < frame - self.static_window:
            self._seen.popleft()
        if len(self._seen) < 4 or frame - self._seen[0][0] < self.static_window * 0.9:
            return np.zeros(len(centers), dtype=bool)
        out = np.zeros(len(centers), dtype=bool)
        for i, (x, y) in enumerate(centers):
            cx, cy = int(x // self.static_cell), int(y // self.static_cell)
            near = {(cx + dx, cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
            hits = sum(1 for _, seen in self._seen if seen & near)
            out[i] = hits >= STATIC_SHARE_MIN * len(self._seen)
        return out

    def learn_static_spots(self, samples: list[np.ndarray]) -> int:
        """Mark spots where a 'ball' shows in most frames sampled across the video as scenery.

        The real ball moves around the court, so it cannot be in the same place in frames
        minutes apart; returns how many spots were marked.
        """
        if len(samples) < STATIC_SAMPLES_MIN:
            return 0
        counts: dict[tuple[int, int], int] = {}
        for centers in samples:
            cells = {self._cell(x, y) for x, y in np.asarray(centers).reshape(-1, 2)}
            for cell in cells:
                counts[cell] = counts.get(cell, 0) + 1
        for cell, n in counts.items():
            near = sum(
                counts.get((cell[0] + dx, cell[1] + dy), 0)
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
            )
            if min(n * 2, near) >= STATIC_SAMPLE_SHARE_MIN * len(samples):
                self.static_spots.add(cell)
        return len(self.static_spots)

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        return int(x // self.static_cell), int(y // self.static_cell)

    def _in_static_spot(self, x: float, y: float) -> bool:
        cx, cy = self._cell(x, y)
        return any(
            (cx + dx, cy + dy) in self.static_spots for dx in (-1, 0, 1) for dy in (-1, 0, 1)
        )

    def select(self, frame: int, balls: Detections) -> BallPoint | None:
        centers = balls.centers
        static = self._static_mask(frame, centers)
        if self.static_spots:
            static |= np.array([self._in_static_spot(x, y) for x, y in centers], dtype=bool)
        if static.any():
            balls, centers = balls[~static], centers[~static]
        if len(balls) == 0:
            return None
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


def ball_holder(ball_xy: np.ndarray, boxes: dict[int, np.ndarray]) -> int | None:
    """The player whose hands can be on the ball: it is inside their box (widened by
    HOLD_BOX_MARGIN_FRAC for outstretched arms); the nearest chest wins among several."""
    best, best_d = None, np.inf
    for tid, (x1, y1, x2, y2) in boxes.items():
        m = HOLD_BOX_MARGIN_FRAC * (x2 - x1)
        if x1 - m <= ball_xy[0] <= x2 + m and y1 <= ball_xy[1] <= y2:
            d = np.hypot(ball_xy[0] - (x1 + x2) / 2, ball_xy[1] - (y1 + 0.4 * (y2 - y1)))
            if d < best_d:
                best, best_d = tid, d
    return best
