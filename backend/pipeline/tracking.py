"""Player IDs across keyframes: ByteTrack, plus stitching a lost player back to their ID."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backend.pipeline.bytetrack import ByteTrackArgs, BYTETracker
from backend.pipeline.detection import Detections
from backend.pipeline.reid import ReidConfig, Reidentifier
from backend.pipeline.reid_tracking import ReidTracking

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


# What re-identification did, reported in summary.json's counts (reid_tracking.py says when).
REID_COUNTS = ("reid_matches", "reid_swaps", "reid_releases", "reid_merges", "reid_refusals")


class PlayerTracker(ReidTracking):
    """ByteTrack (bytetrack.py, ported from ultralytics) fed only keyframe detections.

    `lost_track_buffer_keyframes` is how many keyframes a track may go undetected and still
    come back with its ID: raising it survives longer occlusions but risks giving an ID to
    the wrong person.
    """

    def __init__(
        self,
        conf_min: float,
        lost_track_buffer_keyframes: int,
        keyframes_per_s: float = 10.0,
        *,
        reid: ReidConfig | None = None,
        to_court: Callable[[np.ndarray], np.ndarray] | None = None,
        team_of: Callable[[int], str] | None = None,
        team_of_colour: Callable[[np.ndarray], str] | None = None,
    ) -> None:
        """`reid` turns on re-identification (reid.py) in place of the stitching below; it
        works in court metres through `to_court` (pixels -> metres) when given. `team_of`
        (published ID -> team so far) and `team_of_colour` (a whole box's shirt colour ->
        team) keep re-identification from handing a player's ID to a rival."""
        args = ByteTrackArgs(
            track_high_thresh=conf_min,
            track_low_thresh=min(0.1, conf_min),
            new_track_thresh=conf_min,
            track_buffer=max(1, lost_track_buffer_keyframes),
            match_thresh=BYTETRACK_MATCH_THRESH,
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
        self.reid = Reidentifier(reid, to_court) if reid else None
        self._team_of, self._team_of_colour = team_of, team_of_colour
        # (ID, ID) -> keyframe they were last close: a tracker may swap two people there.
        self._close: dict[tuple[int, int], int] = {}
        # ID -> (IDs it vanished beside, keyframe): hidden behind them (reid_tracking.py).
        self._hidden: dict[int, tuple[set[int], int]] = {}
        # (ID, ID) -> keyframe: a hidden ID back beside its cover, to be decided apart.
        self._pending: dict[tuple[int, int], int] = {}
        # Pending pair -> summed (kept, crossed, keyframes) costs so far (reid_tracking.py).
        self._evidence: dict[tuple[int, int], np.ndarray] = {}
        self.reid_counts = dict.fromkeys(REID_COUNTS, 0)
        self.renames: list[tuple[str, int, int, int]] = []  # reid_tracking.py

    def update_with_detections(
        self, players: Detections, frame: np.ndarray | None = None
    ) -> Detections:
        """Returns the detections that belong to a confirmed track, with tracker_id set.

        If `players.data["color"]` holds each box's shirt colour (teams.torso_features), a lost
        player is only stitched to a new box of a similar colour. With re-identification on,
        `frame` (the keyframe's image) is where the boxes' appearance is read.
        """
        self._keyframe += 1
        out = self._tracker.update(players)
        if len(players) == 0 or len(out) == 0:
            return Detections.empty()
        idx = out[:, 7].astype(np.int64)
        tracked = players[idx]
        raw_ids = out[:, 4].astype(np.int64)
        if self.reid is not None and frame is not None:
            return self._reidentify(tracked, raw_ids, frame)
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

    def _remember(self, tid: int, box: np.ndarray) -> None:
        self._last[tid] = (self._keyframe, box)
        self._heights[tid] = [*self._heights.get(tid, [])[-4:], float(box[3] - box[1])]

    def reset(self) -> None:
        self._tracker.reset()
        self._alias.clear()
        self._owner.clear()
        self._next_id = 0
        self._last.clear()
        self._heights.clear()
        self._colors.clear()
        self._keyframe = 0
        self._close.clear()
        self._hidden.clear()
        self._pending.clear()
        self._evidence.clear()
        self.renames = []
        if self.reid is not None:
            self.reid.forget(lambda t, s: False)
        self.reid_counts = dict.fromkeys(self.reid_counts, 0)
