"""Ball candidates the detector does not see: small moving blobs against a running background.

In a wide shot the ball is 5-12 px wide and blurred, and the COCO "sports ball" class rarely
fires on it. Everything that moves differs from a background kept as a running average of
the keyframes (moved by whole pixels to follow a panning camera, measured by phase
correlation outside the players' boxes; restarted when it jumps), and the ball is a blob of
that difference of the right size and shape. The difference tolerates a pixel of
misalignment: a pixel changed only if it lies outside the background's range over its 3x3
neighbourhood, so line edges a subpixel pan leaves do not. Once the ball's colour is known
(ball_colour.py: from detector hits and from pairs of blobs flying clear of every player, each
also looked at with its faint rim: a ball blurred over a floor of a like colour differs fully
only at its core, which alone is too small), only pixels of that colour count, which also finds
the ball in a player's hands, where it joins the player's own difference.

What must not win, and why it does not:
- court lines and the stands do not move, so they are part of the background;
- heads and shoes move with a player: before the colour is known only blobs clear of every
  player's box count; afterwards a blob in a player's head or feet band must match the
  ball's colour (skin and shoes do not);
- court lines uncovered by a passing player, white shoes and socks are grey or white: a
  candidate needs `ball_colour_chroma_min_lab` of colour (0 lets a white ball through);
- compression shimmer along court lines changes pixels but not their colour: a candidate's
  mean colour must differ from the background's behind it by `ball_contrast_min_lab`;
- a blob clear of the players' boxes must have little else that changed around it: pieces
  of a player the detector missed are surrounded by the rest of that player; it teaches the
  colour only with another of that colour a keyframe or two away that moved like a flying
  ball (the edge of a missed player, while the first background still holds them, walks);
- a blob much larger or smaller than the expected ball, or long and thin (a limb, a line
  edge), fails the size and roundness tests (on the smallest box at any angle, so a ball
  smeared diagonally is not taken for a thin blob). The expected width comes from the court scale
  at the blob's image position when the court is calibrated (`ball_diameter_m` times the
  image's horizontal pixels per metre of floor there) unless that disagrees with the players'
  box heights by more than `ball_scale_disagreement_max`, else from the players' heights.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import cv2
import numpy as np

from backend.pipeline.ball_background import RunningBackground, shifted, tolerant_difference
from backend.pipeline.ball_colour import BallColour, lab_of
from backend.pipeline.ball_scale import (
    BALL_TO_PLAYER_HEIGHT,
    court_scale_px_per_m,
    expected_ball_width_px,
)
from backend.pipeline.detection import BALL, Detections
from backend.pipeline.settings import PipelineSettings
from backend.pipeline.view import ViewTransformer

# A blob clear of every player's box is a ball in the air only if, within this many ball
# widths around it, at most this share of the pixels also changed (else it is a piece of
# a player the detector missed).
# 1.5 widths caught the passer's own arm on wide shots (players 80-110 px tall, the ball
# released within a ball width of the hand), so no flight taught the colour there.
ISOLATION_PAD_WIDTHS = 1.0
ISOLATION_SHARE_MAX = 0.08
# Two blobs alone on the floor, up to FLIGHT_PAIR_KEYFRAMES_MAX keyframes apart, fly when
# they moved FLIGHT_STEP_MIN_WIDTHS to FLIGHT_STEP_MAX_WIDTHS ball widths per keyframe. At
# the default stride (3 frames at 25 fps, 0.12 s) a 0.23 m ball covers 0.5 widths per m/s:
# a walking player's edge (1.6 m/s) under 1, a generated pass 3, a hard real one 6-8; a
# sprinting player (7 m/s) overlaps, and the colour agreement and isolation must hold too.
FLIGHT_PAIR_KEYFRAMES_MAX = 2
FLIGHT_STEP_MIN_WIDTHS = 1.5
FLIGHT_STEP_MAX_WIDTHS = 15.0
# The head band and feet band of a player's box, as fractions of its height.
HEAD_BAND_FRAC = 0.16
FEET_BAND_FRAC = 0.12
# Blobs clear of a player's box widened by this fraction of its width teach the ball colour.
CLEAR_MARGIN_FRAC = 0.3
# A blob's faint rim (ball_motion_grow_diff_min) reaches this far from its core: a flight's
# blur spreads a 5-12 px ball by a pixel or two.
RIM_GROW_PX = 2
_RIM_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RIM_GROW_PX + 1,) * 2)
# Teaching flights remembered (one keyframe's search finds one or two at most).
FLIGHTS_KEPT = 8
# Size window around the expected ball width; a blurred ball is longer, so the long side may
# reach BLOB_LONG_MAX times the expected width.
BLOB_SHORT_MIN = 0.3
BLOB_LONG_MIN = 0.4
BLOB_LONG_MAX = 2.6
# Labelling the changed pixels is the search's dearest step when the ball is lost and the
# whole frame is searched (compression noise makes hundreds of blobs). With its statistics,
# OpenCV's default (Spaghetti) took 6 ms a 720p mask on one thread here, BBDT 2.5-3.2 ms for
# the same labels and statistics (benchmarks/README.md, issue 13's seventh round).
COMPONENTS_ALGORITHM = cv2.CCL_BBDT


class _Blob(NamedTuple):
    box: tuple[int, int, int, int]
    score: float  # 0-1: fit of its size and roundness to the expected ball
    centre: np.ndarray
    sample: np.ndarray  # mean CIELAB colour of its core
    width: float  # expected ball width there, px
    isolated: bool  # clear of every player, with floor around it


class MotionBallCandidates:
    """Finds ball-sized moving blobs; `find` is called once per keyframe."""

    def __init__(self, settings: PipelineSettings, view: ViewTransformer | None = None) -> None:
        self.s = settings
        self.view = view
        self.scene = RunningBackground(settings)
        self.colour = BallColour(settings)
        # Blobs alone on the floor in the last keyframes: (keyframe, centre, CIELAB colour).
        self._alone: list[tuple[int, np.ndarray, np.ndarray]] = []
        # The last pairs that taught the colour, ((keyframe, centre, colour) before, then
        # now) with centres in the current keyframe's image, and how many ever did: what
        # ball_prelearn.py checks against the players. Bounded: a long match keeps the last few.
        self.flights: deque[tuple[tuple[int, np.ndarray, np.ndarray], ...]] = deque(
            maxlen=FLIGHTS_KEPT
        )
        self.flights_taught = 0
        self.searches = 0
        # A player's typical height in pixels, for the ball's expected size when a search is
        # given no players (ball_prelearn.py looks without them first).
        self.player_height_px: float | None = None

    @property
    def background(self) -> np.ndarray | None:
        return self.scene.background

    @property
    def camera_resets(self) -> int:
        return self.scene.camera_resets

    @property
    def offset(self) -> np.ndarray:
        """Whole pixels the background has been moved by to follow the camera, in all."""
        return self.scene.offset

    def update_background(self, image: np.ndarray, players_xyxy: np.ndarray | None = None) -> bool:
        """Follow the camera and fold this keyframe into the background; False after a jump
        (a cut: nothing is found in this keyframe)."""
        ok = self.scene.update(image, players_xyxy)
        if not ok:
            self._alone = []
        elif self.scene.step != (0, 0):
            self._alone = [(k, c + self.scene.step, lab) for k, c, lab in self._alone]
        return ok

    def find(
        self,
        image: np.ndarray,
        players_xyxy: np.ndarray,
        predicted: np.ndarray | None,
        background_ok: bool,
        learn: bool = True,
    ) -> Detections:
        """Ball candidates in this keyframe (near `predicted` when the path is known);
        `learn` False for an earlier keyframe looked at again (nothing is learnt from it)."""
        if not background_ok or self.background is None:
            return Detections.empty()
        self.searches += 1
        h, w = image.shape[:2]
        x0, y0, x1, y1 = 0, 0, w, h
        if predicted is not None:
            half = self.s.ball_motion_search_px // 2
            cx = int(np.clip(predicted[0], half, max(half, w - half)))
            cy = int(np.clip(predicted[1], half, max(half, h - half)))
            x0, y0 = max(0, cx - half), max(0, cy - half)
            x1, y1 = min(w, cx + half), min(h, cy + half)
        region = image[y0:y1, x0:x1]
        diff = tolerant_difference(region, self.background, (x0, y0, x1, y1))
        changed = diff >= self.s.ball_motion_diff_min
        mask = changed.copy()
        grow = self.s.ball_motion_grow_diff_min
        grow = grow if 0 < grow < self.s.ball_motion_diff_min else None
        weak = None
        colour = self.colour.lab
        if colour is not None and changed.any():
            # Only the changed pixels: converting the whole region to CIELAB cost as much as
            # the rest of the search when the path is lost and the region is the frame.
            # (None changed: OpenCV refuses an empty image; the mask is empty already.)
            ys, xs = np.nonzero(changed)
            lab = lab_of(region[ys, xs].reshape(-1, 1, 3)).reshape(-1, 3)
            mask[ys, xs] = (
                np.linalg.norm(lab - colour, axis=1) <= self.s.ball_colour_distance_max_lab
            )
        elif self.scene.prev_aligned is not None:
            # Also changed since the last keyframe: a player who stood where the running
            # background still remembers them leaves a ghost that differs from it, not from
            # the last keyframe.
            moved = tolerant_difference(region, self.scene.prev_aligned, (x0, y0, x1, y1))
            mask &= moved >= self.s.ball_motion_diff_min
            if grow is not None:
                weak = (diff >= grow) & (moved >= grow)
        look = (region, (x0, y0), changed, players_xyxy, h, colour)
        blobs = self._blobs(mask, mask, *look)
        teachers = list(blobs)
        if weak is not None:
            # A ball blurred by its flight over a floor of a like colour differs that much
            # only at its core, too small for a ball; with its fainter rim it is whole again.
            # Such blobs only teach the colour, in flying pairs: as candidates, one on a
            # missed player's faint edge drew the search away from the real flight, and
            # once the colour is known, rims around floor pixels of about its colour passed
            # for balls (generated pans, seeds 3 and 9).
            # Only blobs clear of the players can teach: the rest are not grown, which also
            # keeps the cost down (most of what moves is players).
            seeds = _off_players(mask, players_xyxy, (x0, y0))
            seen = [b.centre for b in blobs]
            teachers += [
                b
                for b in self._blobs(_grown(seeds, weak), seeds, *look)
                if all(np.linalg.norm(b.centre - c) > b.width for c in seen)
            ]
        if learn:
            self._learn_from_flights(
                [(b.centre, b.sample, b.width) for b in teachers if b.isolated], colour
            )
        if not blobs:
            return Detections.empty()
        return Detections(
            np.array([b.box for b in blobs]),
            np.array([b.score * self.s.ball_motion_conf for b in blobs]),
            np.full(len(blobs), BALL),
        )

    def _blobs(
        self,
        mask: np.ndarray,
        core_mask: np.ndarray,
        region: np.ndarray,
        origin: tuple[int, int],
        changed: np.ndarray,
        players_xyxy: np.ndarray,
        frame_height: int,
        colour: np.ndarray | None,
    ) -> list[_Blob]:
        """The blobs of `mask` (over `region`, whose top left is `origin` in the frame) that
        pass for the ball; their colour is measured on `core_mask`'s pixels alone."""
        x0, y0 = origin
        _, labels, stats, centroids = cv2.connectedComponentsWithStatsWithAlgorithm(
            mask.view(np.uint8), 8, cv2.CV_32S, COMPONENTS_ALGORITHM
        )
        out: list[_Blob] = []
        # Size and fill first, for all blobs at once: compression noise makes thousands.
        bws, bhs, areas = stats[:, 2], stats[:, 3], stats[:, 4]
        centres = centroids + np.array([x0, y0])  # in the frame
        widths = self.expected_widths_px(centres, players_xyxy, frame_height)
        longs, shorts = np.maximum(bws, bhs), np.minimum(bws, bhs)
        # Loose enough for a streak at any angle (its upright box is up to twice as long and
        # as wide as the streak's own); the exact test on the turned box follows.
        fits = (
            (longs >= BLOB_LONG_MIN * widths / np.sqrt(2))
            & (longs <= 2 * BLOB_LONG_MAX * widths)
            & (shorts >= BLOB_SHORT_MIN * widths / np.sqrt(2))
            & (areas >= self.s.ball_blob_fill_min * (BLOB_SHORT_MIN * widths) ** 2)
        )
        fits[0] = False  # label 0 is the unchanged rest
        if mask is not core_mask:
            # A blob its rim did not grow was looked at already, as a plain one; a piece of
            # rim cut off from its core (by a pixel under the threshold) has no colour.
            cores = np.bincount(labels[core_mask], minlength=len(stats))
            fits &= (cores > 0) & (cores < areas)
        if colour is None:
            # Before the colour is known only blobs clear of the players count (see below);
            # ruled out here for all at once, before the dear test of each blob's shape: on
            # a noisy 720p frame most blobs that fit in size are on a player.
            fits &= _clear_of_all(centres, players_xyxy)
            # Nor does a blob with more changed around it. Its own changed pixels: all of
            # them, but for the faint rim a grown blob adds.
            own_changed = areas
            if mask is not core_mask:
                own_changed = areas - np.bincount(labels[mask & ~changed], minlength=len(stats))
            fits[fits] &= _isolated_many(changed, stats[fits], widths[fits], own_changed[fits])
        for i in np.flatnonzero(fits).tolist():
            bx, by, bw, bh, area = stats[i]
            ball_w = float(widths[i])
            blob = labels[by : by + bh, bx : bx + bw] == i
            long_side, short_side = _turned_sides(blob)
            if not (
                BLOB_LONG_MIN * ball_w <= long_side <= BLOB_LONG_MAX * ball_w
                and short_side >= BLOB_SHORT_MIN * ball_w
                and area >= self.s.ball_blob_fill_min * long_side * short_side
            ):
                continue
            centre = centres[i]
            where = _place(centre, players_xyxy)
            if colour is None and where != "clear":
                continue  # before the colour is known, a blob on a player may be any part
            # Clear of the boxes yet not alone: a piece of a player the detector missed. Once
            # the colour is known that piece has passed the colour test: the ball in the hands
            # of a player the detector missed; it just does not teach the colour.
            inside = int(changed[by : by + bh, bx : bx + bw][blob].sum())
            isolated = where == "clear" and _isolated(changed, stats[i], ball_w, inside)
            if colour is None and not isolated:
                continue
            core = blob & core_mask[by : by + bh, bx : bx + bw]
            sample = lab_of(region[by : by + bh, bx : bx + bw])[core].mean(axis=0)
            behind = lab_of(self.background[y0 + by : y0 + by + bh, x0 + bx : x0 + bx + bw])
            if np.linalg.norm(sample - behind[core].mean(axis=0)) < self.s.ball_contrast_min_lab:
                continue  # the same colour as what was there: compression shimmer on a line
            if np.hypot(sample[1] - 128, sample[2] - 128) < self.s.ball_colour_chroma_min_lab:
                continue  # grey or white: a court line uncovered by a passing player, a shoe
            size_fit = 1.0 - min(1.0, abs(np.sqrt(area) / (0.89 * ball_w) - 1.0))
            roundness = area / (np.pi / 4 * long_side * short_side)
            score = float(np.clip(0.5 * size_fit + 0.5 * min(1.0, roundness), 0, 1))
            box = (bx + x0, by + y0, bx + x0 + bw, by + y0 + bh)
            out.append(_Blob(box, score, centre, sample, ball_w, isolated))
        return out

    def _learn_from_flights(
        self, flying: list[tuple[np.ndarray, np.ndarray, float]], colour: np.ndarray | None
    ) -> None:
        """Blobs alone on the floor teach the ball's colour only in pairs that fly: the same
        colour a keyframe or two earlier, far enough away that it moved like a ball in the
        air. A blob at the edge of a player the detector missed, while the background still
        holds that player (the first keyframes of a shot), is alone but moves at walking
        pace with them, and two such edges of one player in one frame do not fly at all."""
        close = self.s.ball_colour_distance_max_lab
        now = self.scene.keyframes
        recent = [seen for seen in self._alone if 0 < now - seen[0] <= FLIGHT_PAIR_KEYFRAMES_MAX]
        for centre, sample, width in flying:
            if colour is not None and np.linalg.norm(sample - colour) > close:
                continue
            for k, before, before_sample in recent:
                step = np.linalg.norm(centre - before) / (now - k)
                if (
                    FLIGHT_STEP_MIN_WIDTHS * width <= step <= FLIGHT_STEP_MAX_WIDTHS * width
                    and np.linalg.norm(sample - before_sample) <= close
                ):
                    self.colour.add(sample)
                    if not self.colour.holds(before_sample):
                        self.colour.add(before_sample)
                    self.flights.append(((k, before, before_sample), (now, centre, sample)))
                    self.flights_taught += 1
                    self.colour.confirm()
                    break
        self._alone = [*recent, *((now, c, lab) for c, lab, _ in flying)]

    def find_earlier(
        self,
        image: np.ndarray,
        players_xyxy: np.ndarray,
        predicted: np.ndarray,
        offset_then: np.ndarray,
    ) -> Detections:
        """Ball candidates of an earlier, buffered keyframe of the ball's known colour, near
        `predicted`; `offset_then` is what `offset` was at that keyframe (the background has
        followed the camera since, by whole pixels). Positions are in that keyframe's image."""
        if self.background is None or self.colour.lab is None:
            return Detections.empty()
        dx, dy = (int(v) for v in self.offset - offset_then)
        move = np.array([dx, dy, dx, dy], dtype=np.float64)
        if dx or dy:
            image = shifted(image, (dx, dy), self.background)
        found = self.find(
            image, players_xyxy + move, predicted + move[:2], background_ok=True, learn=False
        )
        found.xyxy = found.xyxy - move
        return found

    def expected_widths_px(
        self, points_px: np.ndarray, players_xyxy: np.ndarray, frame_height: int
    ) -> np.ndarray:
        """The ball's expected width at each image point: from the court scale there when
        calibrated and the point is over the floor, else from the players in view."""
        points = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        if len(players_xyxy) == 0 and self.player_height_px:
            fallback = max(3.0, BALL_TO_PLAYER_HEIGHT * self.player_height_px)
        else:
            fallback = expected_ball_width_px(players_xyxy, frame_height)
        if self.view is None or not len(points):
            return np.full(len(points), fallback)
        scale = court_scale_px_per_m(self.view, points)
        from_court = np.maximum(3.0, self.s.ball_diameter_m * scale)
        # A court scale far from what the players say is a wrong calibration (or a court of
        # another size): the players in view are the surer measure then.
        ratio = np.maximum(from_court / fallback, fallback / from_court)
        trusted = np.isfinite(scale) & (ratio <= self.s.ball_scale_disagreement_max)
        return np.where(trusted, from_court, fallback)


def _isolated(changed: np.ndarray, stat: np.ndarray, ball_w: float, inside: int) -> bool:
    """Whether little else changed around a blob (`inside` of its own pixels changed): a
    ball in the air has floor around it."""
    bx, by, bw, bh, _ = stat
    pad = round(ISOLATION_PAD_WIDTHS * ball_w)
    y0, x0 = max(0, by - pad), max(0, bx - pad)
    window = changed[y0 : by + bh + pad, x0 : bx + bw + pad]
    others = int(window.sum()) - inside
    return others <= ISOLATION_SHARE_MAX * (window.size - bw * bh)


def _isolated_many(
    changed: np.ndarray, stats: np.ndarray, widths: np.ndarray, inside: np.ndarray
) -> np.ndarray:
    """`_isolated` of many blobs at once (`inside` of each one's own pixels changed): the
    sums over their windows from one integral image instead of one window at a time."""
    if not len(stats):
        return np.zeros(0, bool)
    h, w = changed.shape
    total = cv2.integral(changed.view(np.uint8))
    bx, by, bw, bh, _ = stats.T
    pad = np.round(ISOLATION_PAD_WIDTHS * widths).astype(np.int64)
    y0, x0 = np.maximum(0, by - pad), np.maximum(0, bx - pad)
    y1, x1 = np.minimum(h, by + bh + pad), np.minimum(w, bx + bw + pad)
    window = total[y1, x1] - total[y0, x1] - total[y1, x0] + total[y0, x0]
    others = window - inside
    return others <= ISOLATION_SHARE_MAX * ((y1 - y0) * (x1 - x0) - bw * bh)


def _grown(seeds: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """`seeds` with the pixels of `weak` within RIM_GROW_PX of them: hysteresis as in Canny's
    edges, but bounded, so a faint shadow or a player's edge cannot carry a blob away."""
    near = cv2.dilate(seeds.astype(np.uint8), _RIM_KERNEL).astype(bool)
    return seeds | (near & weak)


def _clear_zone(box: np.ndarray) -> tuple[float, float, float, float]:
    """A player's box widened by CLEAR_MARGIN_FRAC of its width: a blob in it is not clear."""
    x1, y1, x2, y2 = box
    m = CLEAR_MARGIN_FRAC * (x2 - x1)
    return x1 - m, y1 - m, x2 + m, y2 + m


def _off_players(mask: np.ndarray, players_xyxy: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
    """`mask` (whose top left is `origin` in the frame) without the players' clear zones."""
    out = mask.copy()
    h, w = out.shape
    for box in players_xyxy:
        zx1, zy1, zx2, zy2 = _clear_zone(box)
        a, b = max(0, int(np.floor(zx1)) - origin[0]), min(w, int(np.ceil(zx2)) - origin[0])
        c, d = max(0, int(np.floor(zy1)) - origin[1]), min(h, int(np.ceil(zy2)) - origin[1])
        if a < b and c < d:
            out[c:d, a:b] = False
    return out


def clear_of_players(centre: np.ndarray, players_xyxy: np.ndarray) -> bool:
    """Whether a point lies clear of every player's box (widened as for teaching)."""
    return _place(centre, players_xyxy) == "clear"


def _clear_of_all(centres: np.ndarray, players_xyxy: np.ndarray) -> np.ndarray:
    """(N,) True where a point lies in no player's clear zone: `_place` says "clear"."""
    x, y = centres[:, :1], centres[:, 1:]
    boxes = np.asarray(players_xyxy).reshape(-1, 4)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    m = CLEAR_MARGIN_FRAC * (x2 - x1)
    inside = (x1 - m <= x) & (x <= x2 + m) & (y1 - m <= y) & (y <= y2 + m)
    return ~inside.any(axis=1)


def _place(centre: np.ndarray, players_xyxy: np.ndarray) -> str:
    """'head', 'feet', 'body' (hands height) of the first box the point is in, else 'clear'."""
    x, y = centre
    for box in players_xyxy:
        zx1, zy1, zx2, zy2 = _clear_zone(box)
        if not (zx1 <= x <= zx2 and zy1 <= y <= zy2):
            continue
        x1, y1, x2, y2 = box
        h = y2 - y1
        if y < y1 + HEAD_BAND_FRAC * h and x1 <= x <= x2:
            return "head"
        if y > y2 - FEET_BAND_FRAC * h:
            return "feet"
        return "body"
    return "clear"


def _turned_sides(blob: np.ndarray) -> tuple[float, float]:
    """Long and short side of the smallest box around the blob at any angle: a ball smeared
    diagonally by its flight fills its upright box only half, a turned one like any ball."""
    points = cv2.findNonZero(blob.astype(np.uint8))
    (_, (a, b), _) = cv2.minAreaRect(points)
    # Around pixel centres: a blob one pixel wide spans one pixel, not zero.
    return max(a, b) + 1.0, min(a, b) + 1.0
