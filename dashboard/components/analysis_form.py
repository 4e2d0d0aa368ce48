"""The analysis settings form shared by browser uploads and the server inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st

from backend.pipeline.settings import PipelineSettings

IMGSZ_CHOICES_PX = (320, 416, 480, 640, 800, 960)
PRIORITIES = ("normal", "high", "low")
_DEFAULTS = PipelineSettings()


@dataclass(frozen=True)
class AnalysisChoices:
    priority: str
    settings: dict[str, Any]


def analysis_settings_ui(*, key_prefix: str) -> AnalysisChoices:
    """Stride, input size, priority, team names and optional match details."""
    left, middle, right = st.columns(3)
    frame_stride = left.number_input(
        "Detect on every Nth frame",
        min_value=1,
        max_value=10,
        value=_DEFAULTS.frame_stride,
        help="Higher is faster; the frames in between get interpolated positions. "
        "1 follows fast movement most closely.",
        key=f"{key_prefix}_stride",
    )
    imgsz = middle.selectbox(
        "Detector input size (px)",
        IMGSZ_CHOICES_PX,
        index=IMGSZ_CHOICES_PX.index(_DEFAULTS.imgsz),
        help="Larger finds small, distant players better but is slower.",
        key=f"{key_prefix}_imgsz",
    )
    priority = right.selectbox(
        "Priority",
        PRIORITIES,
        help="High-priority jobs start before normal and low ones waiting in the queue.",
        key=f"{key_prefix}_priority",
    )
    team_a, team_b = st.columns(2)
    name_a = team_a.text_input("Team A name", placeholder="Team A", key=f"{key_prefix}_team_a")
    name_b = team_b.text_input("Team B name", placeholder="Team B", key=f"{key_prefix}_team_b")
    settings: dict[str, Any] = {"frame_stride": int(frame_stride), "imgsz": int(imgsz)}
    team_names = {
        label: name.strip() for label, name in (("A", name_a), ("B", name_b)) if name.strip()
    }
    if team_names:
        settings["team_names"] = team_names
    match = match_details_ui(key_prefix=key_prefix)
    if match:
        settings["match"] = match
    return AnalysisChoices(priority=str(priority), settings=settings)


def match_details_ui(*, key_prefix: str) -> dict[str, str]:
    """Optional: date, competition and the home/away teams. Empty fields are left out."""
    with st.expander("Match details (optional)"):
        when: date | None = st.date_input("Match date", value=None, key=f"{key_prefix}_date")
        competition = st.text_input("Competition", key=f"{key_prefix}_competition")
        home_col, away_col = st.columns(2)
        home = home_col.text_input("Home team", key=f"{key_prefix}_home")
        away = away_col.text_input("Away team", key=f"{key_prefix}_away")
    details = {
        "date": when.isoformat() if when else "",
        "competition": competition.strip(),
        "home": home.strip(),
        "away": away.strip(),
    }
    return {key: value for key, value in details.items() if value}
