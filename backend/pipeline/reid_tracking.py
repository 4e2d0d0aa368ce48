"""PlayerTracker's IDs with re-identification on: reid.py decides, this applies to the IDs.

Each keyframe, in this order:
1. two IDs out of a close encounter that each look like the other are swapped back;
2. an ID whose box, standing clear, has not looked like its player for a few keyframes
   (ByteTrack moved it to someone in the other kit inside a crowd), or whose track ByteTrack
   found again on a rival's box, lets the box go and is lost from where it last stood clear
   in its own look, so its player can take it back;
3. new ByteTrack tracks and boxes let go are matched to lost IDs, one owner per ID, and
   provisional IDs (given afresh a moment ago) now standing clear to IDs let go since their
   birth; a provisional ID matched so was that player all along and is retired;
4. an ID that vanished beside others is hidden behind them: their statures learn nothing
   until it is back, and then the pair is decided like one out of an encounter (step 1).

Every such decision is also kept in `renames` (what the IDs should have been since some
keyframe), which the engine applies to the frames it still holds (about a second, the ball
path's delay) before writing them: the wrong ID then never reaches tracks.csv there.
"""

from __future__ import annotations

import numpy as np

from backend.pipeline.detection import Detections
from backend.pipeline.reid import (
    PARTIAL_HEIGHT_FRAC,
    Candidate,
    appearance,
    clean_boxes,
    feet_of,
)

# Most clean keyframes apart over which a hidden ID back beside its cover is compared with it.
HIDDEN_PAIR_LOOKS = 3
# A rename: (MOVE, old, new, keyframe) gives `old`'s boxes after that keyframe to `new`;
# (SWAP, a, b, keyframe) swaps the two IDs after it.
MOVE, SWAP = "move", "swap"
# A box moved onto an ID whose own box is there is that person's second box when this much of
# the smaller of the two lies inside the other (a legs-only box inside the whole one).
ONE_PERSON_OVERLAP_MIN = 0.5


class ReidTracking:
    """Mixed into PlayerTracker, whose ID tables (_alias, _owner, _last, _heights) it shares."""

    def take_renames(self) -> list[tuple[str, int, int, int]]:
        """The renames decided since the last call (see the module's docstring)."""
        out, self.renames = self.renames, []
        return out

    def _keyframe_of(self, time_s: float) -> int:
        return round(time_s * self.keyframes_per_s)

    def _reidentify(self, tracked: Detections, raw_ids: np.ndarray, frame: np.ndarray):
        reid, now = self.reid, self._keyframe / self.keyframes_per_s
        boxes = tracked.xyxy.astype(np.float64)
        apart = clean_boxes(boxes, reid.cfg.clean_overlap_max)
        raws = raw_ids.tolist()
        # A ByteTrack track whose ID went to someone else by a re-identification is new again.
        for raw in raws:
            if raw in self._alias and self._owner.get(self._alias[raw]) != raw:
                del self._alias[raw]
        ids: list[int | None] = [self._alias.get(r) for r in raws]
        views = [self._view(frame, boxes[i], tid, apart[i]) for i, tid in enumerate(ids)]
        colours = tracked.data.get("color")
        before = {t: box for t, (kf, box) in self._last.items() if kf == self._keyframe - 1}
        self._swap_back(ids, raws, boxes, views)
        released: dict[int, tuple[int, int]] = {}  # box index -> (ID let go, since keyframe)
        for i, tid in enumerate(ids):
            full = views[i][0]
            stature = reid.scale.stature(full) if views[i][1] else None
            if tid is None:
                continue
            refused = self._refound_on_rival(tid, views[i][1], colours, i)
            if refused or reid.misfit(tid, views[i][2], float(full[3] - full[1]), stature):
                reid.release(tid)
                del self._alias[raws[i]]
                self._owner.pop(tid, None)
                ids[i] = None
                released[i] = (tid, self._keyframe_of(reid.states[tid].clean_time_s))
                self.reid_counts["reid_refusals" if refused else "reid_releases"] += 1
        fresh = self._place(ids, raws, boxes, apart, colours, frame, now)
        for i, (old, since) in released.items():
            # Its box since it last stood clear in its own look was the one now placed.
            self.renames.append((MOVE, old, ids[i], since))
        for i in fresh | {i for i, tid in enumerate(ids) if views[i][3] != tid}:
            views[i] = self._view(frame, boxes[i], ids[i], apart[i])
        frozen = self._hide_and_seek(before, ids)
        for i, tid in enumerate(ids):
            full, clean, look, _ = views[i]
            self._remember(tid, full)
            team = self._team_of(tid) if self._team_of is not None else ""
            reid.observe(
                tid, now, reid.position(feet_of(full)), float(full[3] - full[1]), look, clean,
                team, provisional=i in fresh,
                stature=reid.scale.stature(full) if clean and tid not in frozen else None,
            )  # fmt: skip
        # After this keyframe's statures: a box does not move the line it is measured by.
        reid.scale.learn(np.array([v[0] for v in views if v[1]]), now)
        horizon = self._keyframe - reid.cfg.lost_max_s * self.keyframes_per_s
        for tid in [t for t, (kf, _) in self._last.items() if kf < horizon]:
            # Memory stays bounded on a long match: IDs gone too long cannot come back.
            self._last.pop(tid)
            self._heights.pop(tid, None)
        reid.forget(lambda t, _: t in self._last)
        tracked.tracker_id = np.array(ids, dtype=np.int64)
        return tracked

    def _refound_on_rival(self, tid, clean, colours, i) -> bool:
        """Whether a ByteTrack track found again after a keyframe or more out of sight is on
        a clean box in the other team's kit; such an ID is let go at once, like one whose box
        stopped looking like it, as re-identification never gives an ID to a rival either.

        ByteTrack finds a lost track again on its predicted motion alone, so a player walking
        out from behind a rival could take the rival's lost track and, with it, the rival's
        ID (wide shot pan seed 5: a team-B ID on a team-A player for 27 frames). The team
        alone decides, not the look: in a crowd an ID's look can have learnt a neighbour's
        colours, and refusing on it gave the harder 720p clip 2.9 identities per player
        instead of 2.5."""
        last, st = self._last.get(tid), self.reid.states.get(tid)
        if last is None or st is None or not st.team or last[0] >= self._keyframe - 1:
            return False
        if not clean or colours is None or self._team_of_colour is None:
            return False
        team = self._team_of_colour(colours[i])
        return bool(team) and team != st.team

    def _hide_and_seek(self, before: dict[int, np.ndarray], ids: list[int | None]) -> set[int]:
        """The IDs whose statures must not learn now: their boxes may be someone else's.

        An ID that vanished beside others (its last box near theirs) is hidden behind them,
        and their box may be either player until it reappears. Such a box standing clear
        passes for clean, and folding a team-mate's stature into the nearer player's made
        the two IDs alike: neither the misfit test nor the swap back could then tell them
        apart when the hidden one came out (wide shot seed 4: a player behind a team-mate
        4 % shorter for 2 s, the nearer one's ID moving to them). So the covers' statures
        stay as they were while the hidden player is away, and once it is back the pair is
        compared by them over the first clean keyframes the two stand apart (`_swap_back`),
        however long the encounter took. Looks and motion still learn: freezing them too
        let the misfit test release IDs on odd boxes (three wide shots lost more identities
        than it saved).
        """
        kf, keep = self._keyframe, self.reid.cfg.lost_max_s * self.keyframes_per_s
        present = {t for t in ids if t is not None}
        for tid in before.keys() - present:
            covers = {
                t for t in before.keys() & present if t != tid and _near(before[tid], before[t])
            }
            if covers:
                self._hidden[tid] = (covers, kf)
        for tid in list(self._hidden):
            covers, since = self._hidden[tid]
            if tid in present:
                del self._hidden[tid]
                for cover in covers & present:
                    pair = (min(tid, cover), max(tid, cover))
                    self._close[pair] = kf
                    self._pending[pair] = kf
            elif kf - since > keep:
                del self._hidden[tid]
        self._pending = {p: k for p, k in self._pending.items() if kf - k <= keep}
        self._evidence = {p: e for p, e in self._evidence.items() if p in self._pending}
        frozen = {t for covers, _ in self._hidden.values() for t in covers}
        return frozen | {t for pair in self._pending for t in pair}

    def _view(self, frame: np.ndarray, box: np.ndarray, tid: int | None, apart: bool):
        """(box as tall as its player, clean?, look or None, tid) of one box.

        A partial box clear of everyone is the legs the detector boxed alone, so it is grown
        up from the feet; one overlapped by another box has its legs hidden behind a nearer
        player, so it is grown down from the head. Only a whole box (neither shorter nor
        taller than its player) clear of every other one is clean: its look is its player's
        alone."""
        known = max(self._heights.get(tid, [0.0])) if tid is not None else 0.0
        hypotheses = Candidate(0, box, frame, bool(apart)).hypotheses(known)
        full, partial = hypotheses[-1] if apart else hypotheses[0]
        # Taller than the player: someone behind them is boxed in too.
        taller = (box[3] - box[1]) * PARTIAL_HEIGHT_FRAC > known > 0
        clean = bool(apart) and not partial and not taller
        return full, clean, appearance(frame, full) if clean else None, tid

    def _place(self, ids, raws, boxes, apart, colours, frame, now) -> set[int]:
        """Gives every box without an ID one (a lost one that fits, else a fresh one) and
        tries provisional IDs standing clear against the lost ones; returns the indices of
        the boxes given a fresh ID."""
        reid = self.reid
        cands = []
        for i, tid in enumerate(ids):
            team = ""
            if apart[i] and colours is not None and self._team_of_colour is not None:
                team = self._team_of_colour(colours[i])
            if tid is None:
                cands.append(Candidate(i, boxes[i], frame, bool(apart[i]), team))
                continue
            st = reid.states.get(tid)
            if st is not None and st.provisional and apart[i]:
                cands.append(Candidate(i, boxes[i], frame, True, team, released_after_s=st.born_s))
        present = {t for t in ids if t is not None}
        matches = reid.assign(cands, [t for t in self._last if t not in present], now)
        fresh = set()
        for cand in cands:
            i, raw = cand.key, raws[cand.key]
            tid = matches.get(i)
            if tid is None:
                if ids[i] is None:
                    ids[i] = self._alias[raw] = self._new_id(raw)
                    fresh.add(i)
                continue
            if ids[i] is not None:
                born = self._keyframe_of(reid.states[ids[i]].born_s)
                self.renames.append((MOVE, ids[i], tid, born - 1))
                self._retire(ids[i])
                self.reid_counts["reid_merges"] += 1
            else:
                self.reid_counts["reid_matches"] += 1
            self._alias[raw], self._owner[tid], ids[i] = tid, raw, tid
        return fresh

    def _retire(self, tid: int) -> None:
        """A provisional ID found to be a lost player's: it is not handed out again."""
        self._last.pop(tid, None)
        self._heights.pop(tid, None)
        self._owner.pop(tid, None)
        self.reid.states.pop(tid, None)

    def _swap_back(self, ids, raws, boxes, views) -> None:
        """Two IDs that were close and now stand clear with each other's look are swapped."""
        reid, kf = self.reid, self._keyframe
        window = reid.cfg.swap_window_s * self.keyframes_per_s
        near = [(i, j) for i, j in _near_pairs(boxes) if ids[i] is not None and ids[j] is not None]
        for i, j in near:
            self._close[tuple(sorted((ids[i], ids[j])))] = kf
        self._close = {
            p: k for p, k in self._close.items() if kf - k <= window or p in self._pending
        }
        index = {tid: i for i, tid in enumerate(ids) if tid is not None}
        now_near = {tuple(sorted((ids[i], ids[j]))) for i, j in near}
        ready = [
            (a, b)
            for a, b in self._close
            if (a, b) not in now_near
            and a in index and b in index
            and views[index[a]][1] and views[index[b]][1]
            and a in reid.states and b in reid.states
        ]  # fmt: skip
        seen = {t: views[index[t]][2] for pair in ready for t in pair}
        statures = {t: reid.scale.stature(views[index[t]][0]) for t in seen}
        decided = []
        for a, b in ready:
            if (a, b) in self._pending:
                # A hidden ID back beside its cover: one keyframe's statures jitter by about
                # 2 %, as much as team-mates differ (wide shot seed 4: 1.2 % apart at the
                # first keyframe, 4 % true), so the mean of up to a few clean keyframes apart
                # decides. A clear swap (a rival's kit) is not kept waiting: the misfit test
                # would let both boxes go first, and each would start a fresh ID.
                total = self._evidence.setdefault((a, b), np.zeros(3))
                costs = reid.pair_costs(a, b, seen, statures)
                if costs is not None:
                    total += (*costs, 1.0)
                n = int(total[2])
                swap = n > 0 and reid.crossed(total[0] / n, total[1] / n, n)
                if not swap and n < HIDDEN_PAIR_LOOKS:
                    continue
                # The boxes may have changed owners while the hidden one was away: from the
                # keyframe it came back on (a rename applies after the keyframe it names).
                since = self._pending[(a, b)] - 1
            else:
                swap = reid.should_swap(a, b, seen, statures)
                # Both were themselves when they last stood clear, before the encounter.
                since = self._keyframe_of(
                    max(reid.states[a].clean_time_s, reid.states[b].clean_time_s)
                )
            decided.append((a, b))
            if not swap:
                continue
            self.renames.append((SWAP, a, b, since))
            ia, ib = index[a], index[b]
            ra, rb = raws[ia], raws[ib]
            self._alias[ra], self._alias[rb] = b, a
            self._owner[a], self._owner[b] = rb, ra
            ids[ia], ids[ib] = b, a
            reid.swap_states(a, b)
            self.reid_counts["reid_swaps"] += 1
        for pair in decided:
            self._close.pop(pair, None)  # decided: look again only after the next encounter
            self._pending.pop(pair, None)
            self._evidence.pop(pair, None)


def relabel(frames, last_seen: dict, renames, first_frame) -> None:
    """Applies the renames decided at one keyframe to buffered frames (objects with `index`
    and a `players` dict keyed by ID) and to `last_seen` (ID -> (frame index, ...)); a rename
    naming keyframe K applies from frame `first_frame(K)` on.

    The MOVEs of one keyframe name the IDs as they were before it, so they apply at once, not
    one after another: two IDs let go together and placed on each other's boxes are a swap,
    which one by one lost a box of each (wide shot seed 4, 24 frames).

    A box moved onto an ID whose own box stays in that frame was not that ID's player, who
    was in their own box: the rename reached back too far, and the box keeps its ID there.
    Dropping it lost a real player for 20 frames around a catch (wide shot seed 5, in a
    try at `_refound_on_rival`). Only a box mostly inside the other is dropped: the two were
    one person's boxes (values are (box, ...) tuples)."""
    moves = []
    for kind, a, b, keyframe in renames:
        if a == b:
            continue
        start = first_frame(keyframe)
        if kind == SWAP:
            _swap(frames, last_seen, a, b, start)
        else:
            moves.append((a, b, start))
    if not moves:
        return
    for st in frames:
        now = {a: b for a, b, start in moves if st.index >= start and a in st.players}
        if not now:
            continue
        moved = {a: st.players.pop(a) for a in now}
        for a, held in moved.items():
            own = st.players.get(now[a])
            if own is None:
                st.players[now[a]] = held
            elif not _one_person(own[0], held[0]):
                st.players[a] = held
    seen = {a: b for a, b, start in moves if a in last_seen and last_seen[a][0] >= start}
    popped = {a: last_seen.pop(a) for a in seen}
    for a, b in seen.items():
        if b not in last_seen or last_seen[b][0] < popped[a][0]:
            last_seen[b] = popped[a]


def _swap(frames, last_seen: dict, a: int, b: int, start: int) -> None:
    for st in frames:
        if st.index >= start:
            pa, pb = st.players.pop(a, None), st.players.pop(b, None)
            st.players.update({k: v for k, v in ((a, pb), (b, pa)) if v is not None})
    sa, sb = last_seen.pop(a, None), last_seen.pop(b, None)
    last_seen.update({k: v for k, v in ((a, sb), (b, sa)) if v is not None})


def _one_person(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the smaller box lies mostly inside the other (ONE_PERSON_OVERLAP_MIN)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy >= ONE_PERSON_OVERLAP_MIN * max(smaller, 1e-9)


def _near(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boxes overlap or their feet are within half a box height."""
    overlap = min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
    fa = np.array([(a[0] + a[2]) / 2, a[3]])
    fb = np.array([(b[0] + b[2]) / 2, b[3]])
    return bool(overlap or np.linalg.norm(fa - fb) < 0.5 * max(a[3] - a[1], b[3] - b[1]))


def _near_pairs(boxes: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs of boxes that are `_near`."""
    return [
        (i, j)
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if _near(boxes[i], boxes[j])
    ]
