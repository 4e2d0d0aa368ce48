"""Pure pandas views of tracks.csv for the charts: positions and a possession estimate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Space = Literal["court", "image"]

# A team "has" the ball when its nearest player is this close. On the court the distance is in
# metres; in image space it is relative to the player's box height, so it holds at any zoom.
POSSESSION_MAX_DISTANCE_M = 1.5
POSSESSION_MAX_DISTANCE_BOX_HEIGHTS = 0.75
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


def possession_by_frame(tracks: pd.DataFrame, space: Space) -> pd.DataFrame:
    """For each frame with a ball: the team of the nearest player if close enough, else ''.

    Columns: frame, time_s, team, track_id (of the holder, -1 when loose).
    """
    located = positions(tracks, space)
    balls = ball(located).sort_values("confidence", ascending=False, na_position="last")
    balls = balls.drop_duplicates("frame")[["frame", "time_s", "x", "y"]]
    people = players(located)
    people = people[people["team"].isin(TEAM_LABELS)]
    people = people.assign(box_h=(people["y2"] - people["y1"]).clip(lower=1.0))
    if balls.empty:
        return pd.DataFrame(columns=["frame", "time_s", "team", "track_id"])
    pairs = balls.merge(
        people[["frame", "x", "y", "team", "track_id", "box_h"]], on="frame", suffixes=("", "_p")
    )
    pairs["distance"] = np.hypot(pairs["x"] - pairs["x_p"], pairs["y"] - pairs["y_p"])
    if space == "court":
        pairs["close"] = pairs["distance"] <= POSSESSION_MAX_DISTANCE_M
    else:
        # Measure to the middle of the body, not the feet, so a ball held at chest height counts.
        mid_y = pairs["y_p"] - pairs["box_h"] / 2
        pairs["distance"] = np.hypot(pairs["x"] - pairs["x_p"], pairs["y"] - mid_y)
        pairs["close"] = pairs["distance"] <= POSSESSION_MAX_DISTANCE_BOX_HEIGHTS * pairs["box_h"]
    nearest = pairs[pairs["close"]].sort_values("distance").drop_duplicates("frame")
    result = balls[["frame", "time_s"]].merge(
        nearest[["frame", "team", "track_id"]], on="frame", how="left"
    )
    result["team"] = result["team"].fillna("").astype(str)
    result["track_id"] = result["track_id"].fillna(-1).astype(int)
    return result.sort_values("frame").reset_index(drop=True)


def possession_from_ball(ball_rows: pd.DataFrame, tracks: pd.DataFrame) -> pd.DataFrame:
    """The pipeline's own ball holder per frame (ball.csv) turned into teams.

    Same columns as `possession_by_frame`; a ball in flight or without a holder is ''.
    """
    needed = {"frame", "time_s", "holder_track_id"}
    if not needed <= set(ball_rows.columns):
        raise ValueError(f"ball.csv needs the columns {', '.join(sorted(needed))}")
    people = players(tracks)
    team_of = (
        people[people["team"].isin(TEAM_LABELS)]
        .groupby("track_id")["team"]
        .agg(lambda values: values.mode().iat[0])
    )
    holders = pd.to_numeric(ball_rows["holder_track_id"], errors="coerce")
    result = pd.DataFrame(
        {
            "frame": ball_rows["frame"].astype(int),
            "time_s": pd.to_numeric(ball_rows["time_s"], errors="coerce"),
            "team": holders.map(team_of).fillna("").astype(str),
            "track_id": holders.fillna(-1).astype(int),
        }
    )
    return result.sort_values("frame").reset_index(drop=True)


def possession_segments(by_frame: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive frames with the same team: team, start_s, end_s, duration_s."""
    columns = ["team", "start_s", "end_s", "duration_s"]
    if by_frame.empty:
        return pd.DataFrame(columns=columns)
    frames = by_frame.sort_values("frame")
    step_s = float(frames["time_s"].diff().median()) if len(frames) > 1 else 0.0
    step_s = step_s if step_s > 0 else 1.0
    run_id = (frames["team"] != frames["team"].shift()).cumsum()
    segments = frames.groupby(run_id).agg(
        team=("team", "first"), start_s=("time_s", "min"), end_s=("time_s", "max")
    )
    segments["end_s"] = segments["end_s"] + step_s
    segments["duration_s"] = segments["end_s"] - segments["start_s"]
    return segments[columns].reset_index(drop=True)


def possession_shares(segments: pd.DataFrame) -> dict[str, float]:
    """Share of the time either team held the ball (loose-ball time left out), 0-1."""
    held = segments[segments["team"].isin(TEAM_LABELS)]
    total = float(held["duration_s"].sum())
    if total <= 0:
        return {}
    return {
        team: float(held.loc[held["team"] == team, "duration_s"].sum()) / total
        for team in TEAM_LABELS
    }
