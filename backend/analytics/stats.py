"""The statistics sheets: per player (`players.csv`) and per team and period (`teams.csv`).

Counts come from the final events (the analyst's corrections included), so editing an event
changes the sheet; time, distance and speed come from the tracks and the possession spells.
Column names follow the professional vocabulary where a statistic exists there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from backend.analytics.periods import Period
from backend.analytics.possession import Spell
from backend.analytics.tables import Tracks

PLAYER_COLUMNS = (
    "track_id",
    "team",
    "team_name",
    "position",
    "position_source",
    "frames_seen",
    "first_time_s",
    "last_time_s",
    "time_on_court_s",
    "distance_px",
    "distance_m",
    "top_speed_ms",
    "mean_speed_ms",
    "possessions",
    "possession_s",
    "passes",
    "passesReceived",
    "feeds",
    "centrePassReceives",
    "gain",
    "intercepts",
    "turnovers",
    "goalAttempts",
    "goals",
    "goalMisses",
    "shootingPct",
    "threeSeconds",
    "offsides",
    "penalties",
    "mean_court_x",
    "mean_court_y",
)
TEAM_COLUMNS = (
    "team",
    "team_name",
    "period",
    "possession_s",
    "possession_pct",
    "possessionChanges",
    "passes",
    "passesCompleted",
    "feeds",
    "centrePassReceives",
    "gain",
    "intercepts",
    "turnovers",
    "goalAttempts",
    "goals",
    "goalMisses",
    "shootingPct",
    "threeSeconds",
    "offsides",
    "penalties",
    "distance_m",
)
EVENT_COUNTS = (
    "passes",
    "passesReceived",
    "passesCompleted",
    "feeds",
    "centrePassReceives",
    "gain",
    "intercepts",
    "turnovers",
    "goalAttempts",
    "goals",
    "goalMisses",
    "threeSeconds",
    "offsides",
    "penalties",
    "possessionChanges",
)


@dataclass
class Movement:
    """Per kept track: distance and speeds; per (track, period) distance in metres."""

    distance_px: dict[int, float]
    distance_m: dict[int, float]
    top_speed_ms: dict[int, float]
    distance_m_by_period: Counter


def _segments(track_id: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Segment number per row (rows sorted by track then frame): a new one at each new track
    or skipped frame, so no step spans a gap."""
    new = np.r_[True, (np.diff(track_id) != 0) | (np.diff(frame) != 1)]
    return np.cumsum(new) - 1


def _smooth(values: np.ndarray, seg: np.ndarray, half: int) -> np.ndarray:
    """Centred moving mean of (n, 2) values within each segment, window 2*half+1."""
    n = len(values)
    if n == 0 or half == 0:
        return values.astype(np.float64)
    idx = np.arange(n)
    first = np.r_[0, np.flatnonzero(np.diff(seg)) + 1]
    seg_start = first[seg]
    seg_end = np.r_[first[1:], n][seg] - 1
    lo = np.maximum(idx - half, seg_start)
    hi = np.minimum(idx + half, seg_end)
    cs = np.vstack([np.zeros((1, 2)), np.cumsum(values.astype(np.float64), axis=0)])
    return (cs[hi + 1] - cs[lo]) / (hi - lo + 1)[:, None]


def movement(
    tracks: Tracks,
    keep: set[int],
    fps: float,
    period_of_frame: np.ndarray,
    smoothing_s: float,
    max_speed_ms: float,
) -> Movement:
    """Distances and speeds, one track at a time: the float64 temporaries then hold one
    player's rows, not the whole match's (an hour has over a million rows)."""
    # Rows are sorted by frame, so a stable sort by track keeps each track's frames in order.
    order = np.argsort(tracks.track_id, kind="stable")
    sorted_tid = tracks.track_id[order]
    half = max(0, round(smoothing_s * fps / 2))
    distance_px: dict[int, float] = {}
    distance_m: dict[int, float] = {}
    top_speed: dict[int, float] = {}
    by_period: Counter = Counter()
    for t in sorted(keep):
        lo, hi = np.searchsorted(sorted_tid, [t, t + 1])
        rows = order[lo:hi]
        frame = tracks.frame[rows]
        xyxy = tracks.xyxy[rows]
        feet = np.c_[(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]].astype(np.float64)
        same = np.diff(_segments(np.zeros(len(rows)), frame)) == 0
        distance_px[t] = float(np.hypot(*np.diff(feet, axis=0).T)[same].sum())

        court = tracks.court_xy[rows].astype(np.float64)
        ok = np.isfinite(court).all(axis=1)
        if not ok.any():
            continue
        c_frame = frame[ok]
        c_seg = _segments(np.zeros(len(c_frame)), c_frame)
        smooth = _smooth(court[ok], c_seg, half)
        c_same = np.diff(c_seg) == 0
        step_m = np.hypot(*np.diff(smooth, axis=0).T)[c_same]
        speed = step_m * fps
        valid = speed <= max_speed_ms  # faster is a tracking jump, not running
        step_m, speed = step_m[valid], speed[valid]
        distance_m[t] = float(step_m.sum())
        top_speed[t] = float(speed.max(initial=0.0))
        step_period = period_of_frame[c_frame[1:][c_same][valid]]
        for p in np.unique(step_period).tolist():
            by_period[(t, p)] += float(step_m[step_period == p].sum())
    return Movement(
        distance_px=distance_px,
        distance_m=distance_m,
        top_speed_ms=top_speed,
        distance_m_by_period=by_period,
    )


def _count_events(events: list[dict], key_of) -> Counter:
    """Counter of (key, statistic) over the events; key_of(event, role) -> key or None."""
    out: Counter = Counter()

    def add(e: dict, role: str, stat: str) -> None:
        key = key_of(e, role)
        if key is not None:
            out[(key, stat)] += 1

    for e in events:
        kind, d = e["type"], e.get("details") or {}
        if kind == "pass":
            add(e, "actor", "passes")
            if d.get("completed", True):
                add(e, "actor", "passesCompleted")
                add(e, "receiver", "passesReceived")
            if d.get("feed"):
                add(e, "actor", "feeds")
        elif kind == "centre_pass":
            add(e, "receiver", "centrePassReceives")
        elif kind in ("gain", "intercept"):
            add(e, "actor", "gain")
            add(e, "actor", "possessionChanges")
            if kind == "intercept":
                add(e, "actor", "intercepts")
        elif kind == "turnover":
            add(e, "actor", "turnovers")
        elif kind == "shot":
            add(e, "actor", "goalAttempts")
            if e.get("outcome") == "goal":
                add(e, "actor", "goals")
            elif e.get("outcome") == "miss":
                add(e, "actor", "goalMisses")
        elif kind in ("three_seconds", "offside"):
            add(e, "actor", "threeSeconds" if kind == "three_seconds" else "offsides")
            add(e, "actor", "penalties")
    return out


def shooting_pct(goals: int, attempts: int) -> float | None:
    return round(100.0 * goals / attempts, 1) if attempts else None


def player_rows(
    *,
    tracks: Tracks,
    keep: list[int],
    fps: float,
    team_of: dict[int, str],
    team_names: dict[str, str],
    positions: dict[int, tuple[str, str]],
    spells: list[Spell],
    events: list[dict],
    move: Movement,
    calibrated: bool,
) -> list[dict]:
    counts = _count_events(
        events, lambda e, role: e["track_id"] if role == "actor" else e.get("to_track_id")
    )
    held = Counter()
    n_spells = Counter()
    for sp in spells:
        held[sp.track_id] += sp.frames()
        n_spells[sp.track_id] += 1
    size = max(int(tracks.track_id.max(initial=0)), max(keep, default=0)) + 1
    seen = np.bincount(tracks.track_id, minlength=size)
    first = np.full(size, np.iinfo(np.int32).max, np.int64)
    last = np.full(size, -1, np.int64)
    np.minimum.at(first, tracks.track_id, tracks.frame)
    np.maximum.at(last, tracks.track_id, tracks.frame)
    ok = np.isfinite(tracks.court_xy).all(axis=1)
    n_court = np.bincount(tracks.track_id[ok], minlength=size)
    sum_x = np.bincount(tracks.track_id[ok], weights=tracks.court_xy[ok, 0], minlength=size)
    sum_y = np.bincount(tracks.track_id[ok], weights=tracks.court_xy[ok, 1], minlength=size)
    out = []
    for t in keep:
        time_on = float(seen[t]) / fps
        pos, source = positions.get(t, ("", "none"))
        dist_m = move.distance_m.get(t) if calibrated else None
        row = {
            "track_id": t,
            "team": team_of.get(t, ""),
            "team_name": team_names.get(team_of.get(t, ""), ""),
            "position": pos,
            "position_source": source,
            "frames_seen": int(seen[t]),
            "first_time_s": round(int(first[t]) / fps, 3),
            "last_time_s": round(int(last[t]) / fps, 3),
            "time_on_court_s": round(time_on, 3),
            "distance_px": round(move.distance_px.get(t, 0.0), 1),
            "distance_m": None if dist_m is None else round(dist_m, 2),
            "top_speed_ms": round(move.top_speed_ms[t], 2)
            if calibrated and t in move.top_speed_ms
            else None,
            "mean_speed_ms": round(dist_m / time_on, 2) if dist_m is not None and time_on else None,
            "possessions": n_spells[t],
            "possession_s": round(held[t] / fps, 3),
            "mean_court_x": round(sum_x[t] / n_court[t], 2) if n_court[t] else None,
            "mean_court_y": round(sum_y[t] / n_court[t], 2) if n_court[t] else None,
        }
        for stat in EVENT_COUNTS:
            if stat in PLAYER_COLUMNS:
                row[stat] = counts[(t, stat)]
        row["shootingPct"] = shooting_pct(row["goals"], row["goalAttempts"])
        out.append({c: row[c] for c in PLAYER_COLUMNS})
    return out


def team_possession_frames(
    spells: list[Spell], team_of: dict[int, str], period_of_frame: np.ndarray
) -> Counter:
    """(team, period) -> frames the team had the ball: its holds, plus the flights of its
    passes between its own players (the ball in the air still belongs to the passing team)."""
    out: Counter = Counter()
    prev: Spell | None = None
    for sp in spells:
        team = team_of.get(sp.track_id)
        if team not in ("A", "B"):
            continue
        period = int(period_of_frame[sp.start_frame])
        frames = sp.frames()
        same_team = prev is not None and team_of.get(prev.track_id) == team
        if same_team and int(period_of_frame[prev.end_frame]) == period:
            frames += sp.start_frame - prev.end_frame - 1
        out[(team, period)] += frames
        prev = sp
    return out


def team_rows(
    *,
    periods: list[Period],
    fps: float,
    team_of: dict[int, str],
    team_names: dict[str, str],
    spells: list[Spell],
    events: list[dict],
    move: Movement,
    period_of_frame: np.ndarray,
    calibrated: bool,
) -> list[dict]:
    counts = _count_events(
        events, lambda e, role: (e["team"], e.get("period")) if role == "actor" else None
    )
    # centre pass receives and passes received belong to the receiving team, the actor's team
    for e in events:
        if e["type"] == "centre_pass":
            counts[((e["team"], e.get("period")), "centrePassReceives")] += 1
    poss = team_possession_frames(spells, team_of, period_of_frame)
    out = []
    for team in ("A", "B"):
        for label in ["all", *[str(p.number) for p in periods]]:
            numbers = [p.number for p in periods] if label == "all" else [int(label)]
            row: dict = {"team": team, "team_name": team_names.get(team, team), "period": label}
            held = sum(poss[(team, n)] for n in numbers)
            both = sum(poss[(t, n)] for t in ("A", "B") for n in numbers)
            row["possession_s"] = round(held / fps, 3)
            row["possession_pct"] = round(100.0 * held / both, 1) if both else None
            for stat in EVENT_COUNTS:
                if stat in TEAM_COLUMNS:
                    row[stat] = sum(counts[((team, n), stat)] for n in numbers)
            row["shootingPct"] = shooting_pct(row["goals"], row["goalAttempts"])
            dist = sum(
                d
                for (t, n), d in move.distance_m_by_period.items()
                if team_of.get(t) == team and n in numbers
            )
            row["distance_m"] = round(dist, 2) if calibrated else None
            out.append({c: row[c] for c in TEAM_COLUMNS})
    return out
