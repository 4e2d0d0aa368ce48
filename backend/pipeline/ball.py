"""The ball: one per keyframe from its recent path, looked for again when missing, filled in
between keyframes, smoothed, and marked as held by a player or in flight."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from backend.pipeline.ball_candidates import MotionBallCandidates
from backend.pipeline.detection import BALL, Detections, Detector
from backend.pipeline.settings import PipelineSettings

if TYPE_CHECKING:
    from backend.pipeline.engine import FrameState
    from backend.pipeline.view import ViewTransformer

# A ball candidate present in this share of the keyframes of the static window is scenery.
STATIC_SHARE_MIN = 0.8
# Among frames sampled across the whole video, a ball spot in this share of them is scenery.
STATIC_SAMPLE_SHARE_MIN = 0.34
STATIC_SAMPLES_MIN = 4
# A ball inside a player's box widened by this fraction of its width can be in their hands.
HOLD_BOX_MARGIN_FRAC = 0.25
# Ball candidates within this fraction of the frame width count as the same spot.
BALL_STATIC_CELL_FRAC = 0.015
# A faint ball (ball_path_conf_min <= confidence < ball_conf_min) counts only this close to
# where the recent path predicts the ball, as a fraction of the frame width.
BALL_PATH_RADIUS_FRAC = 0.06
# Looking back for a ball found again, give up after this many earlier keyframes in a row
# without it: a ball just released is smeared over the passer's shirt for a keyframe or two
# and matches its colour again at the hand (1 lost the first hold of the generated 16 s pan,
# seed 3: 0.88 of frames placed, 2 finds it: 0.93; the other five clips unchanged).
LOOK_BACK_MISSES_MAX = 2


@dataclass
class BallPoint:
    frame: int
    xy: np.ndarray
    confidence: float


def _boxes(state: FrameState) -> np.ndarray:
    return np.array([box for box, _, _ in state.players.values()]).reshape(-1, 4)


def extrapolate(history: list[BallPoint], frame: int) -> np.ndarray:
    """The ball at `frame`, continuing the velocity of the last two points (one: standing)."""
    last = history[-1]
    if len(history) < 2:
        return last.xy
    prev = history[-2]
    velocity = (last.xy - prev.xy) / max(1, last.frame - prev.frame)
    return last.xy + velocity * (frame - last.frame)


class BallSelector:
    """Keeps one ball per keyframe: the candidate that best continues the recent path.

    A candidate farther from the predicted position than the ball could travel
    (`max_speed_px_per_frame`) is a false ball (a head, a light) unless the path has been
    lost for longer than `reacquire_after_frames`, when the most confident one restarts it.
    """

    def __init__(
        self,
        max_speed_px_per_frame: float,
        reacquire_after_frames: int,
        static_window_frames: int,
        static_cell_px: float,
    ) -> None:
        self.max_speed = max_speed_px_per_frame
        self.reacquire_after = reacquire_after_frames
        self.static_window = static_window_frames
        self.static_cell = max(1.0, static_cell_px)
        self.history: list[BallPoint] = []
        self.static_spots: set[tuple[int, int]] = set()
        self._seen: deque[tuple[int, set[tuple[int, int]]]] = deque()

    def _static_mask(self, frame: int, centers: np.ndarray) -> np.ndarray:
        """True for candidates where a 'ball' has sat for the whole static window.

        A real ball is never still that long (a player must release it within 3 s and is
        rarely motionless meanwhile), but court markings and lights are.
        """
        cells = {self._cell(x, y) for x, y in centers}
        self._seen.append((frame, cells))
        while self._seen and self._seen[0][0] < frame - self.static_window:
            self._seen.popleft()
        if len(self._seen) < 4 or frame - self._seen[0][0] < self.static_window * 0.9:
            return np.zeros(len(centers), dtype=bool)
        out = np.zeros(len(centers), dtype=bool)
        for i, (x, y) in enumerate(centers):
            cx, cy = self._cell(x, y)
            near = {(cx + dx, cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
            hits = sum(1 for _, seen in self._seen if seen & near)
            out[i] = hits >= STATIC_SHARE_MIN * len(self._seen)
        return out

    def learn_static_spots(self, samples: list[np.ndarray]) -> int:
        """Mark spots where a 'ball' shows in most frames sampled across the video as scenery.

        The real ball moves around the court, so it cannot be in the same place in frames
        minutes apart; returns how many spots were marked.
        """
        if len(samples) < STATIC_SAMPLES_MIN:
            return 0
        counts: dict[tuple[int, int], int] = {}
        for centers in samples:
            cells = {self._cell(x, y) for x, y in np.asarray(centers).reshape(-1, 2)}
            for cell in cells:
                counts[cell] = counts.get(cell, 0) + 1
        for cell, n in counts.items():
            near = sum(
                counts.get((cell[0] + dx, cell[1] + dy), 0)
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
            )
            if min(n * 2, near) >= STATIC_SAMPLE_SHARE_MIN * len(samples):
                self.static_spots.add(cell)
        return len(self.static_spots)

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        return int(x // self.static_cell), int(y // self.static_cell)

    def _in_static_spot(self, x: float, y: float) -> bool:
        cx, cy = self._cell(x, y)
        return any(
            (cx + dx, cy + dy) in self.static_spots for dx in (-1, 0, 1) for dy in (-1, 0, 1)
        )

    def select(self, frame: int, balls: Detections) -> BallPoint | None:
        centers = balls.centers
        static = self._static_mask(frame, centers)
        if self.static_spots:
            static |= np.array([self._in_static_spot(x, y) for x, y in centers], dtype=bool)
        if static.any():
            balls, centers = balls[~static], centers[~static]
        if len(balls) == 0:
            return None
        last = self.history[-1] if self.history else None
        if last is None or frame - last.frame > self.reacquire_after:
            best = int(np.argmax(balls.confidence))
        else:
            dist = np.linalg.norm(centers - extrapolate(self.history, frame), axis=1)
            reach = self.max_speed * (frame - last.frame)
            near_last = np.linalg.norm(centers - last.xy, axis=1) <= reach
            if not near_last.any():
                return None
            # Closeness to the prediction, weighted by confidence so a clear ball wins.
            score = np.where(near_last, dist / (0.5 + balls.confidence), np.inf)
            best = int(np.argmin(score))
        point = BallPoint(frame, centers[best].astype(np.float64), float(balls.confidence[best]))
        self.history = [*self.history[-1:], point]
        return point


def ball_holder(ball_xy: np.ndarray, boxes: dict[int, np.ndarray]) -> int | None:
    """The player whose hands can be on the ball: it is inside their box (widened by
    HOLD_BOX_MARGIN_FRAC for outstretched arms); the nearest chest wins among several."""
    best, best_d = None, np.inf
    for tid, (x1, y1, x2, y2) in boxes.items():
        m = HOLD_BOX_MARGIN_FRAC * (x2 - x1)
        if x1 - m <= ball_xy[0] <= x2 + m and y1 <= ball_xy[1] <= y2:
            d = np.hypot(ball_xy[0] - (x1 + x2) / 2, ball_xy[1] - (y1 + 0.4 * (y2 - y1)))
            if d < best_d:
                best, best_d = tid, d
    return best


class BallPath:
    """Per-video ball state between the detector and the output rows."""

    def __init__(
        self,
        settings: PipelineSettings,
        detector: Detector,
        fps: float,
        frame_width: int,
        delay_frames: int,
        view: ViewTransformer | None = None,
    ) -> None:
        self.s, self.detector, self.fps, self.width = settings, detector, fps, frame_width
        self.delay = delay_frames
        self.selector = BallSelector(
            settings.ball_max_speed_frac_per_s * frame_width / fps,
            reacquire_after_frames=delay_frames,
            static_window_frames=round(settings.ball_static_s * fps),
            static_cell_px=BALL_STATIC_CELL_FRAC * frame_width,
        )
        # Gaps up to this many frames between two detections are filled with a straight line.
        self.fill_max_frames = min(delay_frames, round(settings.ball_gap_fill_max_s * fps))
        self.unfilled_gaps = 0
        self.unfilled_gap_frames = 0
        self.longest_unfilled_gap_frames = 0
        self.last: tuple[int, np.ndarray, float] | None = None  # last keyframe with a ball
        self.prev_out: tuple[int, np.ndarray] | None = None  # last position written out
        self._prev_raw: tuple[int, np.ndarray] | None = None
        self._last_zoom_frame = -(10**9)
        self.zoom_looks = 0
        self.motion = (
            MotionBallCandidates(settings, view) if settings.ball_motion_search_px else None
        )
        self.motion_points = 0
        self.looked_back_points = 0
        # Keyframe -> (camera resets, background offset) then, for looking back.
        self._camera: dict[int, tuple[int, np.ndarray]] = {}
        self._looked_back_from: set[int] = set()

    def on_keyframe(self, state: FrameState, balls: Detections, buffer: deque[FrameState]) -> None:
        """Choose this keyframe's ball and fill the buffered frames since the last one.

        `balls` may hold faint candidates (down to ball_path_conf_min): a small ball often
        scores under ball_conf_min, and right where the path predicts it, that is the ball.
        """
        confident = balls.confidence >= self.s.ball_conf_min
        sure = confident.copy()
        predicted = self._predicted(state.index)
        if predicted is not None:
            near = np.linalg.norm(balls.centers - predicted, axis=1)
            sure |= (balls.confidence >= self.s.ball_path_conf_min) & (
                near <= BALL_PATH_RADIUS_FRAC * self.width
            )
        players = _boxes(state)
        from_motion = False
        if self.motion is not None:
            if self.motion.colour.on_trial and confident.any():
                # The surest detector ball judges a colour learnt before this pass, whether
                # or not the path picks it (a wrong colour's path would not).
                best = int(np.argmax(np.where(confident, balls.confidence, -1.0)))
                width = self.motion.expected_widths_px(
                    balls.centers[best : best + 1], players, state.image.shape[0]
                )[0]
                self.motion.colour.judge(state.image, balls.centers[best], float(width))
            background_ok = self.motion.update_background(state.image, players)
            self._camera[state.index] = (self.motion.camera_resets, self.motion.offset.copy())
            while len(self._camera) > self.delay:
                self._camera.pop(next(iter(self._camera)))
            if not confident.any():
                # Before the faint detector balls and the zoom look: a moving blob of the
                # ball's own colour is surer than a faint "ball" that may be a head.
                motion = self.motion.find(state.image, players, predicted, background_ok)
                if len(motion):
                    balls, sure, from_motion = motion, np.ones(len(motion), bool), True
        balls = balls[sure]
        if len(balls) == 0:
            balls = self._zoom(state)
        point = self.selector.select(state.index, balls)
        if point is None:
            return
        if from_motion:
            self.motion_points += 1
        elif self.motion is not None and point.confidence >= self.s.ball_conf_min:
            width = self.motion.expected_widths_px(point.xy, players, state.image.shape[0])[0]
            self.motion.colour.learn(state.image, point.xy, float(width))
        state.ball = (point.xy, point.confidence, True)
        if self.motion is not None:
            self._look_back(state, buffer)
        last = self.last
        gap = state.index - last[0] if last is not None else 0
        if gap > self.fill_max_frames:
            # Too long to trust a straight line: those frames stay without a ball.
            self.unfilled_gaps += 1
            self.unfilled_gap_frames += gap - 1
            self.longest_unfilled_gap_frames = max(self.longest_unfilled_gap_frames, gap)
        elif last is not None:
            first = buffer[0].index
            for f in range(max(last[0] + 1, first), state.index):
                a = (f - last[0]) / (state.index - last[0])
                buffer[f - first].ball = (
                    last[1] + a * (point.xy - last[1]),
                    min(last[2], point.confidence),
                    False,
                )
        self.last = (state.index, point.xy, point.confidence)

    def _look_back(self, state: FrameState, buffer: deque[FrameState]) -> None:
        """A ball found after keyframes without one (its colour just learnt, or the path lost
        and found again): look for it in those buffered keyframes again, walking back from here
        with its colour, so the hold before the first flight or the end of a lost stretch is
        not left empty. Stops at a keyframe that has a ball, or after LOOK_BACK_MISSES_MAX
        keyframes in a row without one; fills the frames between what it found."""
        motion = self.motion
        if motion is None or motion.colour.lab is None or state.ball is None:
            return
        keys = [st for st in buffer if (st.keyframe or st is state) and st.index <= state.index]
        if not keys:
            return
        # From the first keyframe of the run of keyframes with a ball that ends here: the
        # colour may have been learnt only after the run began.
        start = len(keys) - 1
        while start > 0 and keys[start - 1].ball is not None:
            start -= 1
        from_state = keys[start]
        if start == 0 or from_state.index in self._looked_back_from:
            return
        self._looked_back_from = {i for i in self._looked_back_from if i >= keys[0].index}
        self._looked_back_from.add(from_state.index)
        earlier = keys[:start]
        if from_state.index not in self._camera:
            return
        resets, anchor_offset = self._camera[from_state.index]
        anchor = (from_state.index, from_state.ball[0], from_state.ball[1])
        misses = 0
        found: list[tuple[FrameState, np.ndarray, float]] = []
        for st in reversed(earlier):
            if st.ball is not None or misses > LOOK_BACK_MISSES_MAX:
                break
            camera = self._camera.get(st.index)
            if camera is None or camera[0] != resets:
                break  # before a cut: that picture does not line up with the background
            # The anchor's position in that keyframe's picture (the camera moved since).
            predicted = anchor[1] - (anchor_offset - camera[1])
            cands = motion.find_earlier(st.image, _boxes(st), predicted, camera[1])
            reach = self.selector.max_speed * (anchor[0] - st.index)
            dist = np.linalg.norm(cands.centers - predicted, axis=1)
            if not len(cands) or dist.min() > reach:
                misses += 1
                continue
            best = int(np.argmin(dist))
            misses = 0
            anchor = (
                st.index,
                cands.centers[best].astype(np.float64),
                float(cands.confidence[best]),
            )
            anchor_offset = camera[1]
            found.append((st, anchor[1], anchor[2]))
        if not found:
            return
        first = buffer[0].index
        later = (from_state.index, from_state.ball[0], from_state.ball[1])
        for st, xy, conf in found:  # newest first
            st.ball = (xy, conf, True)
            for f in range(st.index + 1, later[0]):
                a = (f - st.index) / (later[0] - st.index)
                buffer[f - first].ball = (xy + a * (later[1] - xy), min(conf, later[2]), False)
            later = (st.index, xy, conf)
        self.looked_back_points += len(found)

    def _zoom(self, state: FrameState) -> Detections:
        """Look again, at full resolution, around where a recently seen ball should be.

        At the detector's input size a ball is only a few pixels wide in a wide shot; a crop
        of `ball_zoom_px` around its predicted position shows it at its real size.
        """
        side = self.s.ball_zoom_px
        centre = self._predicted(state.index)
        if not side or centre is None:
            return Detections.empty()
        # Every other keyframe is enough: the path is interpolated across the one between.
        if state.index - self._last_zoom_frame <= self.s.frame_stride:
            return Detections.empty()
        self._last_zoom_frame = state.index
        h, w = state.image.shape[:2]
        side = min(side, w, h)
        x0 = int(np.clip(centre[0] - side / 2, 0, w - side))
        y0 = int(np.clip(centre[1] - side / 2, 0, h - side))
        crop = np.ascontiguousarray(state.image[y0 : y0 + side, x0 : x0 + side])
        found = self.detector.detect(crop, imgsz=side)
        balls = found[found.class_id == BALL]
        balls.xyxy = balls.xyxy + np.array([x0, y0, x0, y0], dtype=np.float32)
        self.zoom_looks += 1
        return balls

    def _predicted(self, frame: int) -> np.ndarray | None:
        """Where the recent path puts the ball at `frame`; None when it is lost or too old."""
        history = self.selector.history
        if not history or frame - history[-1].frame > self.delay:
            return None
        return extrapolate(history, frame)

    def position(self, st: FrameState, nxt: FrameState | None) -> np.ndarray | None:
        """The ball centre averaged 1-2-1 with its neighbouring frames when both have one.

        Straight interpolated stretches are unchanged; detection jitter and the corners where
        two interpolated stretches meet are softened. Uses the raw, unsmoothed neighbours.
        """
        raw = st.ball[0] if st.ball is not None else None
        prev = self._prev_raw
        self._prev_raw = (st.index, raw) if raw is not None else None
        if (
            raw is None
            or prev is None
            or prev[0] != st.index - 1
            or nxt is None
            or nxt.index != st.index + 1
            or nxt.ball is None
        ):
            return raw
        return (prev[1] + 2 * raw + nxt.ball[0]) / 4

    def holder(self, st: FrameState, ball_xy: np.ndarray | None) -> int | None:
        """The track holding the ball in this frame, or None while it flies or is unseen."""
        if ball_xy is None or not st.players:
            return None
        if self.prev_out is not None:
            dt = max(1, st.index - self.prev_out[0])
            speed = np.linalg.norm(ball_xy - self.prev_out[1]) / dt * self.fps / self.width
            if speed > self.s.ball_held_speed_max_frac_per_s:
                return None
        return ball_holder(ball_xy, {tid: box for tid, (box, _, _) in st.players.items()})
