"""Who holds the ball, frame by frame, and the possession spells that follow.

The ball is held at the hands, not the feet: its distance is measured to a hands region of the
player's box (upper body, box width), then turned into metres at the player, from the court
mapping's local scale when calibrated and from the box height (an assumed standing height)
otherwise. A catch needs the ball at the hands for `catch_min_s`; the holder keeps it while
it stays within the larger `release_distance_m` (hysteresis), while it is briefly unseen,
and while the holder is briefly hidden behind a nearer player (`holder_hidden_max_s`).
The catch also needs the ball to have stopped with the catcher (`catch_max_relative_speed_ms`):
a ball flying past a crossing player's hands on its way to the receiver is not their catch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.analytics.inputs import AnalyticsSettings
from backend.analytics.tables import Tracks, metres_per_pixel

# The hands region of a standing player's box, as fractions of its height from the top:
# from the shoulders to below the hips (a ball held low or overhead still touches it).
HANDS_TOP_FRAC = 0.15
HANDS_BOTTOM_FRAC = 0.65
NO_HOLDER = 0


@dataclass(frozen=True)
class Spell:
    """One player's uninterrupted hold, frames inclusive."""

    start_frame: int
    end_frame: int
    track_id: int

    def frames(self) -> int:
        return self.end_frame - self.start_frame + 1


def frames_of(seconds: float, fps: float, minimum: int = 1) -> int:
    return max(minimum, round(seconds * fps))


# Rows per slice of the distance computation: its ~20 float64 temporaries per row are then
# bounded (~40 MB) instead of growing with the match (1.3M rows in an hour).
DISTANCE_CHUNK_ROWS = 262_144


def hand_distances_m(
    tracks: Tracks,
    ball_xy: np.ndarray,
    settings: AnalyticsSettings,
    homography: np.ndarray | None = None,
) -> np.ndarray:
    """Per track row: metres from the ball (in that row's frame) to the player's hands region."""
    out = np.empty(len(tracks), np.float64)
    for start in range(0, len(tracks), DISTANCE_CHUNK_ROWS):
        rows = slice(start, start + DISTANCE_CHUNK_ROWS)
        out[rows] = box_hand_distances_m(
            tracks.xyxy[rows], ball_xy[tracks.frame[rows]], settings, homography
        )
    return out


def box_hand_distances_m(
    xyxy: np.ndarray,
    ball: np.ndarray,
    settings: AnalyticsSettings,
    homography: np.ndarray | None,
) -> np.ndarray:
    x1, y1, x2, y2 = (xyxy[:, i].astype(np.float64) for i in range(4))
    height = np.maximum(y2 - y1, 1.0)
    ball = ball.astype(np.float64)
    top, bottom = y1 + HANDS_TOP_FRAC * height, y1 + HANDS_BOTTOM_FRAC * height
    zero = np.zeros_like(x1)
    dx = np.maximum(np.maximum(x1 - ball[:, 0], zero), ball[:, 0] - x2)
    dy = np.maximum(np.maximum(top - ball[:, 1], zero), ball[:, 1] - bottom)
    dist_px = np.hypot(dx, dy)
    return dist_px * box_metres_per_px(xyxy, settings, homography)


def box_metres_per_px(
    xyxy: np.ndarray, settings: AnalyticsSettings, homography: np.ndarray | None
) -> np.ndarray:
    """Metres per pixel at each box's player: court mapping at the feet, else box height."""
    height = np.maximum(xyxy[:, 3].astype(np.float64) - xyxy[:, 1], 1.0)
    scale = settings.player_height_m / height
    if homography is not None:
        feet = np.c_[(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]]  # as Tracks.feet_px
        local = metres_per_pixel(homography, feet)
        scale = np.where(np.isfinite(local) & (local > 0), local, scale)
    return scale


def _ball_settled(
    tracks: Tracks,
    starts: np.ndarray,
    ball_xy: np.ndarray,
    track_id: int,
    first: int,
    last: int,
    fps: float,
    settings: AnalyticsSettings,
    homography: np.ndarray | None,
) -> bool:
    """The ball moved with `track_id`'s box from frame `first` to `last`, not past it.

    Its displacement relative to the box centre (or in the image, whichever is smaller), in
    metres at the player per second, is at most catch_max_relative_speed_ms; a ball flying
    past a player's hands keeps its flight speed relative to them, a caught one stops there
    and then moves with the catcher.
    """
    limit = settings.catch_max_relative_speed_ms
    if limit <= 0 or last <= first:
        return True

    def box(f: int) -> np.ndarray | None:
        rows = np.flatnonzero(tracks.track_id[starts[f] : starts[f + 1]] == track_id)
        return tracks.xyxy[starts[f] + rows[0]].astype(np.float64) if len(rows) else None

    a, b = box(first), box(last)
    if a is None or b is None:
        return True
    centre = lambda xyxy: np.array([(xyxy[0] + xyxy[2]) / 2, (xyxy[1] + xyxy[3]) / 2])  # noqa: E731
    ball_px = ball_xy[last] - ball_xy[first]
    # The ball still in the image also counts: a box's centre jitters with its size (a
    # detector re-boxing the catcher moved it 4-9 m/s on the generated 720p clip while the
    # ball sat in the hands), and a ball flying past is moving in the image too.
    moved_px = min(np.hypot(*(ball_px - (centre(b) - centre(a)))), np.hypot(*ball_px))
    scale = float(box_metres_per_px(b[None, :], settings, homography)[0])
    return float(moved_px) * scale * fps / (last - first) <= limit


def holder_per_frame(
    tracks: Tracks,
    ball_xy: np.ndarray,
    n_frames: int,
    fps: float,
    settings: AnalyticsSettings,
    homography: np.ndarray | None = None,
) -> np.ndarray:
    """(n_frames,) int32 track id holding the ball, NO_HOLDER (0) while it flies or is lost."""
    dist = hand_distances_m(tracks, ball_xy, settings, homography)
    starts = tracks.frame_starts(n_frames)
    seen = np.isfinite(ball_xy).all(axis=1)
    catch_n = frames_of(settings.catch_min_s, fps)
    release_n = frames_of(settings.release_min_s, fps)
    missing_n = frames_of(settings.ball_missing_max_s, fps, minimum=0)
    hold_m, release_m = settings.hold_distance_m, settings.release_distance_m
    in_hands_m = min(settings.in_hands_m, hold_m)
    touch = -1

    hidden_n = frames_of(settings.holder_hidden_max_s, fps, minimum=0)
    holder = np.zeros(n_frames, np.int32)
    current, missing, away, at_hands = NO_HOLDER, 0, 0, 0
    # The holder's box when last seen, and its frame: a holder hidden behind a nearer player
    # (no row of theirs) is judged from there for a while.
    holder_box, holder_seen = None, -1
    candidate, candidate_since, candidate_run = NO_HOLDER, 0, 0
    tids = tracks.track_id
    for f in range(n_frames):
        s, e = starts[f], starts[f + 1]
        if not seen[f]:
            missing += 1
            candidate_run = 0
            if current != NO_HOLDER and missing > missing_n:
                holder[f - missing + 1 : f] = NO_HOLDER
                current = NO_HOLDER
            holder[f] = current
            continue
        missing = 0
        row_d, row_t = dist[s:e], tids[s:e]
        at_current = row_d[row_t == current] if current != NO_HOLDER else row_d[:0]
        d_current = float(at_current.min()) if len(at_current) else np.inf
        if len(at_current):
            holder_box, holder_seen = tracks.xyxy[s + np.flatnonzero(row_t == current)[0]], f
        elif current != NO_HOLDER and holder_box is not None and f - holder_seen <= hidden_n:
            # Otherwise the nearer player, whose box now covers the ball in the hidden
            # holder's hands, would take it.
            d_current = float(
                box_hand_distances_m(holder_box[None], ball_xy[f][None], settings, homography)[0]
            )
        if current != NO_HOLDER:
            if d_current <= in_hands_m:
                at_hands = f
            if d_current <= release_m:
                away = 0
            else:
                away += 1
                if away >= release_n:
                    # The ball left the hands when it was last at them, not when it got far.
                    holder[at_hands + 1 : f] = NO_HOLDER
                    current, away = NO_HOLDER, 0
        # Another player's hands take the ball only once it has left the holder's hands.
        others = (row_t != current) & (row_d <= hold_m)
        if others.any() and (current == NO_HOLDER or d_current > hold_m):
            best = int(row_t[others][np.argmin(row_d[others])])
            best_d = float(row_d[others].min())
            if best == candidate and candidate_run > 0:
                candidate_run += 1
            else:
                candidate, candidate_since, candidate_run, touch = best, f, 1, -1
            if touch < 0 and best_d <= in_hands_m:
                touch = f
            # The footage ending on the catch cannot show the ball settling: it counts then.
            if candidate_run >= catch_n and (
                f == n_frames - 1
                or _ball_settled(
                    tracks,
                    starts,
                    ball_xy,
                    candidate,
                    f - catch_n + 1,
                    f,
                    fps,
                    settings,
                    homography,
                )
            ):
                # The hold starts when the ball reached the hands, not when it came near.
                holder[touch if touch >= 0 else candidate_since : f] = candidate
                current, away, candidate_run, at_hands = candidate, 0, 0, f
                holder_box, holder_seen = None, -1
        else:
            candidate_run = 0
        holder[f] = current
    return holder


def spells_of(holder: np.ndarray, fps: float, settings: AnalyticsSettings) -> list[Spell]:
    """Runs of one holder; a gap shorter than ball_missing_max_s back to the same player is
    the same hold (the ball hidden by the body), so the 3-second clock keeps running."""
    if len(holder) == 0:
        return []
    change = np.flatnonzero(np.diff(holder)) + 1
    bounds = np.r_[0, change, len(holder)]
    runs = [
        Spell(int(a), int(b) - 1, int(holder[a]))
        for a, b in itertools.pairwise(bounds)
        if holder[a] != NO_HOLDER
    ]
    gap_n = frames_of(settings.ball_missing_max_s, fps, minimum=0)
    merged: list[Spell] = []
    for run in runs:
        last = merged[-1] if merged else None
        if last and last.track_id == run.track_id and run.start_frame - last.end_frame - 1 <= gap_n:
            merged[-1] = Spell(last.start_frame, run.end_frame, run.track_id)
        else:
            merged.append(run)
    return merged


def join_handoffs(
    spells: list[Spell],
    team_of: dict[int, str],
    shared: Callable[[Spell, Spell], bool],
    fps: float,
    settings: AnalyticsSettings,
) -> list[Spell]:
    """Consecutive holds of two team-mates between which the ball was not thrown are one.

    `shared(prev, next)`: the ball was at both holders' hands (within in_hands_m) where it
    left `prev`'s or reached `next`'s, so their boxes overlapped and nothing flew: that is
    the tracker swapping two team-mates' IDs inside a crowd while one holds the ball, and
    counting it as a pass would put a pass (and its feed or assist) on the sheet that nobody
    made; netball's short-pass rule wants room for an opponent between the hands anyway. The
    ball must also be unseen at most ball_missing_max_s between the two.

    The joined hold is credited to one of its IDs: the one that caught it (the holder's ID
    before the swap), unless that is the ID of the hold before or after it, when a pass to
    or from it would vanish; then the other.
    """
    gap_n = frames_of(settings.ball_missing_max_s, fps, minimum=0)
    groups: list[list[Spell]] = []
    for sp in spells:
        prev = groups[-1][-1] if groups else None
        if (
            prev is not None
            and prev.track_id != sp.track_id
            and team_of.get(prev.track_id) in ("A", "B")
            and team_of.get(prev.track_id) == team_of.get(sp.track_id)
            and sp.start_frame - prev.end_frame - 1 <= gap_n
            and shared(prev, sp)
        ):
            groups[-1].append(sp)
        else:
            groups.append([sp])
    out: list[Spell] = []
    for k, group in enumerate(groups):
        if len(group) == 1:
            out.append(group[0])
            continue
        around = {out[-1].track_id if out else None}
        if k + 1 < len(groups):
            around.add(groups[k + 1][0].track_id)
        ids = [sp.track_id for sp in group]
        tid = next((t for t in ids if t not in around), ids[0])
        out.append(Spell(group[0].start_frame, group[-1].end_frame, tid))
    return out
