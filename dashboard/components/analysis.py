"""Pure pandas views of tracks.csv for the charts: positions in court or image space.

Possession is stage 2's (possession.csv); nothing here recomputes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Space = Literal["court", "image"]

# Below this share of player rows with court coordinates the calibration is not trusted for charts.
COURT_SPACE_MIN_SHARE = 0.5
TEAM_LABELS = ("A", "B")


@dataclass(frozen=True)
class Frame:
    """The drawing area: metres of the court, or pixels of the video when uncalibrated."""

    space: Space
    width: float
    height: float

    @property
    def unit(self) -> str:
        return "m" if self.space == "court" else "px"


def players(tracks: pd.DataFrame) -> pd.DataFrame:
    return tracks[tracks["class"] == "player"]


def ball(tracks: pd.DataFrame) -> pd.DataFrame:
    return tracks[tracks["class"] == "ball"]


def choose_space(tracks: pd.DataFrame) -> Space:
    people = players(tracks)
    if people.empty:
        return "image"
    calibrated = people["court_x"].notna() & people["court_y"].notna()
    return "court" if calibrated.mean() >= COURT_SPACE_MIN_SHARE else "image"


def positions(tracks: pd.DataFrame, space: Space) -> pd.DataFrame:
    """One x/y point per row: court metres, or the image point the object stands on.

    In image space a player stands at the bottom centre of the box; the ball is its centre.
    """
    out = tracks.copy()
    if space == "court":
        out["x"] = out["court_x"]
        out["y"] = out["court_y"]
    else:
        out["x"] = (out["x1"] + out["x2"]) / 2
        is_ball = out["class"] == "ball"
        out["y"] = np.where(is_ball, (out["y1"] + out["y2"]) / 2, out["y2"])
    if "time_s" not in out or out["time_s"].isna().all():
        out["time_s"] = out["frame"].astype(float)
    return out.dropna(subset=["x", "y"])


def drawing_frame(tracks: pd.DataFrame, space: Space, summary: dict) -> Frame:
    if space == "court":
        from dashboard.components.court import COURT_LENGTH_M, COURT_WIDTH_M

        return Frame("court", COURT_LENGTH_M, COURT_WIDTH_M)
    video = summary.get("video") or {}
    width = video.get("width") or float(tracks["x2"].max() if not tracks.empty else 0) or 1.0
    height = video.get("height") or float(tracks["y2"].max() if not tracks.empty else 0) or 1.0
    return Frame("image", float(width), float(height))
