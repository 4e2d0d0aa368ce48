"""The consumers of stage 1's TrackedFrame stream: data files, the annotated video, figures.

Each takes style and paths in __init__, frames in on_frame(), and writes what needs the whole
video in finish(StreamEnd). None of them changes a frame's data.
"""

from __future__ import annotations

import csv
from collections import Counter, deque
from pathlib import Path

import cv2
import numpy as np

from backend.pipeline.annotate import FrameDrawing
from backend.pipeline.frames import SOURCE_DETECTED, StreamEnd, TrackedFrame
from backend.pipeline.outputs import (
    BALL_COLUMNS,
    BALL_TRACK_ID,
    TRACKS_COLUMNS,
    finalize_tracks_csv,
    fmt,
)
from backend.pipeline.stream import H264Writer

BALL_TRAIL_FRAMES = 12
# tracks.csv holds boxes; the ball's is a fixed square around its centre.
BALL_BOX_HALF_PX = 5.0
UNKNOWN_TEAM_BGR = (200, 200, 200)
BACKGROUND_JPEG_QUALITY = 90


class TracksCsvWriter:
    """tracks.csv: rows streamed to a raw file, then rewritten with each track's final team
    and without noise tracks (teams and noise are only known at the end)."""

    def __init__(self, out_dir: Path) -> None:
        self.raw_path = out_dir / "tracks.raw.csv"
        self.path = out_dir / "tracks.csv"
        self._file = self.raw_path.open("w", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(TRACKS_COLUMNS)
        self.rows = 0

    def on_frame(self, frame: TrackedFrame) -> None:
        p = frame.players
        t = fmt(frame.time_s, 3)
        for i, tid in enumerate(frame.player_ids):
            cx, cy = p.data["court_xy"][i]
            self._csv.writerow([
                frame.index, t, tid, "player", p.data["team"][i], *(fmt(v, 1) for v in p.xyxy[i]),
                fmt(float(p.confidence[i]), 3), p.data["source"][i], fmt(cx), fmt(cy),
                p.data["zone"][i],
            ])  # fmt: skip
        ball = frame.ball
        if ball is not None:
            x, y = float(ball.xy[0]), float(ball.xy[1])
            r = BALL_BOX_HALF_PX
            cx, cy = ball.court_xy if ball.court_xy is not None else (None, None)
            self._csv.writerow([
                frame.index, t, BALL_TRACK_ID, "ball", "", fmt(x - r, 1), fmt(y - r, 1),
                fmt(x + r, 1), fmt(y + r, 1), fmt(ball.confidence, 3), ball.source, fmt(cx),
                fmt(cy), ball.zone,
            ])  # fmt: skip

    def finish(self, end: StreamEnd) -> None:
        self._file.close()
        self.rows = finalize_tracks_csv(self.raw_path, self.path, end.teams, end.kept)
        self.raw_path.unlink()

    def abort(self) -> None:
        self._file.close()


class BallCsvWriter:
    """ball.csv: one row per frame, `none` where the ball is not placed."""

    def __init__(self, out_dir: Path) -> None:
        self._file = (out_dir / "ball.csv").open("w", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(BALL_COLUMNS)

    def on_frame(self, frame: TrackedFrame) -> None:
        t = fmt(frame.time_s, 3)
        ball = frame.ball
        if ball is None:
            self._csv.writerow([frame.index, t, "", "", "", "none", "", "", ""])
            return
        cx, cy = ball.court_xy if ball.court_xy is not None else (None, None)
        self._csv.writerow([
            frame.index, t, fmt(float(ball.xy[0]), 1), fmt(float(ball.xy[1]), 1), ball.source,
            "held" if ball.holder is not None else "flight",
            "" if ball.holder is None else ball.holder, fmt(cx), fmt(cy),
        ])  # fmt: skip

    def finish(self, end: StreamEnd) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()


class AnnotatedVideo:
    """annotated.mp4: boxes in team colours, IDs, the ball and its trail, the minimap.

    Drawing happens in the encoder's thread (H264Writer's `prepare`); this only describes it.
    """

    def __init__(self, writer: H264Writer, colors_bgr: dict[str, tuple[int, int, int]]) -> None:
        self.writer = writer
        self.colors = colors_bgr
        self.trail: deque[tuple[float, float]] = deque(maxlen=BALL_TRAIL_FRAMES)

    def on_frame(self, frame: TrackedFrame) -> None:
        drawing = FrameDrawing()
        p = frame.players
        holder = frame.ball.holder if frame.ball is not None else None
        for i, tid in enumerate(frame.player_ids):
            color = self.colors.get(p.data["team"][i], UNKNOWN_TEAM_BGR)
            court = p.data["court_xy"][i]
            if np.isfinite(court).all():
                drawing.minimap_points.append((float(court[0]), float(court[1]), color))
            drawing.boxes.append((p.xyxy[i], tid, color, tid == holder))
        ball = frame.ball
        if ball is None:
            self.trail.clear()
        else:
            self.trail.append((float(ball.xy[0]), float(ball.xy[1])))
            drawing.ball_xy, drawing.ball_held = ball.xy, ball.holder is not None
            drawing.ball_trail = list(self.trail)
            drawing.minimap_ball = ball.court_xy
        self.writer.write(frame.image, drawing)

    def finish(self, end: StreamEnd) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


class TrackFigures:
    """Frames each track was seen and detected on: which tracks are real and which noise."""

    def __init__(self) -> None:
        self.seen: Counter[int] = Counter()
        self.detected: Counter[int] = Counter()

    def on_frame(self, frame: TrackedFrame) -> None:
        sources = frame.players.data["source"]
        for i, tid in enumerate(frame.player_ids):
            self.seen[tid] += 1
            if sources[i] == SOURCE_DETECTED:
                self.detected[tid] += 1

    def kept(self, min_detections: int) -> set[int]:
        return {tid for tid, n in self.detected.items() if n >= min_detections}

    def finish(self, end: StreamEnd) -> None:
        pass

    def abort(self) -> None:
        pass


class BackgroundFrame:
    """background.jpg: the court without its players, for heatmaps and for calibrating.

    The per-pixel median of frames spread over the video: a player standing anywhere for
    less than half of them disappears, the court lines stay.
    """

    def __init__(self, out_dir: Path, samples: list[np.ndarray]) -> None:
        self.path = out_dir / "background.jpg"
        self.image: np.ndarray | None = median_frame(samples) if samples else None

    def on_frame(self, frame: TrackedFrame) -> None:
        if self.image is None:
            self.image = frame.image.copy()

    def finish(self, end: StreamEnd) -> None:
        if self.image is not None:
            quality = [cv2.IMWRITE_JPEG_QUALITY, BACKGROUND_JPEG_QUALITY]
            # Written by Python, not cv2.imwrite: a full disk then says so (ENOSPC).
            ok, jpeg = cv2.imencode(self.path.suffix or ".jpg", self.image, quality)
            if not ok:
                raise OSError(f"could not encode {self.path.name}")
            self.path.write_bytes(jpeg.tobytes())

    def abort(self) -> None:
        pass


def median_frame(frames: list[np.ndarray]) -> np.ndarray:
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        return frames[0].copy()
    return np.median(np.stack(frames), axis=0).astype(np.uint8)
