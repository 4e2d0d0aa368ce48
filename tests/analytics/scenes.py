"""Synthetic stage-1 folders where the truth is known: a top-down camera (20 px a metre),
players at scripted court spots, and a ball held at a chosen player's hands or flying between.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PX_PER_M = 20.0
OFFSET_PX = 20.0
PLAYER_HEIGHT_PX = 35.0  # 1.75 m at 20 px/m: both ways of measuring metres agree
PLAYER_WIDTH_PX = 12.0
# image pixel -> court metre, the inverse of court_to_px
HOMOGRAPHY = [[1 / PX_PER_M, 0.0, -OFFSET_PX / PX_PER_M],
              [0.0, 1 / PX_PER_M, -OFFSET_PX / PX_PER_M],
              [0.0, 0.0, 1.0]]  # fmt: skip


def court_to_px(xy) -> np.ndarray:
    return np.asarray(xy, np.float64) * PX_PER_M + OFFSET_PX


def hands_px(feet_court_xy) -> np.ndarray:
    feet = court_to_px(feet_court_xy)
    return feet - np.array([0.0, 0.45 * PLAYER_HEIGHT_PX])


@dataclass
class Scene:
    """Players (track id -> team and a court path) and the ball's holds over `n_frames`."""

    fps: float = 25.0
    n_frames: int = 250
    players: dict[int, tuple[str, np.ndarray]] = field(default_factory=dict)
    holds: list[tuple[int, int, int]] = field(default_factory=list)  # start, end, track id
    ball_hidden: set[int] = field(default_factory=set)

    def add(self, tid: int, team: str, xy) -> Scene:
        path = np.asarray(xy, np.float64)
        if path.ndim == 1:
            path = np.tile(path, (self.n_frames, 1))
        self.players[tid] = (team, path)
        return self

    def hold(self, start_s: float, end_s: float, tid: int) -> Scene:
        self.holds.append((round(start_s * self.fps), round(end_s * self.fps) - 1, tid))
        return self

    def frames(self, seconds: float) -> int:
        return round(seconds * self.fps)

    def ball_px(self) -> np.ndarray:
        ball = np.full((self.n_frames, 2), np.nan)
        holds = sorted(self.holds)
        for start, end, tid in holds:
            path = self.players[tid][1]
            for f in range(start, min(end, self.n_frames - 1) + 1):
                ball[f] = hands_px(path[f])
        for (_, end, a), (start, _, b) in itertools.pairwise(holds):
            p, q = hands_px(self.players[a][1][end]), hands_px(self.players[b][1][start])
            for f in range(end + 1, start):
                t = (f - end) / (start - end)
                ball[f] = p + t * (q - p)
        for f in self.ball_hidden:
            ball[f] = np.nan
        return ball

    def write(self, folder: Path, *, court_columns: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            "frame,time_s,track_id,class,team,x1,y1,x2,y2,confidence,source,court_x,court_y,zone"
        ]
        ball = self.ball_px()
        for f in range(self.n_frames):
            for tid in sorted(self.players):
                team, path = self.players[tid]
                if not np.isfinite(path[f]).all():
                    continue
                u, v = court_to_px(path[f])
                x1, x2 = u - PLAYER_WIDTH_PX / 2, u + PLAYER_WIDTH_PX / 2
                cx, cy = (f"{path[f][0]:.2f}", f"{path[f][1]:.2f}") if court_columns else ("", "")
                lines.append(
                    f"{f},{f / self.fps:.3f},{tid},player,{team},{x1:.1f},"
                    f"{v - PLAYER_HEIGHT_PX:.1f},{x2:.1f},{v:.1f},0.9,detected,{cx},{cy},"
                )
            if np.isfinite(ball[f]).all():
                bx, by = ball[f]
                lines.append(
                    f"{f},{f / self.fps:.3f},0,ball,,{bx - 3:.1f},{by - 3:.1f},"
                    f"{bx + 3:.1f},{by + 3:.1f},0.8,detected,,,"
                )
        (folder / "tracks.csv").write_text("\n".join(lines) + "\n")
        rows = ["frame,time_s,x,y,source,state,holder_track_id,court_x,court_y"]
        for f in range(self.n_frames):
            if np.isfinite(ball[f]).all():
                rows.append(
                    f"{f},{f / self.fps:.3f},{ball[f][0]:.1f},{ball[f][1]:.1f},detected,flight,,,"
                )
            else:
                rows.append(f"{f},{f / self.fps:.3f},,,,none,,,")
        (folder / "ball.csv").write_text("\n".join(rows) + "\n")
        summary = {
            "schema_version": 1,
            "status": "completed",
            "video": {
                "fps": self.fps,
                "frames_total": self.n_frames,
                "frames_processed": self.n_frames,
                "width": 660,
                "height": 345,
                "duration_s": self.n_frames / self.fps,
            },
            "possession": {"A": None, "B": None},
            "files": ["tracks.csv", "ball.csv"],
        }
        (folder / "summary.json").write_text(json.dumps(summary, indent=2))
        return folder
