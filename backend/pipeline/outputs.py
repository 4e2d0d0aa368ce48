"""Stage 1's data files: tracks.csv and ball.csv columns, formatting, software versions."""

from __future__ import annotations

import csv
import importlib.metadata
import math
from pathlib import Path

import numpy as np

TRACKS_COLUMNS = (
    "frame", "time_s", "track_id", "class", "team", "x1", "y1", "x2", "y2",
    "confidence", "source", "court_x", "court_y", "zone",
)  # fmt: skip
BALL_COLUMNS = (
    "frame",
    "time_s",
    "x",
    "y",
    "source",
    "state",
    "holder_track_id",
    "court_x",
    "court_y",
)
BALL_TRACK_ID = 0  # player IDs start at 1, so 0 marks the ball's rows in tracks.csv


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.{digits}f}"


def finalize_tracks_csv(raw: Path, final: Path, teams: dict[int, str], keep: set[int]) -> int:
    """Stream the raw rows into tracks.csv with each track's final team, dropping noise tracks."""
    rows = 0
    team_col = TRACKS_COLUMNS.index("team")
    with raw.open(newline="") as src, final.open("w", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        for row in reader:
            if row[3] == "player":
                tid = int(row[2])
                if tid not in keep:
                    continue
                row[team_col] = teams.get(tid, "")
            writer.writerow(row)
            rows += 1
    return rows


def software_versions() -> dict[str, str]:
    import platform

    import av
    import cv2

    import backend

    # Read from the installed packages' metadata: importing torch only to print its version
    # would cost ~1.4 s of an analysis that never runs it (OpenVINO does the detecting).
    return {
        "courtside": backend.__version__, "python": platform.python_version(),
        "torch": _installed_version("torch"), "ultralytics": _installed_version("ultralytics"),
        "opencv": cv2.__version__, "av": av.__version__, "numpy": np.__version__,
        **_optional_version("openvino"),
    }  # fmt: skip


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _optional_version(module: str) -> dict[str, str]:
    try:
        return {module: str(__import__(module).__version__).split("-")[0]}
    except ImportError:
        return {}
