"""The ball's colour, learnt before the main pass from short bursts of keyframes.

The motion candidates (ball_candidates.py) know the ball only by its shape until a flight
clear of every player has taught its colour, and until then they cannot find it in a
player's hands or flying over other players. The main pass learns it when the first such
flight comes, often seconds in, and the holds and passes before it (a buffered second aside)
were lost: on generated 16 s wide shots the colour came at 3.5 s, after the first pass.

So before the main pass a few bursts of consecutive keyframes, spread over the video, go
through the same finder the main pass uses (each with a background of its own, started on
its first keyframe, so a panning camera is followed as in the main pass). Only flights clear
of every player teach, as they do there. The bursts stop once two agree on the colour (two
flights seconds apart that agree are surely the ball); when only one burst found a flight,
its colour is taken, as the main pass takes its first flight's; when flights disagree, or
none was found, the main pass learns the colour itself, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.pipeline.ball_candidates import (
    FLIGHT_PAIR_KEYFRAMES_MAX,
    MotionBallCandidates,
    clear_of_players,
)
from backend.pipeline.settings import PipelineSettings
from backend.pipeline.stream import frames_at, prefetched
from backend.pipeline.view import ViewTransformer

# Bursts that must agree on the colour before the main pass trusts it.
AGREEING_BURSTS_MIN = 2


@dataclass
class BurstColour:
    """What the bursts taught: the colour samples to start the main pass with (empty when
    no burst found a clear flight, or their flights disagreed), how many bursts were looked
    at and how many found a clear flight."""

    samples: list[np.ndarray] = field(default_factory=list)
    bursts_run: int = 0
    bursts_taught: int = 0

    @property
    def learnt(self) -> bool:
        return bool(self.samples)


def burst_times(
    duration_s: float, fps: float, stride: int, bursts: int, keyframes: int
) -> list[list[float]]:
    """The keyframe times of `bursts` bursts of `keyframes` keyframes, `stride` frames
    apart, spread evenly over the video (whole frames, so each time is a frame of its own)."""
    frames_total = max(1, int(duration_s * fps))
    length = (keyframes - 1) * stride
    out = []
    for b in range(bursts):
        centre = frames_total * (b + 0.5) / bursts
        first = int(np.clip(round(centre - length / 2), 0, max(0, frames_total - 1 - length)))
        out.append([(first + k * stride) / fps for k in range(keyframes)])
    return out


def learn_from_video(
    path: Path,
    duration_s: float,
    fps: float,
    players_of: Callable[[np.ndarray], np.ndarray],
    settings: PipelineSettings,
    view: ViewTransformer | None = None,
    player_height_px: float | None = None,
) -> BurstColour:
    """`learn_ball_colour` over the bursts of `burst_times` read from the video at `path`
    (decoded only as far as the bursts that were needed)."""
    keyframes = settings.ball_colour_burst_keyframes
    affordable = settings.ball_colour_burst_share_max * duration_s * fps / settings.frame_stride
    count = min(settings.ball_colour_bursts, int(affordable // keyframes))
    if count < 1:
        return BurstColour()  # too short a clip: the main pass learns the colour alone
    bursts = burst_times(duration_s, fps, settings.frame_stride, count, keyframes)
    times = [t for burst in bursts for t in burst]
    with contextlib.closing(prefetched(frames_at(path, times))) as frames:
        images = grouped(frames, [len(burst) for burst in bursts])
        return learn_ball_colour(images, players_of, settings, view, player_height_px)


def learn_ball_colour(
    bursts: Iterable[list[np.ndarray]],
    players_of: Callable[[np.ndarray], np.ndarray],
    settings: PipelineSettings,
    view: ViewTransformer | None = None,
    player_height_px: float | None = None,
) -> BurstColour:
    """Runs each burst (its keyframes' images, in order) through a fresh finder; stops once
    AGREEING_BURSTS_MIN bursts taught one colour. `players_of(image)` gives the players'
    boxes (xyxy) in an image: blobs on them teach nothing, as in the main pass.
    `player_height_px`, a player's typical height, sets the ball's expected size while the
    finder looks without the players (without it, a share of the frame's height: on a
    generated 720p clip a hand moving past its player passed for a flight at that size)."""
    result = BurstColour()
    taught: list[list[np.ndarray]] = []
    for images in bursts:
        result.bursts_run += 1
        samples = _first_clear_flight(images, players_of, settings, view, player_height_px)
        if not samples:
            continue
        taught.append(samples)
        result.bursts_taught += 1
        agreeing = _agreeing(taught, settings.ball_colour_distance_max_lab)
        if len(agreeing) >= AGREEING_BURSTS_MIN:
            result.samples = [s for burst in agreeing for s in burst]
            break
    else:
        if len(taught) == 1:
            # One clear flight is what the main pass learns from too; two that disagree
            # leave the choice to the main pass.
            result.samples = taught[0]
    return result


def _first_clear_flight(
    images: list[np.ndarray],
    players_of: Callable[[np.ndarray], np.ndarray],
    settings: PipelineSettings,
    view: ViewTransformer | None,
    player_height_px: float | None,
) -> list[np.ndarray]:
    """The colour samples of the burst's first flight clear of every player, else [].

    The finder looks without the players first: a whole-frame search costs a fraction of a
    detector run, and most keyframes hold no flight. A flight it finds is checked against
    the players the detector boxes in its two keyframes, by the main pass's rule (a blob by
    a player's box is no flight: it may be any part of them); one that fails is forgotten,
    so its colour does not steer the rest of the burst.
    """
    finder = MotionBallCandidates(settings, view)
    finder.player_height_px = player_height_px
    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # keyframe -> (image, offset then)
    boxes: dict[int, np.ndarray] = {}
    for image in images:
        background_ok = finder.update_background(image)
        now = finder.scene.keyframes
        seen = {k: v for k, v in seen.items() if now - k <= FLIGHT_PAIR_KEYFRAMES_MAX}
        seen[now] = (image, finder.offset.copy())
        known = finder.flights_taught
        finder.find(image, _NOBODY, None, background_ok)
        fresh = finder.flights_taught - known
        for flight in list(finder.flights)[-fresh:] if fresh else []:
            clear = True
            for keyframe, centre, _ in flight:
                then, offset_then = seen[keyframe]
                if keyframe not in boxes:
                    boxes[keyframe] = players_of(then)
                # The centre is in today's image; the background has followed the camera
                # since (by whole pixels).
                at_then = centre - (finder.offset - offset_then)
                clear = clear and clear_of_players(at_then, boxes[keyframe])
            if clear:
                return [sample for _, _, sample in flight]
        if fresh:
            finder.colour.forget()
    return []


_NOBODY = np.empty((0, 4))


def _agreeing(taught: list[list[np.ndarray]], close: float) -> list[list[np.ndarray]]:
    """The largest group of bursts whose mean colours lie within `close` of one burst's."""
    means = [np.mean(samples, axis=0) for samples in taught]
    best: list[int] = []
    for centre in means:
        group = [i for i, m in enumerate(means) if np.linalg.norm(m - centre) <= close]
        if len(group) > len(best):
            best = group
    return [taught[i] for i in best]


def grouped(frames: Iterator[tuple[int, np.ndarray]], sizes: list[int]) -> Iterator[list]:
    """Frames keyed by their index in a flat list of times (`frames_at`), grouped back into
    bursts of `sizes`; a burst whose frames could not all be decoded comes shorter."""
    starts = np.cumsum([0, *sizes])
    current, images = 0, []
    for index, image in frames:
        burst = int(np.searchsorted(starts, index, side="right")) - 1
        if burst != current:
            if images:
                yield images
            current, images = burst, []
        images.append(image)
    if images:
        yield images
