"""Quarters and which end each team attacks in each of them (ends change every period)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.analytics.court import ZONES, other_end

LEFT_CIRCLE, RIGHT_CIRCLE = ZONES.index("left_circle"), ZONES.index("right_circle")


@dataclass(frozen=True)
class Period:
    number: int  # 1-based
    start_frame: int
    end_frame: int  # inclusive

    def to_dict(self, fps: float) -> dict:
        return {
            "number": self.number,
            "start_s": round(self.start_frame / fps, 3),
            "end_s": round((self.end_frame + 1) / fps, 3),
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
        }


def build_periods(spec: list[dict], n_frames: int, fps: float) -> list[Period]:
    """The analyst's periods in frames, clipped to the video; none given: the clip is one."""
    if not spec:
        return [Period(1, 0, max(0, n_frames - 1))]
    out = []
    for i, p in enumerate(spec, start=1):
        start = max(0, round(p["start_s"] * fps))
        end = min(n_frames, round(p["end_s"] * fps)) - 1
        if end < start:
            raise ValueError(
                f"period {i} ({p['start_s']}..{p['end_s']} s) lies outside the video "
                f"({n_frames / fps:.2f} s)."
            )
        out.append(Period(i, start, end))
    return out


def period_of_frames(periods: list[Period], n_frames: int) -> np.ndarray:
    """(n_frames,) int16 period number; 0 between periods (breaks are not play)."""
    out = np.zeros(n_frames, np.int16)
    for p in periods:
        out[p.start_frame : p.end_frame + 1] = p.number
    return out


def directions_for(periods: list[Period], team_a_first: str) -> dict[int, dict[str, str]]:
    """{period: {"A": end, "B": end}}: Team A attacks `team_a_first` in period 1, then ends
    change every period."""
    out = {}
    end = team_a_first
    for p in periods:
        out[p.number] = {"A": end, "B": other_end(end)}
        end = other_end(end)
    return out


def infer_team_a_first(
    period_of_frame: np.ndarray,
    holder_team: np.ndarray,
    holder_zone: np.ndarray,
) -> str | None:
    """Where Team A attacked in period 1, from where each team held the ball in a circle.

    A team holds the ball in its attacking circle (shooters) far more than in its defending
    one (a rebound or an intercept there is quickly passed out), so each frame of A in the
    right circle or B in the left circle votes "A attacks right" for its period; votes of the
    other periods are flipped by the change of ends. None when there is no circle play.
    """
    held = period_of_frame > 0
    sign = np.where(period_of_frame % 2 == 1, 1, -1)
    votes = np.zeros(len(holder_team), np.int64)
    votes[(holder_team == "A") & (holder_zone == RIGHT_CIRCLE)] = 1
    votes[(holder_team == "B") & (holder_zone == LEFT_CIRCLE)] = 1
    votes[(holder_team == "A") & (holder_zone == LEFT_CIRCLE)] = -1
    votes[(holder_team == "B") & (holder_zone == RIGHT_CIRCLE)] = -1
    total = int((votes * sign)[held].sum())
    if total == 0:
        return None
    return "right" if total > 0 else "left"
