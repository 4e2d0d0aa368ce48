"""Player IDs across keyframes: ByteTrack, plus stitching a lost player back to their ID."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backend.pipeline.detection import Detections
from backend.pipeline.reid import (
    Candidate,
    ReidConfig,
    Reidentifier,
    appearance,
    clean_boxes,
    feet_of,
)

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


class PlayerTracker:
    """ByteTrack (from ultralytics) fed only keyframe detections.

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
        self.reid = Reidentifier(reid, to_court) if reid else None
        self._team_of, self._team_of_colour = team_of, team_of_colour
        # (ID, ID) -> keyframe they were last close: a tracker may swap two people there.
        self._close: dict[tuple[int, int], int] = {}
        self.reid_counts = {"reid_matches": 0, "reid_swaps": 0}

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

    def _reidentify(self, tracked: Detections, raw_ids: np.ndarray, frame: np.ndarray):
        """IDs through re-identification: new tracks continue lost IDs that fit, and two IDs
        swapped in a crossing are swapped back (see reid.py)."""
        reid, now = self.reid, self._keyframe / self.keyframes_per_s
        boxes = tracked.xyxy.astype(np.float64)
        clean = clean_boxes(boxes, reid.cfg.clean_overlap_max)
        raws = raw_ids.tolist()
        # A ByteTrack track whose ID went to someone else by a stitch is new again.
        for raw in raws:
            if raw in self._alias and self._owner.get(self._alias[raw]) != raw:
                del self._alias[raw]
        present = {self._alias[r] for r in raws if r in self._alias}
        colours = tracked.data.get("color")
        cands = []
        for i, raw in enumerate(raws):
            if raw in self._alias:
                continue
            team = ""
            if clean[i] and colours is not None and self._team_of_colour is not None:
                team = self._team_of_colour(colours[i])
            cands.append(Candidate(i, boxes[i], frame, bool(clean[i]), team))
        lost = [t for t in self._last if t not in present]
        matches = reid.assign(cands, lost, now)
        for cand in cands:
            raw = raws[cand.key]
            tid = matches.get(cand.key)
            if tid is None:
                self._alias[raw] = self._new_id(raw)
            else:
                self._alias[raw], self._owner[tid] = tid, raw
                self.reid_counts["reid_matches"] += 1
        ids = [self._alias[r] for r in raws]
        # Each box as tall as its player: a partial one (legs hidden) is grown from the head.
        full = []
        for i, tid in enumerate(ids):
            known = max(self._heights.get(tid, [0.0]))
            box, partial = Candidate(i, boxes[i], frame, True).as_tall_as(known)
            clean[i] &= not partial
            full.append(box)
        looks = [appearance(frame, b) if clean[i] else None for i, b in enumerate(full)]
        self._swap_back(ids, raws, boxes, clean, looks)
        for i, tid in enumerate(ids):
            self._remember(tid, full[i])
            team = self._team_of(tid) if self._team_of is not None else ""
            height = float(full[i][3] - full[i][1])
            reid.observe(
                tid, now, reid.position(feet_of(full[i])), height, looks[i], bool(clean[i]), team
            )
        horizon = self._keyframe - reid.cfg.lost_max_s * self.keyframes_per_s
        for tid in [t for t, (kf, _) in self._last.items() if kf < horizon]:
            # Memory stays bounded on a long match: IDs gone too long cannot come back.
            self._last.pop(tid)
            self._heights.pop(tid, None)
        reid.forget(lambda t, _: t in self._last)
        tracked.tracker_id = np.array(ids, dtype=np.int64)
        return tracked

    def _swap_back(self, ids, raws, boxes, clean, looks) -> None:
        """Two IDs that were close and now stand clear with each other's look are swapped."""
        reid, kf = self.reid, self._keyframe
        window = reid.cfg.swap_window_s * self.keyframes_per_s
        near = _near_pairs(boxes)
        for i, j in near:
            self._close[tuple(sorted((ids[i], ids[j])))] = kf
        self._close = {p: k for p, k in self._close.items() if kf - k <= window}
        index = {tid: i for i, tid in enumerate(ids)}
        now_near = {tuple(sorted((ids[i], ids[j]))) for i, j in near}
        ready = [
            (a, b)
            for a, b in self._close
            if (a, b) not in now_near
            and a in index and b in index
            and clean[index[a]] and clean[index[b]]
            and a in reid.states and b in reid.states
        ]  # fmt: skip
        seen = {t: looks[index[t]] for pair in ready for t in pair if looks[index[t]] is not None}
        for a, b in reid.swaps(ready, seen):
            ia, ib = index[a], index[b]
            ra, rb = raws[ia], raws[ib]
            self._alias[ra], self._alias[rb] = b, a
            self._owner[a], self._owner[b] = rb, ra
            ids[ia], ids[ib] = b, a
            reid.swap_states(a, b)
            self.reid_counts["reid_swaps"] += 1
        for pair in ready:
            self._close.pop(pair, None)  # decided: look again only after the next encounter

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
        if self.reid is not None:
            self.reid.forget(lambda t, s: False)
        self.reid_counts = dict.fromkeys(self.reid_counts, 0)


def _near_pairs(boxes: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs of boxes that overlap or whose feet are within a box height."""
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap = min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
            fa = np.array([(a[0] + a[2]) / 2, a[3]])
            fb = np.array([(b[0] + b[2]) / 2, b[3]])
            height = max(a[3] - a[1], b[3] - b[1])
            if overlap or np.linalg.norm(fa - fb) < 0.5 * height:
                out.append((i, j))
    return out
