"""Netball events from the possession spells: passes, turnovers, gains, intercepts, shots,
centre passes, three-second and offside violations; then the analyst's corrections.

Automatic ids are `a-<frame>-<type>` (a second event of the same type in the same frame gets
`-2`, `-3`...), so the same stage-1 output and inputs always give the same ids and an edit
keeps pointing at its event across reruns.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from backend.analytics.court import DEFAULT_COURT, NetballCourt
from backend.analytics.inputs import AnalyticsSettings
from backend.analytics.positions import SHOOTERS
from backend.analytics.possession import Spell, box_hand_distances_m, frames_of, join_handoffs
from backend.analytics.tables import Tracks, metres_per_pixel

# Sort order of events in one frame: what happened first in the play comes first.
TYPE_ORDER = (
    "pass",
    "turnover",
    "shot",
    "centre_pass",
    "gain",
    "intercept",
    "possession_start",
    "three_seconds",
    "offside",
)
GOAL_CONFIDENCE_BALL_AT_POST = 0.85
GOAL_CONFIDENCE_RESTART_ONLY = 0.6
MISS_CONFIDENCE = 0.6


class Locator:
    """Pixels and court metres of a track in a frame, looked up from the sorted track rows."""

    def __init__(self, tracks: Tracks, n_frames: int, homography: np.ndarray | None) -> None:
        self.tracks = tracks
        self.starts = tracks.frame_starts(n_frames)
        self.homography = homography

    def row(self, frame: int, track_id: int) -> int | None:
        s, e = self.starts[frame], self.starts[frame + 1]
        hit = np.flatnonzero(self.tracks.track_id[s:e] == track_id)
        return int(s + hit[0]) if len(hit) else None

    def court(self, frame: int, track_id: int) -> tuple[float, float] | None:
        r = self.row(frame, track_id)
        if r is None or not np.isfinite(self.tracks.court_xy[r]).all():
            return None
        x, y = self.tracks.court_xy[r]
        return (float(x), float(y))

    def metres_per_px(self, frame: int, track_id: int, settings: AnalyticsSettings) -> float:
        r = self.row(frame, track_id)
        if r is None:
            return math.nan
        if self.homography is not None:
            return float(metres_per_pixel(self.homography, self.tracks.feet_px[r : r + 1])[0])
        box_height_px = float(self.tracks.xyxy[r, 3] - self.tracks.xyxy[r, 1])
        return settings.player_height_m / max(box_height_px, 1.0)

    def hands_m(self, frame: int, track_id: int, ball_xy: np.ndarray, settings) -> float:
        """Metres from the ball to the track's hands in `frame` (NaN: either unseen)."""
        r = self.row(frame, track_id)
        if r is None or not np.isfinite(ball_xy[frame]).all():
            return math.nan
        box = self.tracks.xyxy[r : r + 1]
        return float(box_hand_distances_m(box, ball_xy[frame][None], settings, self.homography)[0])

    def shared(self, prev: Spell, nxt: Spell, ball_xy: np.ndarray, settings) -> bool:
        """The ball was in both holders' hands on the last frame it was in `prev`'s, or on
        the first it was in `nxt`'s: it went from one box to an overlapping one unthrown."""
        both = settings.in_hands_m
        for f in range(prev.end_frame, prev.start_frame - 1, -1):
            if self.hands_m(f, prev.track_id, ball_xy, settings) <= both:
                if self.hands_m(f, nxt.track_id, ball_xy, settings) <= both:
                    return True
                break
        for f in range(nxt.start_frame, nxt.end_frame + 1):
            if self.hands_m(f, nxt.track_id, ball_xy, settings) <= both:
                return self.hands_m(f, prev.track_id, ball_xy, settings) <= both
        return False


@dataclass
class PlayContext:
    fps: float
    settings: AnalyticsSettings
    team_of: dict[int, str]
    position_of: dict[int, str]
    period_of_frame: np.ndarray
    directions: dict[int, dict[str, str]] | None  # None: unknown (uncalibrated)
    locator: Locator
    ball_xy: np.ndarray
    post_px: dict[str, tuple[float, float]] | None  # end -> post base pixel, calibrated only
    court: NetballCourt = DEFAULT_COURT


def make_event(
    ctx: PlayContext,
    frame: int,
    kind: str,
    team: str,
    track_id: int | None,
    to_track_id: int | None = None,
    court_xy: tuple[float, float] | None = None,
    outcome: str | None = None,
    confidence: float | None = None,
    details: dict | None = None,
    source: str = "auto",
) -> dict:
    x, y = court_xy if court_xy is not None else (None, None)
    period = int(ctx.period_of_frame[frame]) if 0 <= frame < len(ctx.period_of_frame) else 0
    return {
        "id": None,
        "frame": int(frame),
        "time_s": round(frame / ctx.fps, 3),
        "period": period or None,
        "type": kind,
        "team": team,
        "track_id": track_id,
        "to_track_id": to_track_id,
        "court_x": None if x is None else round(x, 2),
        "court_y": None if y is None else round(y, 2),
        "outcome": outcome,
        "confidence": confidence,
        "source": source,
        "details": details or {},
    }


def _attacking(ctx: PlayContext, frame: int, team: str) -> str | None:
    if ctx.directions is None or team not in ("A", "B"):
        return None
    period = int(ctx.period_of_frame[frame])
    return ctx.directions.get(period, {}).get(team)


def _in_attacking_circle(ctx: PlayContext, frame: int, team: str, xy) -> bool:
    end = _attacking(ctx, frame, team)
    return bool(end and xy and ctx.court.area_of(xy[0], xy[1], end) == "attacking_circle")


def _pass_details(ctx: PlayContext, prev: Spell, nxt: Spell, team: str) -> dict:
    a = ctx.locator.court(prev.end_frame, prev.track_id)
    b = ctx.locator.court(nxt.start_frame, nxt.track_id)
    length = direction = None
    if a and b:
        length = round(math.hypot(b[0] - a[0], b[1] - a[1]), 2)
        end = _attacking(ctx, prev.end_frame, team)
        if end:
            gain = (b[0] - a[0]) * (1 if end == "right" else -1)
            limit = ctx.settings.pass_direction_min_m
            direction = "forward" if gain >= limit else "back" if gain <= -limit else "lateral"
    return {
        "length_m": length,
        "direction": direction,
        "completed": True,
        "feed": _in_attacking_circle(ctx, nxt.start_frame, team, b),
        "centre_pass": False,
    }


def _distance_to_segment(p, a, b) -> tuple[float, float]:
    """Distance of p from segment a-b, and how far along it (0 at a, 1 at b) p projects."""
    ab = np.subtract(b, a, dtype=float)
    ap = np.subtract(p, a, dtype=float)
    denom = float(ab @ ab)
    t = float(ap @ ab / denom) if denom else 0.0
    closest = np.asarray(a, float) + min(max(t, 0.0), 1.0) * ab
    return float(np.linalg.norm(np.asarray(p, float) - closest)), t


def turnover_cause(ctx: PlayContext, prev: Spell, nxt: Spell, teammates: list[int]) -> str:
    """`intercept` when the opponent caught the ball in the lane to a team-mate of the passer
    (short of that team-mate), `error` when no team-mate's lane passes the catch, `unknown`
    without court positions."""
    passer = ctx.locator.court(prev.end_frame, prev.track_id)
    catch = ctx.locator.court(nxt.start_frame, nxt.track_id)
    if passer is None or catch is None:
        return "unknown"
    for mate in teammates:
        target = ctx.locator.court(nxt.start_frame, mate)
        if target is None:
            continue
        dist, along = _distance_to_segment(catch, passer, target)
        if dist <= ctx.settings.intercept_lane_m and 0.0 < along < 1.0:
            return "intercept"
    return "error"


def _shot(ctx: PlayContext, prev: Spell, nxt: Spell | None, team: str) -> tuple | None:
    """(outcome, confidence, release court) when prev's release is a shot, else None."""
    if ctx.position_of.get(prev.track_id) not in SHOOTERS or ctx.post_px is None:
        return None
    release = ctx.locator.court(prev.end_frame, prev.track_id)
    if not _in_attacking_circle(ctx, prev.end_frame, team, release):
        return None
    end = _attacking(ctx, prev.end_frame, team)
    post_x = ctx.post_px[end][0]
    window = frames_of(ctx.settings.shot_window_s, ctx.fps)
    start = prev.end_frame
    stop = min(len(ctx.ball_xy), start + window + 1)
    path = ctx.ball_xy[start:stop, 0]
    path = path[np.isfinite(path)]
    if len(path) < 2:
        return None
    scale = ctx.locator.metres_per_px(prev.end_frame, prev.track_id, ctx.settings)
    gap_px = np.abs(path - post_x)
    approach_m = float(gap_px[0] - gap_px.min()) * scale
    if not approach_m >= ctx.settings.shot_min_approach_m:
        return None
    # A team-mate catching it soon after is a pass towards the post, not a shot.
    mate_catches = nxt is not None and ctx.team_of.get(nxt.track_id) == team
    if mate_catches and nxt.start_frame - prev.end_frame <= window:
        return None
    reached_post = float(gap_px.min()) * scale <= ctx.settings.goal_restart_radius_m
    if nxt is None:
        return ("unknown", None, release)
    catch = ctx.locator.court(nxt.start_frame, nxt.track_id)
    if ctx.team_of.get(nxt.track_id) != team and catch is not None:
        cx, cy = ctx.court.centre_m
        if math.hypot(catch[0] - cx, catch[1] - cy) <= ctx.settings.goal_restart_radius_m:
            conf = GOAL_CONFIDENCE_BALL_AT_POST if reached_post else GOAL_CONFIDENCE_RESTART_ONLY
            return ("goal", conf, release)
    if catch is not None:
        return ("miss", MISS_CONFIDENCE, release)
    return ("unknown", None, release)


def detect_events(ctx: PlayContext, spells: list[Spell]) -> list[dict]:
    """Automatic events of the play, in frame order, ids assigned."""
    events: list[dict] = []
    players = join_handoffs(
        [s for s in spells if ctx.team_of.get(s.track_id) in ("A", "B")], ctx.team_of,
        lambda a, b: ctx.locator.shared(a, b, ctx.ball_xy, ctx.settings), ctx.fps, ctx.settings,
    )  # fmt: skip
    by_team: dict[str, list[int]] = {"A": [], "B": []}
    for tid, team in sorted(ctx.team_of.items()):
        if team in by_team:
            by_team[team].append(tid)
    limit_n = ctx.settings.three_seconds_limit_s * ctx.fps
    prev: Spell | None = None
    restart = True
    for sp in players:
        team = ctx.team_of[sp.track_id]
        here = ctx.locator.court(sp.start_frame, sp.track_id)
        period = int(ctx.period_of_frame[sp.start_frame])
        if period == 0:
            continue
        if prev is not None and int(ctx.period_of_frame[prev.end_frame]) != period:
            prev, restart = None, True
        if prev is None:
            events.append(
                make_event(
                    ctx, sp.start_frame, "possession_start", team, sp.track_id, court_xy=here
                )
            )
        elif sp.track_id != prev.track_id:
            step = _transition(ctx, prev, sp, by_team, restart)
            events.extend(step)
            restart = any(e["type"] == "shot" and e["outcome"] == "goal" for e in step)
            if restart:
                events.append(
                    make_event(
                        ctx,
                        sp.start_frame,
                        "possession_start",
                        team,
                        sp.track_id,
                        court_xy=here,
                        details={"restart": True},
                    )
                )
        if sp.frames() > limit_n + 1e-9:
            at = sp.start_frame + math.ceil(limit_n)
            events.append(
                make_event(
                    ctx,
                    min(at, sp.end_frame),
                    "three_seconds",
                    team,
                    sp.track_id,
                    court_xy=here,
                    details={"held_s": round(sp.frames() / ctx.fps, 3)},
                )
            )
        prev = sp
    return events


def _transition(ctx: PlayContext, prev: Spell, sp: Spell, by_team, restart: bool) -> list[dict]:
    """Events between two holds of different players: a shot, a pass, or a change of team."""
    team, prev_team = ctx.team_of[sp.track_id], ctx.team_of[prev.track_id]
    released = ctx.locator.court(prev.end_frame, prev.track_id)
    caught = ctx.locator.court(sp.start_frame, sp.track_id)
    shot = _shot(ctx, prev, sp, prev_team)
    if shot is not None:
        outcome, conf, at = shot
        out = [
            make_event(
                ctx,
                prev.end_frame,
                "shot",
                prev_team,
                prev.track_id,
                court_xy=at,
                outcome=outcome,
                confidence=conf,
            )
        ]
        if team != prev_team and outcome != "goal":
            out.append(
                make_event(
                    ctx,
                    sp.start_frame,
                    "gain",
                    team,
                    sp.track_id,
                    court_xy=caught,
                    details={"cause": "rebound"},
                )
            )
        return out
    if team == prev_team:
        details = _pass_details(ctx, prev, sp, team)
        details["centre_pass"] = restart
        out = [
            make_event(
                ctx,
                prev.end_frame,
                "pass",
                team,
                prev.track_id,
                sp.track_id,
                court_xy=released,
                details=details,
            )
        ]
        if restart:
            out.append(
                make_event(
                    ctx,
                    sp.start_frame,
                    "centre_pass",
                    team,
                    prev.track_id,
                    sp.track_id,
                    court_xy=caught,
                )
            )
        return out
    mates = [t for t in by_team[prev_team] if t != prev.track_id]
    cause = turnover_cause(ctx, prev, sp, mates)
    return [
        make_event(
            ctx,
            prev.end_frame,
            "pass",
            prev_team,
            prev.track_id,
            None,
            court_xy=released,
            details={
                "length_m": None,
                "direction": None,
                "completed": False,
                "feed": False,
                "centre_pass": restart,
                "caught_by": sp.track_id,
            },
        ),
        make_event(
            ctx,
            prev.end_frame,
            "turnover",
            prev_team,
            prev.track_id,
            sp.track_id,
            court_xy=released,
            details={"cause": cause},
        ),
        make_event(
            ctx,
            sp.start_frame,
            "intercept" if cause == "intercept" else "gain",
            team,
            sp.track_id,
            prev.track_id,
            court_xy=caught,
            details={"cause": cause},
        ),
    ]


def sort_and_number(events: list[dict], prefix: str = "a") -> list[dict]:
    """Frame order (play order within a frame), then stable ids `a-<frame>-<type>[-n]`."""
    order = {t: i for i, t in enumerate(TYPE_ORDER)}
    events.sort(key=lambda e: (e["frame"], order.get(e["type"], 99), e["track_id"] or 0))
    seen: dict[str, int] = {}
    for e in events:
        base = f"{prefix}-{e['frame']}-{e['type']}"
        seen[base] = seen.get(base, 0) + 1
        e["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return events


def apply_corrections(
    automatic: list[dict], corrections: dict, fps: float, period_of_frame: np.ndarray
) -> tuple[list[dict], list[str]]:
    """The final events: automatic ones deleted, changed or confirmed by the analyst, plus the
    analyst's own. Edits of events that no longer exist are reported, not dropped silently."""
    warnings: list[str] = []
    by_id = {e["id"]: e for e in automatic}
    deleted = set(corrections.get("deleted", []))
    changed = corrections.get("changed", {})
    confirmed = set(corrections.get("confirmed", []))
    for kind, ids in (("deleted", deleted), ("changed", changed), ("confirmed", confirmed)):
        for event_id in sorted(set(ids) - set(by_id)):
            if not event_id.startswith("m-"):
                warnings.append(f"{kind} event {event_id} no longer exists in the automatic events")
    final: list[dict] = []
    n_frames = len(period_of_frame)

    def settle(e: dict) -> dict:
        if "frame" not in e or e["frame"] is None:
            e["frame"] = round(float(e["time_s"]) * fps)
        e["frame"] = int(min(max(int(e["frame"]), 0), max(n_frames - 1, 0)))
        e["time_s"] = round(
            float(e["time_s"]) if e.get("time_s") is not None else e["frame"] / fps, 3
        )
        p = int(period_of_frame[e["frame"]]) if n_frames else 0
        e["period"] = p or None
        return e

    for e in automatic:
        if e["id"] in deleted:
            continue
        e = copy.deepcopy(e)
        if e["id"] in changed:
            change = changed[e["id"]]
            if "frame" in change and "time_s" not in change:
                e["time_s"] = None
            e.update(copy.deepcopy(change))
            e["source"] = "edited"
            e["details"] = dict(e.get("details") or {}, confirmed=True)
            settle(e)
        elif e["id"] in confirmed:
            e["details"] = dict(e["details"], confirmed=True)
        final.append(e)
    defaults = {
        "team": "other",
        "track_id": None,
        "to_track_id": None,
        "court_x": None,
        "court_y": None,
        "outcome": None,
        "confidence": None,
        "details": {},
    }
    for n, added in enumerate(corrections.get("added", []), start=1):
        e = {**defaults, **copy.deepcopy(added), "id": f"m-{n}", "source": "analyst"}
        e["details"] = dict(e.get("details") or {}, confirmed=True)
        if e["type"] == "shot" and e["outcome"] is None:
            e["outcome"] = "unknown"
        final.append(settle(e))
    order = {t: i for i, t in enumerate(TYPE_ORDER)}
    final.sort(key=lambda e: (e["frame"], order.get(e["type"], 99), e["id"]))
    return final, warnings
