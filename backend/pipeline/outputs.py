"""Data files of a run: tracks.csv (streamed), players.csv, ball.csv, per-track stats."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TRACKS_COLUMNS = (
    "frame", "time_s", "track_id", "class", "team", "x1", "y1", "x2", "y2",
    "confidence", "source", "court_x", "court_y", "zone",
)  # fmt: skip
PLAYERS_COLUMNS = (
    "track_id", "team", "team_name", "frames_seen", "frames_detected", "first_frame",
    "last_frame", "first_time_s", "last_time_s", "distance_px", "distance_m",
    "possession_frames", "mean_court_x", "mean_court_y",
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


@dataclass
class TrackStats:
    frames_seen: int = 0
    frames_detected: int = 0
    first_frame: int = -1
    last_frame: int = -1
    distance_px: float = 0.0
    distance_m: float = 0.0
    court_sum: np.ndarray = field(default_factory=lambda: np.zeros(2))
    court_n: int = 0
    last_foot_px: np.ndarray | None = None
    last_court_m: np.ndarray | None = None


class StatsCollector:
    """Per-track running figures: frames seen and detected, distance, mean court position."""

    def __init__(self, calibrated: bool) -> None:
        self.calibrated = calibrated
        self.tracks: dict[int, TrackStats] = {}

    def add(
        self,
        frame: int,
        track_id: int,
        foot_px: np.ndarray,
        court_m: np.ndarray | None,
        detected: bool,
    ) -> None:
        st = self.tracks.get(track_id)
        if st is None:
            st = self.tracks[track_id] = TrackStats(first_frame=frame)
        st.frames_seen += 1
        st.frames_detected += int(detected)
        st.last_frame = frame
        if st.last_foot_px is not None:
            st.distance_px += float(np.linalg.norm(foot_px - st.last_foot_px))
        st.last_foot_px = foot_px
        if court_m is not None and np.isfinite(court_m).all():
            if st.last_court_m is not None:
                st.distance_m += float(np.linalg.norm(court_m - st.last_court_m))
            st.last_court_m = court_m
            st.court_sum += court_m
            st.court_n += 1

    def kept(self, min_detections: int) -> set[int]:
        return {tid for tid, st in self.tracks.items() if st.frames_detected >= min_detections}

    def write_players(
        self,
        path: Path,
        teams: dict[int, str],
        names: dict[str, str],
        fps: float,
        keep: set[int],
        held_frames: Mapping[int, int],
    ) -> int:
        """`held_frames`: frames each track held the ball (PossessionTracker.held_frames)."""
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(PLAYERS_COLUMNS)
            for tid in sorted(keep):
                st = self.tracks[tid]
                team = teams.get(tid, "")
                mean = st.court_sum / st.court_n if st.court_n else (None, None)
                writer.writerow([
                    tid, team, names.get(team, ""), st.frames_seen, st.frames_detected,
                    st.first_frame, st.last_frame, fmt(st.first_frame / fps, 3),
                    fmt(st.last_frame / fps, 3), fmt(st.distance_px, 1),
                    fmt(st.distance_m, 2) if self.calibrated else "", held_frames.get(tid, 0),
                    fmt(mean[0]), fmt(mean[1]),
                ])  # fmt: skip
        return len(keep)


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
    import torch
    import ultralytics

    import backend

    return {
        "courtside": backend.__version__, "python": platform.python_version(),
        "torch": torch.__version__, "ultralytics": ultralytics.__version__,
        "opencv": cv2.__version__, "av": av.__version__, "numpy": np.__version__,
    }  # fmt: skip
