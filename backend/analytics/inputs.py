"""What the analyst gives stage 2 (calibration, periods, positions, corrections) and its settings.

Everything is JSON-serialisable (`to_dict` / `from_dict`) so a job can store it and rerun the
stage; `from_dict` rejects bad values with a ValueError that names the field and what was
expected, so a typo in a saved file never silently changes a statistic.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

POSITIONS = ("GS", "GA", "WA", "C", "WD", "GD", "GK")
TEAM_LABELS = ("A", "B", "other")
PLAYING_TEAMS = ("A", "B")
EVENT_TYPES = (
    "possession_start",
    "pass",
    "turnover",
    "gain",
    "intercept",
    "three_seconds",
    "offside",
    "shot",
    "centre_pass",
)
EVENT_FIELDS_EDITABLE = (
    "frame",
    "time_s",
    "type",
    "team",
    "track_id",
    "to_track_id",
    "court_x",
    "court_y",
    "outcome",
    "confidence",
    "details",
)
SHOT_OUTCOMES = ("goal", "miss", "unknown")


@dataclass(frozen=True)
class AnalyticsSettings:
    """Every threshold of stage 2, with its unit in the name.

    Distances in metres are measured at the player: with a calibration from the court mapping
    at the player's feet, without one from the player's box height (`player_height_m`).
    """

    # Ball at a player's hands: within this of the hands region, a catch starts. Raising it
    # lets a ball flying past count as caught; lowering it misses catches at arm's length.
    hold_distance_m: float = 0.6
    # The holder keeps the ball while it stays within this (hysteresis: larger than the catch
    # distance, so a ball jiggling at the hands does not flicker between holders).
    release_distance_m: float = 1.0
    # The ball this close to the hands region is in the hands: a hold starts and ends there
    # (the catch and release distances above only decide whether it is held at all).
    in_hands_m: float = 0.3
    # A catch counts once the ball stays at the new player's hands this long.
    catch_min_s: float = 0.12
    # ... and the ball moves at most this fast, relative to the catcher's box or in the image
    # (the smaller), over that time: metres per second at the player; 0 turns the check off.
    # A ball flying past a player's hands keeps its flight speed (5.7 m/s past the crossing
    # player on the generated 16 s pan, seed 3, frame 263); a caught one stops (0.1-1.1 m/s).
    catch_max_relative_speed_ms: float = 3.0
    # The ball must be away from the holder this long before the holder lets go of it.
    release_min_s: float = 0.08
    # The ball unseen (hidden by a body) for at most this long stays with its holder.
    ball_missing_max_s: float = 0.5
    # The holder unseen (hidden behind a nearer player) for at most this long keeps the ball
    # while it stays within release_distance_m of their hands where last seen, instead of
    # the nearer player, whose box covers it then, taking it. 0: the nearer player takes it.
    holder_hidden_max_s: float = 0.5
    # Assumed standing height, turning a box height in pixels into metres when uncalibrated.
    player_height_m: float = 1.75
    # Hold beyond this is a three-second violation (netball rule: 3 s).
    three_seconds_limit_s: float = 3.0
    # Outside the position's areas longer than this is offside (tracking jitter at lines
    # makes a few frames over a line meaningless).
    offside_tolerance_s: float = 0.5
    # A pass is forward/back when it moves this far towards/away from the attacking goal.
    pass_direction_min_m: float = 1.0
    # A shot's ball must come this much closer to the post within shot_window_s.
    shot_min_approach_m: float = 0.5
    shot_window_s: float = 0.6
    # A ball caught by the other team this close to the centre after a shot means a goal
    # (the restart is a centre pass).
    goal_restart_radius_m: float = 1.5
    # The path of a lost ball: an opponent within this of the line from the passer to a
    # team-mate, before the team-mate, intercepted it.
    intercept_lane_m: float = 1.5
    # Position smoothing window before speeds are taken (tracking noise doubles as speed).
    speed_smoothing_s: float = 0.4
    # Faster than this (m/s) is a tracking jump, not running; such steps are not counted.
    max_speed_ms: float = 10.0
    # A track seen for less than this is a detection blip, not a player.
    min_track_s: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"settings.{f.name} must be a number, got {value!r}.")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"settings.{f.name} must be a finite number >= 0, got {value}.")
        if self.release_distance_m < self.hold_distance_m:
            raise ValueError(
                "settings.release_distance_m must be at least hold_distance_m "
                f"({self.release_distance_m} < {self.hold_distance_m})."
            )
        if self.player_height_m <= 0 or self.max_speed_ms <= 0:
            raise ValueError("settings.player_height_m and max_speed_ms must be above 0.")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AnalyticsSettings:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"settings must be a mapping, got {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown analytics setting(s): {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(known))}."
            )
        return cls(**data)


def _track_id(key: Any, what: str) -> int:
    try:
        tid = int(key)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: track id {key!r} is not a whole number.") from None
    if tid < 1 or str(tid) != str(key).strip():
        raise ValueError(f"{what}: track id {key!r} must be a whole number >= 1.")
    return tid


def _homography(value: Any) -> list[list[float]] | None:
    if value is None:
        return None
    try:
        rows = [[float(v) for v in row] for row in value]
    except (TypeError, ValueError):
        raise ValueError("homography must be a 3x3 list of numbers.") from None
    if len(rows) != 3 or any(len(r) != 3 for r in rows):
        shape = f"{len(rows)}x{'/'.join(str(len(r)) for r in rows)}"
        raise ValueError(f"homography must be 3x3, got {shape}.")
    if not all(math.isfinite(v) for r in rows for v in r):
        raise ValueError("homography contains a missing or infinite number.")
    a, b, c = rows
    det = (
        a[0] * (b[1] * c[2] - b[2] * c[1])
        - a[1] * (b[0] * c[2] - b[2] * c[0])
        + a[2] * (b[0] * c[1] - b[1] * c[0])
    )
    if abs(det) < 1e-12:
        raise ValueError("homography is singular (determinant 0): it maps no court.")
    return rows


def _periods(value: Any) -> list[dict[str, float]]:
    if not value:
        return []
    if not isinstance(value, list):
        raise ValueError("periods must be a list of {start_s, end_s}.")
    out = []
    for i, p in enumerate(value, start=1):
        try:
            start, end = float(p["start_s"]), float(p["end_s"])
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"period {i} must have numeric start_s and end_s.") from None
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
            raise ValueError(f"period {i} must have 0 <= start_s < end_s, got {start}..{end}.")
        if out and start < out[-1]["end_s"]:
            raise ValueError(f"period {i} starts before period {i - 1} ends.")
        out.append({"start_s": start, "end_s": end})
    return out


def _corrections(value: Any) -> dict[str, Any]:
    value = value or {}
    if not isinstance(value, dict):
        raise ValueError("corrections must be a mapping with added/deleted/changed/confirmed.")
    unknown = sorted(set(value) - {"added", "deleted", "changed", "confirmed"})
    if unknown:
        raise ValueError(f"Unknown corrections key(s): {', '.join(unknown)}.")
    added = list(value.get("added") or [])
    for i, ev in enumerate(added, start=1):
        if not isinstance(ev, dict) or ev.get("type") not in EVENT_TYPES:
            raise ValueError(
                f"added event {i} needs a type, one of {', '.join(EVENT_TYPES)}; got "
                f"{ev.get('type') if isinstance(ev, dict) else ev!r}."
            )
        if "frame" not in ev and "time_s" not in ev:
            raise ValueError(f"added event {i} needs a frame or a time_s.")
    changed = dict(value.get("changed") or {})
    for event_id, change in changed.items():
        if not isinstance(change, dict):
            raise ValueError(f"change of {event_id} must be a mapping of field -> value.")
        bad = sorted(set(change) - set(EVENT_FIELDS_EDITABLE))
        if bad:
            raise ValueError(
                f"change of {event_id}: field(s) {', '.join(bad)} cannot be edited; "
                f"editable: {', '.join(EVENT_FIELDS_EDITABLE)}."
            )
        if "type" in change and change["type"] not in EVENT_TYPES:
            raise ValueError(f"change of {event_id}: unknown type {change['type']!r}.")
        if "team" in change and change["team"] not in TEAM_LABELS:
            raise ValueError(f"change of {event_id}: team must be A, B or other.")
        if "outcome" in change and change["outcome"] not in (*SHOT_OUTCOMES, None):
            raise ValueError(f"change of {event_id}: outcome must be goal, miss or unknown.")
    return {
        "added": added,
        "deleted": [str(e) for e in value.get("deleted") or []],
        "changed": {str(k): v for k, v in changed.items()},
        "confirmed": [str(e) for e in value.get("confirmed") or []],
    }


@dataclass(frozen=True)
class AnalyticsInputs:
    homography: list[list[float]] | None = None
    periods: list[dict[str, float]] = field(default_factory=list)
    team_a_attacks: str | None = None
    positions: dict[int, str] = field(default_factory=dict)
    team_overrides: dict[int, str] = field(default_factory=dict)
    team_names: dict[str, str] = field(default_factory=lambda: {"A": "Team A", "B": "Team B"})
    corrections: dict[str, Any] = field(default_factory=dict)
    settings: AnalyticsSettings = field(default_factory=AnalyticsSettings)

    def __post_init__(self) -> None:
        # Validate and normalise through from_dict's rules even when built directly.
        object.__setattr__(self, "homography", _homography(self.homography))
        object.__setattr__(self, "periods", _periods(self.periods))
        if self.team_a_attacks not in (None, "right", "left"):
            raise ValueError(
                f"team_a_attacks must be 'right', 'left' or null, got {self.team_a_attacks!r}."
            )
        positions = {}
        for key, pos in dict(self.positions).items():
            tid = _track_id(key, "positions")
            if pos not in POSITIONS:
                raise ValueError(
                    f"positions: track {tid} has position {pos!r}; expected one of "
                    f"{', '.join(POSITIONS)}."
                )
            positions[tid] = pos
        object.__setattr__(self, "positions", positions)
        overrides = {}
        for key, team in dict(self.team_overrides).items():
            tid = _track_id(key, "team_overrides")
            if team not in TEAM_LABELS:
                raise ValueError(f"team_overrides: track {tid} has team {team!r}; use A, B, other.")
            overrides[tid] = team
        object.__setattr__(self, "team_overrides", overrides)
        names = {"A": "Team A", "B": "Team B", **dict(self.team_names or {})}
        if set(names) - set(PLAYING_TEAMS) or not all(isinstance(v, str) for v in names.values()):
            raise ValueError("team_names must map A and B to names (text).")
        object.__setattr__(self, "team_names", names)
        object.__setattr__(self, "corrections", _corrections(self.corrections))
        if not isinstance(self.settings, AnalyticsSettings):
            object.__setattr__(self, "settings", AnalyticsSettings.from_dict(self.settings))

    def to_dict(self) -> dict[str, Any]:
        return {
            "homography": self.homography,
            "periods": self.periods,
            "team_a_attacks": self.team_a_attacks,
            "positions": {str(k): v for k, v in sorted(self.positions.items())},
            "team_overrides": {str(k): v for k, v in sorted(self.team_overrides.items())},
            "team_names": dict(self.team_names),
            "corrections": self.corrections,
            "settings": self.settings.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AnalyticsInputs:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"analytics inputs must be a mapping, got {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown analytics input(s): {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(known))}."
            )
        kwargs = dict(data)
        kwargs["settings"] = AnalyticsSettings.from_dict(data.get("settings"))
        for key in ("positions", "team_overrides", "team_names", "corrections"):
            if kwargs.get(key) is None:
                kwargs.pop(key, None)
        if kwargs.get("periods") is None:
            kwargs.pop("periods", None)
        return cls(**kwargs)
