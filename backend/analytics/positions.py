"""The seven positions, where each may go, suggested positions and offside.

Allowed areas follow the rules (design.md section 5): GS and GK one goal third and its circle,
GA and GD add the centre third, WA and WD the centre third and one goal third without the
circle, C all three thirds without the circles.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from backend.analytics.court import AREAS, ENDS, ZONES, area_of_zone
from backend.analytics.inputs import POSITIONS
from backend.analytics.tables import Tracks

ALLOWED_AREAS: dict[str, frozenset[str]] = {
    "GS": frozenset({"attacking_third", "attacking_circle"}),
    "GA": frozenset({"centre_third", "attacking_third", "attacking_circle"}),
    "WA": frozenset({"centre_third", "attacking_third"}),
    "C": frozenset({"defending_third", "centre_third", "attacking_third"}),
    "WD": frozenset({"centre_third", "defending_third"}),
    "GD": frozenset({"centre_third", "defending_third", "defending_circle"}),
    "GK": frozenset({"defending_third", "defending_circle"}),
}
SHOOTERS = frozenset({"GS", "GA"})
OUT = AREAS.index("out")
# zone index -> area index, for a team attacking towards each end
AREA_OF_ZONE_INDEX = {
    end: np.array([AREAS.index(area_of_zone(z, end)) for z in ZONES], np.int8) for end in ENDS
}
ALLOWED_MASK = {
    pos: np.array([a in allowed for a in AREAS], bool) for pos, allowed in ALLOWED_AREAS.items()
}
# Time share below which an area counts as never entered (tracking jitter at a line).
AREA_VISIT_MIN_SHARE = 0.02
# Cost of each allowed area a track never enters: prefers the most specific position that
# fits (a player only ever in one goal third is a GS/GK rather than a C).
UNUSED_AREA_COST = 0.1
# Assignment by trying every one-to-one mapping is exact and cheap up to a team on court.
MAX_EXACT_ASSIGNMENT_TRACKS = 7


def is_allowed(position: str, area: str) -> bool:
    if position not in ALLOWED_AREAS:
        raise ValueError(f"Unknown position {position!r}; expected one of {', '.join(POSITIONS)}.")
    if area not in AREAS:
        raise ValueError(f"Unknown area {area!r}; expected one of {', '.join(AREAS)}.")
    return area in ALLOWED_AREAS[position]


def areas_of_rows(zone_index: np.ndarray, attacking_end: np.ndarray) -> np.ndarray:
    """Area index per row from its zone index and the index in ENDS of the end its team
    attacks (-1, no team or direction -> out)."""
    out = np.full(len(zone_index), OUT, np.int8)
    for end_code, end in enumerate(ENDS):
        rows = attacking_end == end_code
        out[rows] = AREA_OF_ZONE_INDEX[end][zone_index[rows]]
    return out


def areas_of_tracks(
    tracks: Tracks,
    team_of: dict[int, str],
    period_of_frame: np.ndarray,
    directions: dict[int, dict[str, str]],
    zone_index: np.ndarray,
) -> np.ndarray:
    """Area index per row, from its zone and the end its team attacks in that row's period.

    Works in small integer codes per row (not strings): an hour has over a million rows.
    """
    team_names = ("A", "B")
    code_of_track = np.zeros(int(tracks.track_id.max(initial=0)) + 1, np.int8)
    for t, team in team_of.items():
        if team in team_names:
            code_of_track[t] = team_names.index(team) + 1
    team_rows = code_of_track[tracks.track_id]
    end_rows = np.full(len(tracks), -1, np.int8)
    row_period = period_of_frame[tracks.frame]
    for p, ends in directions.items():
        in_period = row_period == p
        for team, end in ends.items():
            if team in team_names:
                end_rows[in_period & (team_rows == team_names.index(team) + 1)] = ENDS.index(end)
    return areas_of_rows(zone_index, end_rows)


def area_shares(area_index: np.ndarray) -> np.ndarray:
    """Share of a track's on-court rows in each area (the 'out' share is dropped)."""
    counts = np.bincount(area_index[area_index != OUT], minlength=len(AREAS)).astype(float)
    total = counts.sum()
    return counts / total if total else counts


def position_cost(position: str, shares: np.ndarray) -> float:
    allowed = ALLOWED_MASK[position]
    outside = float(shares[~allowed].sum())
    unused = int((allowed & (shares < AREA_VISIT_MIN_SHARE))[:OUT].sum())
    return outside + UNUSED_AREA_COST * unused


def suggest_positions(
    shares_by_track: dict[int, np.ndarray], rows_by_track: dict[int, int], taken: set[str]
) -> dict[int, str]:
    """One team's suggested positions: the longest-seen tracks get distinct positions (not
    those the analyst already gave), the rest (substitutes, broken tracks) their best fit."""
    tids = sorted(shares_by_track, key=lambda t: (-rows_by_track.get(t, 0), t))
    free = [p for p in POSITIONS if p not in taken]
    main = tids[: min(len(free), MAX_EXACT_ASSIGNMENT_TRACKS)]
    cost = {(t, p): position_cost(p, shares_by_track[t]) for t in tids for p in POSITIONS}
    best: tuple[float, tuple[str, ...]] | None = None
    for perm in itertools.permutations(free, len(main)):
        total = sum(cost[(t, p)] for t, p in zip(main, perm, strict=True))
        if best is None or total < best[0] - 1e-12:
            best = (total, perm)
    out = dict(zip(main, best[1], strict=True)) if best else {}
    for t in tids[len(main) :]:
        out[t] = min(POSITIONS, key=lambda p: (cost[(t, p)], POSITIONS.index(p)))
    return out


@dataclass(frozen=True)
class OffsideSpell:
    track_id: int
    position: str
    start_frame: int
    end_frame: int
    area: str
    court_xy: tuple[float, float]


def offside_spells(
    track_id: int,
    position: str,
    frames: np.ndarray,
    area_index: np.ndarray,
    court_xy: np.ndarray,
    tolerance_frames: int,
) -> list[OffsideSpell]:
    """Runs of consecutive frames outside the position's areas lasting more than the
    tolerance. Off the court ('out') is not offside: that is a different infringement."""
    bad = ~ALLOWED_MASK[position][area_index] & (area_index != OUT)
    if not bad.any():
        return []
    idx = np.flatnonzero(bad)
    breaks = np.flatnonzero(np.diff(frames[idx]) != 1) + 1
    out = []
    for run in np.split(idx, breaks):
        first, last = int(frames[run[0]]), int(frames[run[-1]])
        if last - first + 1 <= tolerance_frames:
            continue
        area = AREAS[int(np.bincount(area_index[run]).argmax())]
        x, y = court_xy[run[0]]
        out.append(OffsideSpell(track_id, position, first, last, area, (float(x), float(y))))
    return out
