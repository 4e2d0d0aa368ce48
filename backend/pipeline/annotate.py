"""Drawing: boxes, IDs and team colours, the ball and its trail, a court minimap."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from backend.analytics.court import DEFAULT_COURT, NetballCourt
from backend.analytics.heatmaps import court_diagram

BALL_BGR = (0, 215, 255)
# Grass around the minimap's court; its dots must be placed with the same margin.
MINIMAP_PAD_M = 1.0


@dataclass
class FrameDrawing:
    """What to draw on one frame: filled by the pipeline, drawn in the encoder thread."""

    boxes: list[tuple[np.ndarray, int, tuple[int, int, int], bool]] = field(default_factory=list)
    ball_xy: np.ndarray | None = None
    ball_held: bool = False
    ball_trail: list[tuple[float, float]] = field(default_factory=list)
    minimap_points: list[tuple[float, float, tuple[int, int, int]]] = field(default_factory=list)
    minimap_ball: tuple[float, float] | None = None


class Annotator:
    """Draws a FrameDrawing onto a frame in place; style is fixed at construction."""

    def __init__(
        self, frame_size: tuple[int, int], with_minimap: bool, court: NetballCourt = DEFAULT_COURT
    ) -> None:
        width, height = frame_size
        self.scale = max(0.4, min(width, height) / 720)
        self.thickness = max(1, round(2 * self.scale))
        self.court = court
        self.minimap = None
        if with_minimap:
            self.mm_px_per_m = max(4.0, width * 0.28 / (court.length_m + 2 * MINIMAP_PAD_M))
            self.minimap = court_diagram(self.mm_px_per_m, court, pad_m=MINIMAP_PAD_M)
            self.mm_origin = (width - self.minimap.shape[1] - 8, 8)

    def __call__(self, frame: np.ndarray, drawing: FrameDrawing | None) -> np.ndarray:
        if drawing is None:
            return frame
        t, fs = self.thickness, 0.5 * self.scale
        for xyxy, track_id, color, held in drawing.boxes:
            x1, y1, x2, y2 = (round(float(v)) for v in xyxy)
            cv2.rectangle(frame, (x1, y1), (x2, y2), color, t + (1 if held else 0))
            label = f"{track_id}"
            (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)
            cv2.rectangle(frame, (x1, y1 - th - 6), (x1 + tw + 6, y1), color, -1)
            cv2.putText(
                frame,
                label,
                (x1 + 3, y1 - 4),
                cv2.FONT_HERSHEY_SIMPLEX,
                fs,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
        if len(drawing.ball_trail) >= 2:
            pts = np.round(np.asarray(drawing.ball_trail)).astype(np.int32)
            cv2.polylines(frame, [pts], False, BALL_BGR, max(1, t - 1), cv2.LINE_AA)
        if drawing.ball_xy is not None:
            c = (round(float(drawing.ball_xy[0])), round(float(drawing.ball_xy[1])))
            r = max(4, round(9 * self.scale))
            cv2.circle(frame, c, r, BALL_BGR, t, cv2.LINE_AA)
        if self.minimap is not None:
            self._draw_minimap(frame, drawing)
        return frame

    def _draw_minimap(self, frame: np.ndarray, drawing: FrameDrawing) -> None:
        mm = self.minimap.copy()
        s = self.mm_px_per_m

        def p(x: float, y: float) -> tuple[int, int]:
            return round((x + MINIMAP_PAD_M) * s), round((y + MINIMAP_PAD_M) * s)

        for x, y, color in drawing.minimap_points:
            cv2.circle(mm, p(x, y), max(2, round(s * 0.45)), color, -1, cv2.LINE_AA)
        if drawing.minimap_ball is not None:
            cv2.circle(
                mm, p(*drawing.minimap_ball), max(2, round(s * 0.3)), BALL_BGR, -1, cv2.LINE_AA
            )
        x0, y0 = self.mm_origin
        h, w = mm.shape[:2]
        if x0 < 0 or y0 + h > frame.shape[0]:
            return
        roi = frame[y0 : y0 + h, x0 : x0 + w]
        cv2.addWeighted(mm, 0.8, roi, 0.2, 0, dst=roi)
