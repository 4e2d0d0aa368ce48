"""heatmap_<team>.png: where each team's players were, on a drawn court when calibrated and on
the video's background frame otherwise. Part of stage 2 so a new calibration or a team
correction redraws them without running detection again."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from backend.analytics.court import DEFAULT_COURT, NetballCourt

HEATMAP_CELL_M = 0.5
HEATMAP_IMAGE_CELLS = 64
HEATMAP_PX_PER_M = 20.0
BACKGROUND_DIM = 0.6
CHUNK_ROWS = 200_000
LINE_BGR = (235, 235, 235)
FLOOR_BGR = (60, 120, 170)
GRASS_BGR = (50, 90, 50)
TEAMS = ("A", "B")


def court_diagram(
    px_per_m: float, court: NetballCourt = DEFAULT_COURT, pad_m: float = 1.0
) -> np.ndarray:
    """A top-down court picture; court point (x, y) m is at ((x + pad) * s, (y + pad) * s)."""
    s = px_per_m
    w = round((court.length_m + 2 * pad_m) * s)
    h = round((court.width_m + 2 * pad_m) * s)
    img = np.full((h, w, 3), GRASS_BGR, np.uint8)

    def p(x: float, y: float) -> tuple[int, int]:
        return round((x + pad_m) * s), round((y + pad_m) * s)

    thick = max(1, round(s / 12))
    cv2.rectangle(img, p(0, 0), p(court.length_m, court.width_m), FLOOR_BGR, -1)
    cv2.rectangle(img, p(0, 0), p(court.length_m, court.width_m), LINE_BGR, thick)
    t = court.third_length_m
    for x in (t, 2 * t):
        cv2.line(img, p(x, 0), p(x, court.width_m), LINE_BGR, thick)
    r = round(court.goal_circle_radius_m * s)
    cy = court.width_m / 2
    cv2.ellipse(img, p(0, cy), (r, r), 0, -90, 90, LINE_BGR, thick)
    cv2.ellipse(img, p(court.length_m, cy), (r, r), 0, 90, 270, LINE_BGR, thick)
    centre_r = max(1, round(court.centre_circle_diameter_m / 2 * s))
    cv2.circle(img, p(court.length_m / 2, cy), centre_r, LINE_BGR, thick)
    return img


def render_heatmap(grid: np.ndarray, base: np.ndarray, title: str) -> np.ndarray:
    """Blend a density grid (any shape) over `base`, stretched to its size."""
    h, w = base.shape[:2]
    img = base.copy()
    if grid.max() > 0:
        density = cv2.resize(grid.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        density = cv2.GaussianBlur(density, (0, 0), sigmaX=max(2.0, w / 60))
        norm = (density / density.max() * 255).astype(np.uint8)
        colored = cv2.applyColorMap(norm, cv2.COLORMAP_JET)
        alpha = (norm.astype(np.float32) / 255 * 0.75)[..., None]
        alpha[norm < 8] = 0
        img = (img * (1 - alpha) + colored * alpha).astype(np.uint8)
    for color, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(img, title, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, color, width, cv2.LINE_AA)
    return img


def team_grids(
    tracks_csv: Path,
    *,
    calibrated: bool,
    frame_size: tuple[int, int],
    team_of: Mapping[int, str],
    court: NetballCourt = DEFAULT_COURT,
) -> dict[str, np.ndarray]:
    """Occupancy counts per team: court cells of HEATMAP_CELL_M, or image cells, streamed."""
    width, height = frame_size
    if calibrated:
        shape = (
            math.ceil(court.width_m / HEATMAP_CELL_M),
            math.ceil(court.length_m / HEATMAP_CELL_M),
        )
    else:
        shape = (max(1, round(HEATMAP_IMAGE_CELLS * height / max(width, 1))), HEATMAP_IMAGE_CELLS)
    grids = {team: np.zeros(shape, np.float32) for team in TEAMS}
    rows, cols = shape
    columns = ["class", "track_id", "x1", "x2", "y2", "court_x", "court_y"]
    numeric = dict.fromkeys(["x1", "x2", "y2", "court_x", "court_y"], "float64")
    reader = pd.read_csv(tracks_csv, usecols=columns, dtype=numeric, chunksize=CHUNK_ROWS)
    for chunk in reader:
        chunk = chunk[chunk["class"] == "player"]
        team = chunk["track_id"].map(lambda tid: team_of.get(int(tid), ""))
        if calibrated:
            r = (chunk["court_y"] / court.width_m * rows).to_numpy()
            c = (chunk["court_x"] / court.length_m * cols).to_numpy()
        else:
            r = (chunk["y2"] / max(height, 1) * rows).to_numpy()
            c = ((chunk["x1"] + chunk["x2"]) / 2 / max(width, 1) * cols).to_numpy()
        ok = np.isfinite(r) & np.isfinite(c)
        for label, grid in grids.items():
            sel = ok & (team.to_numpy() == label)
            ri, ci = r[sel].astype(int), c[sel].astype(int)
            inside = (ri >= 0) & (ri < rows) & (ci >= 0) & (ci < cols)
            np.add.at(grid, (ri[inside], ci[inside]), 1)
    return grids


def write_heatmaps(
    out_dir: Path,
    *,
    calibrated: bool,
    frame_size: tuple[int, int],
    team_of: Mapping[int, str],
    team_names: Mapping[str, str],
) -> list[Path]:
    """heatmap_A.png and heatmap_B.png from out_dir/tracks.csv (and background.jpg)."""
    grids = team_grids(
        out_dir / "tracks.csv", calibrated=calibrated, frame_size=frame_size, team_of=team_of
    )
    if calibrated:
        base = court_diagram(HEATMAP_PX_PER_M, pad_m=0.0)
    else:
        background = cv2.imread(str(out_dir / "background.jpg"))
        if background is None:
            width, height = frame_size
            background = np.full((max(height, 1), max(width, 1), 3), 40, np.uint8)
        base = (background * BACKGROUND_DIM).astype(np.uint8)
    paths = []
    for team in TEAMS:
        img = render_heatmap(grids[team], base, f"{team_names.get(team) or team} positions")
        path = out_dir / f"heatmap_{team}.png"
        # Encoded in memory, then written by Python: a full disk raises OSError(ENOSPC) with
        # its reason, where cv2.imwrite only returns False.
        ok, png = cv2.imencode(".png", img)
        if not ok:
            raise OSError(f"could not encode {path.name}")
        path.write_bytes(png.tobytes())
        paths.append(path)
    return paths
