"""Stage 1's tables as numpy arrays: only the columns stage 2 needs, in compact dtypes.

A 2-hour video has about 3M player rows; at ~40 bytes a row the table stays near 120 MB.
Rows are sorted by frame so per-frame work slices them with `frame_starts`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backend.analytics.court import DEFAULT_COURT, ZONES, NetballCourt

TRACK_COLUMNS = ("frame", "track_id", "class", "team", "x1", "y1", "x2", "y2", "confidence")
TRACK_COURT_COLUMNS = ("court_x", "court_y", "zone")
BALL_USED_COLUMNS = ("frame", "x", "y")
CSV_CHUNK_ROWS = 50_000  # ~40 MB of pandas string cells per chunk
TEAM_CODES = ("A", "B", "other", "")


@dataclass
class Tracks:
    """Player rows (the ball's rows in tracks.csv are dropped), sorted by frame then track."""

    frame: np.ndarray  # int32
    track_id: np.ndarray  # int32
    team_code: np.ndarray  # int8 index into TEAM_CODES, as stage 1 labelled the row
    xyxy: np.ndarray  # (n, 4) float32 pixels
    confidence: np.ndarray  # float32
    court_xy: np.ndarray  # (n, 2) float32 metres, NaN uncalibrated or off the mapping

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def feet_px(self) -> np.ndarray:
        return np.c_[(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]]

    def frame_starts(self, n_frames: int) -> np.ndarray:
        """starts[f]:starts[f + 1] are the rows of frame f."""
        return np.searchsorted(self.frame, np.arange(n_frames + 1)).astype(np.int64)


@dataclass
class MatchData:
    fps: float
    n_frames: int
    width: int
    height: int
    tracks: Tracks
    ball_xy: np.ndarray  # (n_frames, 2) float32 ball centre in pixels, NaN when unseen
    summary: dict

    @property
    def calibrated(self) -> bool:
        return bool(np.isfinite(self.tracks.court_xy).any())


def _require(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ValueError(f"{folder} has no {name}: run stage 1 (the video analysis) first.")
    return path


def read_summary(folder: Path) -> dict:
    path = _require(folder, "summary.json")
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    fps = (summary.get("video") or {}).get("fps")
    if not isinstance(fps, int | float) or not fps > 0:
        raise ValueError(f"{path} has no video.fps above 0; is it a stage-1 summary?")
    return summary


def _read_csv(path: Path, usecols: tuple[str, ...], dtypes: dict, chunksize: int | None = None):
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in usecols if c not in header]
    if missing:
        raise ValueError(f"{path.name} lacks column(s) {', '.join(missing)}.")
    return pd.read_csv(
        path,
        usecols=list(usecols),
        dtype=dtypes,
        keep_default_na=False,
        na_values={c: [""] for c in usecols if dtypes.get(c) != "category"},
        chunksize=chunksize,
    )


TRACK_DTYPES = {
    "frame": "int32",
    "track_id": "int32",
    "class": "category",
    "team": "category",
    "x1": "float32",
    "y1": "float32",
    "x2": "float32",
    "y2": "float32",
    "confidence": "float32",
    "court_x": "float32",
    "court_y": "float32",
}


def _player_rows(df: pd.DataFrame, name: str) -> Tracks:
    bad_class = set(df["class"].dropna().unique()) - {"player", "ball"}
    if bad_class:
        raise ValueError(f"{name}: unknown class value(s) {sorted(bad_class)}.")
    df = df[df["class"] == "player"]
    bad_team = set(df["team"].astype(str).unique()) - set(TEAM_CODES)
    if bad_team:
        raise ValueError(f"{name}: unknown team value(s) {sorted(bad_team)}; use A, B, other.")
    team = df["team"].astype(str).map({t: i for i, t in enumerate(TEAM_CODES)}).to_numpy()
    return Tracks(
        frame=df["frame"].to_numpy(np.int32),
        track_id=df["track_id"].to_numpy(np.int32),
        team_code=team.astype(np.int8),
        xyxy=df[["x1", "y1", "x2", "y2"]].to_numpy(np.float32),
        confidence=df["confidence"].to_numpy(np.float32),
        court_xy=df[["court_x", "court_y"]].to_numpy(np.float32),
    )


def read_tracks(path: Path, court: NetballCourt = DEFAULT_COURT) -> Tracks:
    # In chunks, kept as compact arrays: a whole hour in one DataFrame (and its sorted copy)
    # took several times the memory of the arrays it ends as.
    parts = [
        _player_rows(chunk, path.name)
        for chunk in _read_csv(
            path, (*TRACK_COLUMNS, "court_x", "court_y"), TRACK_DTYPES, CSV_CHUNK_ROWS
        )
    ]
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in TRACK_DTYPES.items()})
        parts = [_player_rows(empty, path.name)]
    fields = ("frame", "track_id", "team_code", "xyxy", "confidence", "court_xy")
    tracks = Tracks(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))
    del parts
    order = np.lexsort((tracks.track_id, tracks.frame))
    if not (np.diff(order) == 1).all():
        tracks = Tracks(*(getattr(tracks, f)[order] for f in fields))
    return tracks


def read_ball(path: Path, n_frames: int) -> np.ndarray:
    df = _read_csv(path, BALL_USED_COLUMNS, {"frame": "int32", "x": "float32", "y": "float32"})
    out = np.full((n_frames, 2), np.nan, np.float32)
    frames = df["frame"].to_numpy()
    keep = (frames >= 0) & (frames < n_frames)
    out[frames[keep]] = df[["x", "y"]].to_numpy(np.float32)[keep]
    return out


def read_match(folder: Path) -> MatchData:
    summary = read_summary(folder)
    video = summary["video"]
    tracks = read_tracks(_require(folder, "tracks.csv"))
    last = int(tracks.frame.max()) + 1 if len(tracks) else 0
    n_frames = max(int(video.get("frames_processed") or video.get("frames_total") or 0), last)
    ball = read_ball(_require(folder, "ball.csv"), n_frames)
    return MatchData(
        fps=float(video["fps"]),
        n_frames=n_frames,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        tracks=tracks,
        ball_xy=ball,
        summary=summary,
    )


def apply_homography(matrix: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """(n, 2) pixels -> (n, 2) metres; NaN where a point is at or beyond the horizon."""
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    h = np.c_[pts, np.ones(len(pts))] @ np.asarray(matrix, np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        out = h[:, :2] / h[:, 2:3]
    # Pixels on the far side of the horizon get w of the other sign than the court's pixels.
    m = np.asarray(matrix, np.float64)
    centre_px = np.linalg.inv(m) @ np.array([*DEFAULT_COURT.centre_m, 1.0])
    w_court = np.sign((m @ (centre_px / centre_px[2]))[2])
    out[~(h[:, 2] * w_court > 1e-12)] = np.nan
    return out


def metres_per_pixel(matrix: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """Court metres per image pixel along the image's x axis at each point (local scale)."""
    m = np.asarray(matrix, np.float64)
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    h = np.c_[pts, np.ones(len(pts))] @ m.T
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (m[:2, 0][None, :] * h[:, 2:3] - h[:, :2] * m[2, 0]) / (h[:, 2:3] ** 2)
        return np.hypot(d[:, 0], d[:, 1])


def _fmt_col(values: np.ndarray) -> list[str]:
    return ["" if not np.isfinite(v) else f"{v:.2f}" for v in values]


def _atomic_rewrite(path: Path, rewrite_chunk) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        header = True
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CSV_CHUNK_ROWS):
            rewrite_chunk(chunk).to_csv(
                tmp, mode="w" if header else "a", header=header, index=False
            )
            header = False
        if header:  # empty table: keep its header
            pd.read_csv(path, nrows=0).to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def rewrite_court_columns(
    folder: Path,
    matrix: np.ndarray,
    ball_holder_feet: dict[int, tuple[float, float]],
    court: NetballCourt = DEFAULT_COURT,
) -> None:
    """Recompute court_x, court_y, zone of tracks.csv and ball.csv from the pixels, in chunks.

    Players: the bottom centre of the box. Ball: the holder's feet (court metres, by frame) while
    held, else empty: a ball in the air has no floor position a homography can give.
    """
    zone_names = np.array(ZONES)

    def tracks_chunk(chunk: pd.DataFrame) -> pd.DataFrame:
        px = np.c_[
            (chunk["x1"].astype(float) + chunk["x2"].astype(float)) / 2,
            chunk["y2"].astype(float),
        ]
        xy = apply_homography(matrix, px)
        xy[(chunk["class"] != "player").to_numpy()] = np.nan
        chunk["court_x"], chunk["court_y"] = _fmt_col(xy[:, 0]), _fmt_col(xy[:, 1])
        zones = zone_names[court.zones_of(xy[:, 0], xy[:, 1])]
        zones[~np.isfinite(xy).all(axis=1)] = ""
        chunk["zone"] = zones
        return chunk

    def ball_chunk(chunk: pd.DataFrame) -> pd.DataFrame:
        frames = chunk["frame"].astype(int).to_numpy()
        xy = np.array([ball_holder_feet.get(int(f), (np.nan, np.nan)) for f in frames], float)
        xy = xy.reshape(-1, 2)
        chunk["court_x"], chunk["court_y"] = _fmt_col(xy[:, 0]), _fmt_col(xy[:, 1])
        return chunk

    _atomic_rewrite(folder / "tracks.csv", tracks_chunk)
    _atomic_rewrite(folder / "ball.csv", ball_chunk)


def court_xy_of(matrix: np.ndarray, feet_px: np.ndarray, chunk_rows: int = 262_144):
    """float32 court metres of each row's feet, in slices so the float64 work stays small."""
    out = np.empty((len(feet_px), 2), np.float32)
    for start in range(0, len(feet_px), chunk_rows):
        rows = slice(start, start + chunk_rows)
        out[rows] = apply_homography(matrix, feet_px[rows])
    return out
