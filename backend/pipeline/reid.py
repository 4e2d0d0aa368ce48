"""Re-identification: a player who was hidden (behind others, or missed) keeps their ID.

Each published track keeps an appearance model (hue/saturation histograms of the shirt and
of the trousers, so lighting changes that only brighten or darken a kit barely move it) and
a motion state (feet in court metres when calibrated, else image pixels scaled by the
player's box height). Models only learn from clean boxes: whole (not legs only) and clear of
every other box, since a crop overlapping someone else is part someone else.

Two decisions use them (both pure functions of the state, numpy/OpenCV only):
- `assign`: new tracks against lost ones, by a combined cost (appearance distance, distance
  from where the lost player would be by now, gated by elapsed time x max speed), one owner
  per ID (Hungarian from scipy when installed, else greedy on the cheapest pairs).
- `should_swap`: two tracks that were close and now stand clear, whose appearances fit the other's
  model better than their own: the tracker swapped them in the crossing. Team-mates share a
  kit, so there each ID's stature (stature.py: how tall the player stands against everyone
  at that distance) tells them apart when their heights differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from backend.pipeline.stature import StatureScale

try:  # scipy is optional: the greedy fallback is exact for the usual one or two lost tracks.
    from scipy.optimize import linear_sum_assignment
except ImportError:  # pragma: no cover - depends on the environment
    linear_sum_assignment = None

# Regions of a person box (fractions of height, width): shirt and trousers.
SHIRT_ROWS, TROUSER_ROWS, BODY_COLS = (0.20, 0.48), (0.52, 0.80), (0.25, 0.75)
HUE_BINS = 12
# Pixels greyer than this (OpenCV saturation, 0-255) or darker than DARK_VALUE_MAX (value,
# 0-255) have no reliable hue: they are binned by brightness instead (white, grey, black kit).
SATURATION_GREY_MAX = 50
DARK_VALUE_MAX = 50
# Brightness of grey pixels is shared between a dark and a light bin in proportion between
# these values, so a kit in a darker corner slides between bins instead of jumping.
GREY_VALUE_RANGE = (60.0, 190.0)
BINS = HUE_BINS * 2 + 2
# Assumed height of a player in metres, to turn a speed in m/s into box heights per second
# when there is no calibration.
PLAYER_HEIGHT_M = 1.75
# Weight of the appearance distance in the combined cost (the rest is motion).
APPEARANCE_WEIGHT = 0.6
# Cost added for having been out of sight for the whole of reid_lost_max_s (less, sooner).
AGE_WEIGHT = 0.5
INFEASIBLE = 1e9
# Clean statures an ID must have shown before its stature is compared with anyone's.
STATURE_LOOKS_MIN = 3
# Clean looks a model must have learnt before a box unlike it is taken for someone else's:
# a new track's first crop can be an odd one (the legs alone, before the whole player was
# boxed), and one look is then the whole model.
MODEL_LOOKS_MIN = 4


@dataclass(frozen=True)
class ReidConfig:
    """What re-identification may do; see PipelineSettings for each reid_* setting."""

    max_speed_m_per_s: float = 7.0
    lost_max_s: float = 6.0
    appearance_distance_max: float = 0.45
    partial_distance_max: float = 0.6
    appearance_rate: float = 0.15
    clean_overlap_max: float = 0.05
    reach_slack_m: float = 1.0
    swap_margin: float = 0.12
    swap_window_s: float = 2.0
    misfit_keyframes: int = 2
    provisional_s: float = 2.0
    stature_tolerance: float = 0.2
    stature_misfit: float = 0.06


def appearance(frame: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """(2, BINS) normalised shirt and trouser histograms of `box`; None if it is too small."""
    fh, fw = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    c0, c1 = max(0, int(x1 + BODY_COLS[0] * w)), min(fw, int(x1 + BODY_COLS[1] * w))
    out = np.zeros((2, BINS), np.float32)
    for k, (a, b) in enumerate((SHIRT_ROWS, TROUSER_ROWS)):
        r0, r1 = max(0, int(y1 + a * h)), min(fh, int(y1 + b * h))
        if r1 - r0 < 2 or c1 - c0 < 2:
            return None
        hsv = cv2.cvtColor(frame[r0:r1, c0:c1], cv2.COLOR_BGR2HSV).reshape(-1, 3)
        hue, sat, val = (hsv[:, c].astype(np.float64) for c in range(3))
        grey = (sat <= SATURATION_GREY_MAX) | (val < DARK_VALUE_MAX)
        # OpenCV hue runs 0-179 (a circle); each pixel is shared between its two nearest hue
        # bins, so a hue near a bin edge does not flip bins with the lighting. Two saturation
        # levels keep a pale kit apart from a vivid one.
        pos = hue * HUE_BINS / 180.0 - 0.5
        low = np.floor(pos)
        frac = pos - low
        base = HUE_BINS * (sat > 128)
        lo_bin = (low.astype(np.int64) % HUE_BINS) + base
        hi_bin = ((low.astype(np.int64) + 1) % HUE_BINS) + base
        light = np.clip((val - GREY_VALUE_RANGE[0]) / np.diff(GREY_VALUE_RANGE)[0], 0, 1)
        colour = ~grey
        hist = np.bincount(lo_bin[colour], 1 - frac[colour], minlength=BINS)
        hist += np.bincount(hi_bin[colour], frac[colour], minlength=BINS)
        hist[2 * HUE_BINS] += float(np.sum(1 - light[grey]))
        hist[2 * HUE_BINS + 1] += float(np.sum(light[grey]))
        out[k] = hist / max(1e-9, hist.sum())
    return out


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean square of the regions' Hellinger distances: 0 same, 1 nothing in common.

    The root mean square, not the mean: two kits that differ only in the shirt (everyone in
    dark shorts) must still be far apart.
    """
    overlap = np.sqrt(np.clip(a, 0, None) * np.clip(b, 0, None)).sum(axis=1)
    return float(np.sqrt(np.mean(np.clip(1.0 - overlap, 0.0, 1.0))))


def clean_boxes(xyxy: np.ndarray, overlap_max: float) -> np.ndarray:
    """(N,) True where a box overlaps no other box by more than `overlap_max` of its area."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if len(boxes) < 2:
        return np.ones(len(boxes), bool)
    a, b = boxes[:, None], boxes[None]
    ix = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    iy = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-9)
    share = ix * iy / area[:, None]
    np.fill_diagonal(share, 0.0)
    return share.max(axis=1) <= overlap_max


@dataclass
class TrackState:
    """What re-identification knows of one published ID.

    Positions are feet, in court metres or image pixels. The box of a track in a crowd may be
    someone else's for a while (the tracker mixes people up there), so next to where it was
    last seen it keeps where it last stood clear of everyone, and moves only from those.
    """

    time_s: float
    position: np.ndarray
    height_px: float
    clean_time_s: float
    clean_position: np.ndarray
    velocity: np.ndarray  # per second, between clean sightings
    model: np.ndarray | None = None  # (2, BINS) running appearance from clean boxes
    team: str = ""
    born_s: float = 0.0
    # Clean keyframes in a row whose look did not fit the model: its box is someone else's.
    misfits: int = 0
    # Given afresh (no lost ID fitted) while its box was in a crowd or it was new: until
    # provisional_s after birth it may still turn out to be a lost ID once it stands clear.
    provisional: bool = False
    released_s: float | None = None  # when its box was last found to be someone else's
    looks: int = 0  # clean looks folded into the model
    model_height_px: float = 0.0  # tallest box the model learnt from
    stature: float | None = None  # running mean of clean whole boxes' statures
    stature_looks: int = 0

    def predicted(self, time_s: float) -> np.ndarray:
        # A walker behind others keeps walking; the prediction is capped at a second of it,
        # since nobody walks straight for long on a court.
        gap = min(1.0, max(0.0, time_s - self.clean_time_s))
        return self.clean_position + self.velocity * gap


# A box shorter than this share of its player's known height is partial: their legs are
# hidden behind someone nearer the camera (or cut by the detector), so its bottom edge is not
# the feet and its lower half is not the trousers.
PARTIAL_HEIGHT_FRAC = 0.8
# An unknown look (no clean box yet on one side) costs as much as one at the appearance gate:
# an ID that was never seen clear is a worse guess than one that looks a little different.
UNKNOWN_LOOK_COST = 1.0


@dataclass
class Candidate:
    """A new track to place: its box in the keyframe `frame`, and what team it looks like.

    `released_after_s`: when set (a provisional ID tried again), only an ID let go at or
    after this time (Reidentifier.release, once born) may be given: one lost the ordinary
    way was already tried when the provisional ID was born, and another try would be on
    motion alone, which between team-mates in one kit is the guess that went wrong.
    """

    key: int
    box: np.ndarray
    frame: np.ndarray
    clean: bool
    team: str = ""
    released_after_s: float | None = None

    @property
    def height_px(self) -> float:
        return float(self.box[3] - self.box[1])

    def as_tall_as(self, height_px: float) -> tuple[np.ndarray, bool]:
        """Its box grown down to `height_px` when it is a partial box of that player."""
        box = np.asarray(self.box, np.float64).copy()
        partial = self.height_px < PARTIAL_HEIGHT_FRAC * height_px
        if partial:
            box[3] = box[1] + height_px  # the head is what shows above the others
        return box, partial

    def hypotheses(self, height_px: float) -> list[tuple[np.ndarray, bool]]:
        """What a box shorter than its player may be: the head and shoulders above nearer
        people (grown down), or the legs the detector boxed alone (grown up: the feet are
        real). Both are tried; the one that fits the lost player better decides."""
        box, partial = self.as_tall_as(height_px)
        if not partial:
            return [(box, False)]
        up = np.asarray(self.box, np.float64).copy()
        up[1] = up[3] - height_px
        return [(box, True), (up, True)]


def feet_of(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, box[3]], np.float64)


class Reidentifier:
    """Keeps every published ID's state; `assign` and `should_swap` decide, the tracker applies."""

    def __init__(
        self, config: ReidConfig, to_court: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> None:
        self.cfg = config
        self.to_court = to_court  # pixels -> court metres; None: positions stay pixels
        self.metres = to_court is not None
        self.states: dict[int, TrackState] = {}
        self.scale = StatureScale()
        self.assigner: Callable = _hungarian if linear_sum_assignment is not None else _greedy

    def observe(
        self,
        tid: int,
        time_s: float,
        position: np.ndarray,
        height_px: float,
        look: np.ndarray | None,
        clean: bool,
        team: str = "",
        provisional: bool = False,
        stature: float | None = None,
    ) -> None:
        """`provisional`: `tid` was just given afresh (see TrackState.provisional);
        `stature`: of a clean whole box (stature.py), else None."""
        pos = np.asarray(position, np.float64)
        if not np.isfinite(pos).all():
            return
        st = self.states.get(tid)
        if st is None:
            model = look if clean else None
            self.states[tid] = TrackState(
                time_s, pos, height_px, time_s, pos, np.zeros(2), model, team, time_s,
                provisional=provisional, looks=int(model is not None),
                model_height_px=height_px if model is not None else 0.0,
                stature=stature if clean else None,
                stature_looks=int(clean and stature is not None),
            )  # fmt: skip
            return
        st.time_s, st.position, st.height_px = time_s, pos, height_px
        st.team = team or st.team
        if st.provisional and time_s - st.born_s > self.cfg.provisional_s:
            st.provisional = False
        if not clean or st.misfits:
            return  # a look that does not fit is someone else's: it teaches nothing
        dt = time_s - st.clean_time_s
        if 0 < dt <= 1.0:
            # Smoothed over a few keyframes: a box's feet jitter by a few pixels.
            st.velocity = 0.6 * st.velocity + 0.4 * (pos - st.clean_position) / dt
        elif dt > 1.0:
            st.velocity = np.zeros(2)  # after a long crowd, the old heading means nothing
        st.clean_time_s, st.clean_position = time_s, pos
        if stature is not None:
            # A plain mean over the first looks, then as slow to change as the look.
            st.stature_looks += 1
            rate = max(self.cfg.appearance_rate, 1.0 / st.stature_looks)
            old = stature if st.stature is None else st.stature
            st.stature = old + rate * (stature - old)
        if look is not None:
            rate = self.cfg.appearance_rate
            if st.model is None or height_px * PARTIAL_HEIGHT_FRAC > st.model_height_px:
                # First look, or the first whole box after boxes of the legs alone (whose
                # "shirt" was the trousers): the model starts afresh.
                st.model, st.looks = look.copy(), 0
            else:
                st.model = (1 - rate) * st.model + rate * look
            st.looks += 1
            st.model_height_px = max(st.model_height_px, height_px)

    def _reach(self, st: TrackState, gap_s: float) -> float:
        """How far (in position units) a player may get in `gap_s` seconds."""
        gap = max(0.0, gap_s)
        metres = self.cfg.reach_slack_m + self.cfg.max_speed_m_per_s * gap
        return metres if self.metres else metres * st.height_px / PLAYER_HEIGHT_M

    def position(self, feet_px: np.ndarray) -> np.ndarray:
        feet = np.asarray(feet_px, np.float64).reshape(1, 2)
        return (self.to_court(feet) if self.to_court is not None else feet)[0]

    def cost(self, st: TrackState, cand: Candidate, time_s: float) -> float:
        if st.team and cand.team and st.team != cand.team:
            return INFEASIBLE  # a team-mate may be mistaken for a team-mate, never a rival
        if cand.released_after_s is not None and not (
            st.released_s is not None and st.released_s >= cand.released_after_s
        ):
            return INFEASIBLE
        return min(
            self._cost(st, cand, box, partial, time_s)
            for box, partial in cand.hypotheses(st.height_px)
        )

    def _cost(
        self, st: TrackState, cand: Candidate, box: np.ndarray, partial: bool, time_s: float
    ) -> float:
        height = box[3] - box[1]
        if not self.metres and not 0.5 <= height / max(st.height_px, 1e-6) <= 2.0:
            return INFEASIBLE  # without a calibration the box height is the depth
        here = self.position(feet_of(box))
        # From where they last stood clear, or from where their box was last seen.
        motion = min(
            np.linalg.norm(here - st.predicted(time_s)) / self._reach(st, time_s - st.clean_time_s),
            np.linalg.norm(here - st.position) / self._reach(st, time_s - st.time_s),
        )
        if not motion <= 1.0:
            return INFEASIBLE
        look = appearance(cand.frame, box) if st.model is not None else None
        if look is None:
            scaled = UNKNOWN_LOOK_COST
        else:
            # A partial box's lower half is whoever hides the legs: compare the shirts only.
            # Someone else's head or arm is in it too: a looser gate, still one that a rival's
            # shirt does not pass.
            # A box taller than the player is them with someone behind (a head, a shirt)
            # boxed in: as mixed as an overlapped one.
            taller = cand.height_px * PARTIAL_HEIGHT_FRAC > st.height_px
            hidden = partial or not cand.clean or taller
            regions = slice(0, 1) if hidden else slice(0, 2)
            gate = self.cfg.partial_distance_max if hidden else self.cfg.appearance_distance_max
            dist = appearance_distance(st.model[regions], look[regions])
            if dist > gate:
                return INFEASIBLE
            scaled = dist / gate
            stature = self.scale.stature(box) if not hidden else None
            if stature is not None and self._stature(st) is not None:
                # Team-mates look alike: a box as tall as the ID's player is the better guess.
                scaled = max(scaled, self.stature_distance(st, stature))
        # The motion gate widens with time out of sight, which would make a long-lost ID the
        # cheapest: a player lost longer is less likely the one reappearing here.
        age = AGE_WEIGHT * min(1.0, max(0.0, time_s - st.time_s) / self.cfg.lost_max_s)
        return APPEARANCE_WEIGHT * scaled + (1 - APPEARANCE_WEIGHT) * motion + age

    def assign(self, candidates: list[Candidate], lost: list[int], time_s: float) -> dict[int, int]:
        """Candidate key -> lost ID it continues; one owner per ID, cheapest total cost."""
        lost = [
            t
            for t in lost
            if t in self.states and time_s - self.states[t].time_s <= self.cfg.lost_max_s
        ]
        if not candidates or not lost:
            return {}
        cost = np.array([[self.cost(self.states[t], c, time_s) for t in lost] for c in candidates])
        return {
            candidates[i].key: lost[j] for i, j in self.assigner(cost) if cost[i, j] < INFEASIBLE
        }

    def should_swap(
        self,
        a: int,
        b: int,
        looks: dict[int, np.ndarray],
        statures: dict[int, float | None] | None = None,
    ) -> bool:
        """Whether two IDs just out of a close encounter (both clean now) swap back, from
        this keyframe's looks and statures alone."""
        costs = self.pair_costs(a, b, looks, statures or {})
        return costs is not None and self.crossed(*costs)

    def pair_costs(
        self, a: int, b: int, looks: dict[int, np.ndarray], statures: dict[int, float | None]
    ) -> tuple[float, float] | None:
        """(kept, crossed): how unlike the two boxes are to the two IDs' models as labelled
        and swapped, by the looks and (when both IDs have shown their stature) statures;
        None while either model or look is missing."""
        sa, sb = self.states[a], self.states[b]
        if sa.model is None or sb.model is None or looks.get(a) is None or looks.get(b) is None:
            return None
        look = appearance_distance
        kept = look(sa.model, looks[a]) + look(sb.model, looks[b])
        crossed = look(sa.model, looks[b]) + look(sb.model, looks[a])
        now_a, now_b = statures.get(a), statures.get(b)
        if None not in (now_a, now_b, self._stature(sa), self._stature(sb)):
            kept += self.stature_distance(sa, now_a) + self.stature_distance(sb, now_b)
            crossed += self.stature_distance(sa, now_b) + self.stature_distance(sb, now_a)
        return kept, crossed

    def crossed(self, kept: float, crossed: float, keyframes: int = 1) -> bool:
        """Whether a pair's boxes fit the IDs swapped better, by the margin, than as labelled;
        `kept` and `crossed` may be means over `keyframes` keyframes, whose jitter (what the
        margin guards against) shrinks with the square root of their number."""
        return crossed + 2 * self.cfg.swap_margin / np.sqrt(max(1, keyframes)) < kept

    def _stature(self, st: TrackState) -> float | None:
        if self.cfg.stature_tolerance <= 0 or st.stature_looks < STATURE_LOOKS_MIN:
            return None
        return st.stature

    def stature_distance(self, st: TrackState, stature: float) -> float:
        """0 (as tall as the ID has stood) to 1 (stature_tolerance or more apart)."""
        return min(1.0, abs(stature - st.stature) / self.cfg.stature_tolerance)

    def swap_states(self, a: int, b: int) -> None:
        """After a swap the boxes change owner, the learnt models stay with the person."""
        sa, sb = self.states[a], self.states[b]
        motion = ("time_s", "position", "height_px", "clean_time_s", "clean_position", "velocity")
        for name in motion:
            va, vb = getattr(sa, name), getattr(sb, name)
            setattr(sa, name, vb)
            setattr(sb, name, va)

    def misfit(
        self, tid: int, look: np.ndarray | None, height_px: float, stature: float | None = None
    ) -> bool:
        """Counts a clean look that does not fit `tid`'s model (its colours, or a stature more
        than stature_misfit from the ID's); True once it has happened on misfit_keyframes
        clean keyframes in a row (the tracker moved the box to someone else: in another kit,
        or a team-mate of another height; one of the same height cannot be told apart)."""
        st = self.states.get(tid)
        if st is None or st.model is None or look is None or st.looks < MODEL_LOOKS_MIN:
            return False
        if height_px * PARTIAL_HEIGHT_FRAC > st.model_height_px:
            return False  # the model is of the legs alone: observe() starts it afresh
        known = self._stature(st)
        unlike_height = (
            stature is not None
            and known is not None
            and self.cfg.stature_misfit > 0
            and abs(stature - known) > self.cfg.stature_misfit
        )
        if (
            appearance_distance(st.model, look) <= self.cfg.appearance_distance_max
            and not unlike_height
        ):
            st.misfits = 0
            return False
        st.misfits += 1
        return st.misfits >= self.cfg.misfit_keyframes

    def release(self, tid: int) -> None:
        """`tid`'s box was someone else's since it last stood clear in its own look: it is
        lost from there, so it can be given back to its player when they reappear."""
        st = self.states[tid]
        st.released_s = st.time_s
        st.time_s, st.position, st.misfits = st.clean_time_s, st.clean_position, 0
        st.provisional = False

    def forget(self, keep: Callable[[int, TrackState], bool]) -> None:
        self.states = {t: s for t, s in self.states.items() if keep(t, s)}


def _hungarian(cost: np.ndarray) -> list[tuple[int, int]]:
    rows, cols = linear_sum_assignment(cost)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def _greedy(cost: np.ndarray) -> list[tuple[int, int]]:
    pairs, rows, cols = [], set(), set()
    for flat in np.argsort(cost, axis=None, kind="stable"):
        i, j = (int(v) for v in np.unravel_index(flat, cost.shape))
        if i in rows or j in cols:
            continue
        rows.add(i)
        cols.add(j)
        pairs.append((i, j))
    return pairs
