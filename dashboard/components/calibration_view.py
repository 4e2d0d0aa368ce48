"""What the Calibrate page shows, without Streamlit: the landmark prompts, clicks and fit drawn
on the frame, the points table and the players placed on the court by a candidate fit."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from backend.analytics.court import DEFAULT_COURT
from backend.services.calibration import (
    LANDMARK_LABELS,
    CalibrationFit,
    draw_court_lines,
    map_points,
)
from dashboard.components.court import court_figure

# The order the page asks for landmarks: the corners first (most often visible and the best
# spread), then the lines between them, the centre and the goal circles.
LANDMARK_ORDER = (
    "far_left_corner",
    "far_right_corner",
    "near_right_corner",
    "near_left_corner",
    "far_left_third",
    "far_right_third",
    "near_left_third",
    "near_right_third",
    "centre",
    "left_circle_far",
    "left_circle_near",
    "right_circle_far",
    "right_circle_near",
    "left_goal_post",
    "right_goal_post",
)
assert set(LANDMARK_ORDER) == set(DEFAULT_COURT.landmarks_m())
CLICK_COLOUR_BGR = (0, 215, 255)
PREVIEW_COLOUR_BGR = {"ok": (80, 200, 60), "unsure": (0, 165, 255), "refused": (60, 60, 230)}
STATUS_ICONS = {
    "ok": ":material/check_circle:",
    "unsure": ":material/help:",
    "refused": ":material/block:",
}
TEAM_COLOURS = {"A": "#dc2626", "B": "#2563eb", "other": "#6b7280", "": "#6b7280"}


def next_landmark(clicked: dict[str, list[float]]) -> str | None:
    """The first landmark in LANDMARK_ORDER not clicked yet (None when all are)."""
    return next((name for name in LANDMARK_ORDER if name not in clicked), None)


def label(name: str) -> str:
    return LANDMARK_LABELS.get(name, name)


def annotated_frame(
    frame_bgr: np.ndarray, clicked: dict[str, list[float]], fit: CalibrationFit | None
) -> np.ndarray:
    """RGB frame with the court lines of the fit (coloured by its status) and numbered clicks."""
    out = frame_bgr.copy()
    if fit is not None and fit.homography is not None:
        colour = PREVIEW_COLOUR_BGR[fit.status]
        out = draw_court_lines(out, fit.homography, color_bgr=colour, thickness_px=2)
    radius = max(4, round(out.shape[1] / 200))
    for number, (x, y) in enumerate(clicked.values(), start=1):
        centre = (round(x), round(y))
        cv2.circle(out, centre, radius, CLICK_COLOUR_BGR, 2, cv2.LINE_AA)
        cv2.putText(
            out, f"{number}", (centre[0] + radius + 2, centre[1] - radius),
            cv2.FONT_HERSHEY_SIMPLEX, 0.5, CLICK_COLOUR_BGR, 1, cv2.LINE_AA,
        )  # fmt: skip
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def points_table(clicked: dict[str, list[float]], fit: CalibrationFit | None) -> pd.DataFrame:
    """One row a clicked landmark: its pixel, court position and error once fitted."""
    errors = {p.name: p for p in fit.points} if fit is not None else {}
    court = DEFAULT_COURT.landmarks_m()
    rows = []
    for number, (name, (x, y)) in enumerate(clicked.items(), start=1):
        point = errors.get(name)
        rows.append(
            {
                "#": number,
                "landmark": label(name),
                "x (px)": round(x, 1),
                "y (px)": round(y, 1),
                "court x (m)": court[name][0],
                "court y (m)": court[name][1],
                "error (m)": None
                if point is None or point.error_m is None
                else round(point.error_m, 3),
                "used": None if point is None else point.used,
            }
        )
    return pd.DataFrame(rows)


def players_on_court(tracks: pd.DataFrame | None, frame: int, homography) -> pd.DataFrame:
    """The players of one video frame (bottom centre of each box) mapped by a candidate fit."""
    if tracks is None or tracks.empty or homography is None:
        return pd.DataFrame(columns=["track_id", "team", "x", "y"])
    people = tracks[tracks["class"] == "player"]
    if people.empty:
        return pd.DataFrame(columns=["track_id", "team", "x", "y"])
    nearest = int(people["frame"].iloc[(people["frame"] - frame).abs().argmin()])
    rows = people[people["frame"] == nearest]
    feet = np.c_[(rows["x1"] + rows["x2"]) / 2, rows["y2"]]
    court = map_points(np.asarray(homography, np.float64), feet)
    return pd.DataFrame(
        {"track_id": rows["track_id"].to_numpy(), "team": rows["team"].to_numpy(),
         "x": court[:, 0], "y": court[:, 1]}
    )  # fmt: skip


def players_figure(players: pd.DataFrame) -> go.Figure:
    figure = court_figure(title="Players placed by this calibration", height_px=320)
    for team, rows in players.groupby("team", sort=True):
        figure.add_scatter(
            x=rows["x"], y=rows["y"], mode="markers+text", text=rows["track_id"].astype(str),
            textposition="top center", name=f"Team {team}" if team else "unknown",
            marker={"size": 11, "color": TEAM_COLOURS.get(str(team), "#6b7280")},
        )  # fmt: skip
    return figure
