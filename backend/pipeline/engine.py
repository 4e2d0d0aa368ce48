"""The streaming loop behind analyze_video (see run.py for the files it produces)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.analytics.court import DEFAULT_COURT
from backend.pipeline.ahead import DetectAhead
from backend.pipeline.annotate import Annotator
from backend.pipeline.ball import BallPath
from backend.pipeline.ball_prelearn import BurstColour
from backend.pipeline.camera import estimate_camera_motion
from backend.pipeline.consumers import (
    AnnotatedVideo,
    BackgroundFrame,
    BallCsvWriter,
    TrackFigures,
    TracksCsvWriter,
)
from backend.pipeline.detection import (
    BALL,
    PLAYER,
    Detections,
    Detector,
    PersonHeights,
    drop_part_boxes,
)
from backend.pipeline.errors import PipelineCancelled, VideoError
from backend.pipeline.frames import (
    SOURCE_DETECTED,
    SOURCE_INTERPOLATED,
    BallState,
    FrameConsumer,
    StreamEnd,
    TrackedFrame,
)
from backend.pipeline.outputs import software_versions
from backend.pipeline.priors import BeforeMainPass
from backend.pipeline.quality import QualityInputs, quality_warnings
from backend.pipeline.reid_tracking import relabel
from backend.pipeline.settings import PipelineSettings, Progress
from backend.pipeline.stream import FrameReader, H264Writer
from backend.pipeline.teams import OTHER, TeamClassifier, TeamVotes, bgr_to_hex, torso_features
from backend.pipeline.tracking import PlayerTracker
from backend.pipeline.video import VideoInfo
from backend.pipeline.view import ViewTransformer

PROGRESS_INTERVAL_S = 0.5
FRAME_BUFFER_MAX_BYTES = 256 * 1024 * 1024
# Fewer decoded frames than this share of those the container announces means a cut-off file.
TRUNCATED_SHARE = 0.95


@dataclass
class FrameState:
    index: int
    image: np.ndarray
    keyframe: bool = False
    # track_id -> (xyxy, confidence, detected?)
    players: dict[int, tuple[np.ndarray, float, bool]] = field(default_factory=dict)
    ball: tuple[np.ndarray, float, bool] | None = None


class Engine(BeforeMainPass):
    def __init__(
        self,
        info: VideoInfo,
        settings: PipelineSettings,
        *,
        view: ViewTransformer | None,
        work_dir: Path,
        logger: logging.Logger,
        on_progress: Callable[[Progress], None] | None,
        should_cancel: Callable[[], bool] | None,
    ) -> None:
        self.info, self.s, self.view, self.dir, self.log = info, settings, view, work_dir, logger
        self.on_progress, self.should_cancel = on_progress, should_cancel
        self.fps = info.fps
        self.size = (info.width, info.height)
        gap = max(settings.frame_stride, round(settings.ball_gap_max_s * self.fps))
        max_frames = FRAME_BUFFER_MAX_BYTES // max(1, info.width * info.height * 3)
        self.delay = max(settings.frame_stride, min(gap, max_frames))
        self.frames_done = 0
        self._phase("loading_model")
        t_load = time.perf_counter()
        self.detector = Detector(settings, logger, frame_size=self.size)
        self.model_load_s = time.perf_counter() - t_load
        lost_keyframes = round(settings.track_lost_buffer_s * self.fps / settings.frame_stride)
        self.ball = BallPath(settings, self.detector, self.fps, info.width, self.delay, view)
        self.imgsz = settings.imgsz  # the main pass's input size, chosen after _fit_teams
        self.teams = TeamClassifier()
        self.heights = PersonHeights()
        self.votes = TeamVotes()
        self.tracker = PlayerTracker(
            settings.player_conf_min, lost_keyframes, self.fps / settings.frame_stride,
            reid=settings.reid_config(),
            to_court=view.transform_points if view is not None else None,
            team_of=self.votes.team_of, team_of_colour=self._team_of_colour,
        )  # fmt: skip
        self.figures = TrackFigures()
        self.background_samples: list[np.ndarray] = []
        self.buffer: deque[FrameState] = deque()
        self.last_seen: dict[int, tuple[int, np.ndarray, float]] = {}
        self.counts = dict.fromkeys(
            ("ball_frames_detected", "ball_frames_interpolated", "ball_frames_missing",
             "ball_held_frames", "ball_flight_frames", "keyframes", "track_rows"), 0,
        )  # fmt: skip
        self.warnings: list[str] = []
        self.consumers: list[FrameConsumer] = []
        # Measured while learning the teams, for the quality warnings.
        self.camera_samples: list[np.ndarray] = []
        self.burst_colour = BurstColour()
        self.people_together_max = 0
        self.person_heights_px = np.empty(0)
        self._last_progress = 0.0
        self._logged_decile = 0
        self._t0 = 0.0

    # ----------------------------------------------------------------- main pass
    def run(self) -> dict:
        t0 = time.perf_counter()
        self._phase("learning_teams")
        self._fit_teams()
        t_fit = time.perf_counter() - t0
        self._learn_ball_colour()
        t_colour = time.perf_counter() - t0 - t_fit
        self._phase("analysing")
        self.colors = self.teams.colors_bgr()
        self._t0 = time.perf_counter()
        reader = FrameReader(self.info.path)
        annotator = Annotator(self.size, with_minimap=self.view is not None)
        try:
            writer = H264Writer(
                self.dir / "annotated.mp4", self.fps, self.size, preset=self.s.encode_preset,
                crf=self.s.encode_crf, threads=self.s.encode_threads,
                subme=self.s.encode_subme, prepare=annotator,
            )  # fmt: skip
        except BaseException:
            # Else the decode thread waits forever on its full queue inside a worker process.
            reader.close()
            raise
        try:
            self.tracks_out = TracksCsvWriter(self.dir)
            self.consumers = [
                self.tracks_out, BallCsvWriter(self.dir), AnnotatedVideo(writer, self.colors),
                self.figures, BackgroundFrame(self.dir, self.background_samples),
            ]  # fmt: skip
        except BaseException:
            reader.close()
            writer.abort()
            raise
        self.background_samples = []
        ok = False
        ahead = DetectAhead(self._detect) if self.s.detect_ahead_keyframes else None
        try:
            for index, image in reader:
                state = FrameState(index, image)
                self.buffer.append(state)
                if index % self.s.frame_stride != 0:
                    continue
                if ahead is None:
                    self._keyframe(state, self._detect(state.image))
                    self._finish_before(index)
                    continue
                # The detector works on this keyframe in its thread while the previous one
                # is tracked here: the same steps in the same order, overlapped.
                done = ahead.submit(state)
                if done is not None:
                    self._keyframe(*done)
                    self._finish_before(done[0].index)
            if ahead is not None and (done := ahead.drain()) is not None:
                self._keyframe(*done)
            if self.buffer and not self.buffer[-1].keyframe:
                last = self.buffer[-1]  # so trailing frames interpolate too
                self._keyframe(last, self._detect(last.image))
            while self.buffer:
                self._finish(self.buffer.popleft())
            if self.frames_done == 0:
                raise VideoError(f"{self.info.path.name} has no decodable frames.")
            if self.frames_done < TRUNCATED_SHARE * self.info.frames_total:
                self._warn(
                    f"Only {self.frames_done} of the {self.info.frames_total} frames the file "
                    "announces could be decoded: it is probably truncated."
                )
            self.end = StreamEnd(
                frames=self.frames_done,
                teams=self.votes.final(),
                kept=self.figures.kept(self.s.track_min_detections),
                team_names=self.s.team_display_names(),
                colors_bgr=self.colors,
            )
            for consumer in self.consumers:
                consumer.finish(self.end)
            ok = True
        finally:
            if ahead is not None:
                ahead.close()
            reader.close()
            if not ok:
                for consumer in self.consumers:
                    consumer.abort()
        t_main = time.perf_counter() - self._t0
        self._report(force=True)
        self._phase("writing_outputs")
        t1 = time.perf_counter()
        summary = self._write_outputs()
        summary["timings"] = {
            "model_load_s": round(self.model_load_s, 3),
            "team_fit_s": round(t_fit, 3),
            "ball_colour_s": round(t_colour, 3),
            "main_pass_s": round(t_main, 3),
            "finalize_s": round(time.perf_counter() - t1, 3),
            "processing_fps": round(self.frames_done / max(t_main, 1e-9), 2),
        }
        return summary

    def _team_of_colour(self, colour: np.ndarray) -> str:
        if not self.teams.fitted:
            return ""
        label = self.teams.predict(np.asarray(colour)[None])[0]
        return label if label in ("A", "B") else ""

    def _phase(self, phase: str) -> None:
        if self.on_progress is not None:
            total = self.info.frames_total
            self.on_progress(Progress(self.frames_done, total, 0.0, None, phase=phase))

    def _warn(self, message: str) -> None:
        self.log.warning(message)
        self.warnings.append(message)

    def _check_cancel(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise PipelineCancelled("Analysis cancelled at the analyst's request.")

    def _on_court(self, players):
        if self.view is None or len(players) == 0:
            return players
        court = self.view.transform_points(players.feet)
        m = self.s.court_margin_m
        inside = np.array(
            [np.isfinite(c).all() and DEFAULT_COURT.contains(c[0], c[1], m) for c in court]
        )
        return players[inside]

    def _detect(self, image: np.ndarray) -> Detections:
        return self.detector.detect(
            image, ball_conf_min=min(self.s.ball_conf_min, self.s.ball_path_conf_min),
            imgsz=self.imgsz,
        )  # fmt: skip

    def _finish_before(self, keyframe_index: int) -> None:
        """Hand on the frames no later keyframe can change any more."""
        while self.buffer and self.buffer[0].index <= keyframe_index - self.delay:
            self._finish(self.buffer.popleft())

    def _keyframe(self, state: FrameState, dets: Detections) -> None:
        self._check_cancel()
        state.keyframe = True
        self.counts["keyframes"] += 1
        players = self._on_court(drop_part_boxes(dets[dets.class_id == PLAYER]))
        players.data["color"] = torso_features(state.image, players.xyxy)
        players = self.tracker.update_with_detections(players, state.image)
        # Re-identification found IDs wrong since an earlier keyframe (K, at frame
        # (K - 1) x stride): the frames still held are written with the right ones.
        stride = self.s.frame_stride
        relabel(
            self.buffer, self.last_seen, self.tracker.take_renames(), lambda k: (k - 1) * stride + 1
        )
        if self.teams.fitted and len(players):
            # A part box does not vote: its "torso" crop is not the shirt (PersonHeights).
            whole = self.heights.whole(players.xyxy)[:, None]
            labels = self.teams.predict(np.where(whole, players.data["color"], np.nan))
            for tid, label in zip(players.tracker_id.tolist(), labels, strict=True):
                self.votes.add(tid, label)
        first = self.buffer[0].index
        for box, conf, tid in zip(
            players.xyxy, players.confidence.tolist(), players.tracker_id.tolist(), strict=True
        ):
            box = box.astype(np.float64)
            state.players[tid] = (box, conf, True)
            seen = self.last_seen.get(tid)
            if seen is not None and state.index - seen[0] <= self.delay:
                for f in range(max(seen[0] + 1, first), state.index):
                    a = (f - seen[0]) / (state.index - seen[0])
                    self.buffer[f - first].players[tid] = (
                        seen[1] + a * (box - seen[1]),
                        min(seen[2], conf),
                        False,
                    )
            self.last_seen[tid] = (state.index, box, conf)
        self.ball.on_keyframe(state, dets[dets.class_id == BALL], self.buffer)

    # ------------------------------------------------------------- per frame out
    def _finish(self, st: FrameState) -> None:
        frame = self._tracked_frame(st)
        for consumer in self.consumers:
            consumer.on_frame(frame)
        self.frames_done += 1
        self._report()

    def _tracked_frame(self, st: FrameState) -> TrackedFrame:
        """The buffered frame's final players and ball, in the form every consumer reads."""
        tids = list(st.players)
        n = len(tids)
        boxes = np.array([st.players[k][0] for k in tids], dtype=np.float64).reshape(-1, 4)
        feet = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]]
        court = np.full((n, 2), np.nan)
        if self.view is not None and n:
            court = self.view.transform_points(feet)
        zones = np.array([_zone(c) if self.view is not None else "" for c in court], dtype=object)
        players = Detections(
            boxes,
            [st.players[k][1] for k in tids],
            np.full(n, PLAYER),
            np.array(tids, dtype=np.int64),
            {
                "team": np.array([self.votes.team_of(k) or "" for k in tids], dtype=object),
                "source": np.array(
                    [SOURCE_DETECTED if st.players[k][2] else SOURCE_INTERPOLATED for k in tids],
                    dtype=object,
                ),
                "court_xy": court,
                "zone": zones,
            },
        )
        players.xyxy = boxes  # keep float64: tracks.csv rounds to 0.1 px itself
        frame = TrackedFrame(st.index, st.index / self.fps, st.image, players)
        ball_xy = self.ball.position(st, self.buffer[0] if self.buffer else None)
        if ball_xy is None:
            self.counts["ball_frames_missing"] += 1
            return frame
        holder = self.ball.holder(st, ball_xy)
        _, conf, detected = st.ball
        self.counts["ball_frames_detected" if detected else "ball_frames_interpolated"] += 1
        self.counts["ball_held_frames" if holder is not None else "ball_flight_frames"] += 1
        self.ball.prev_out = (st.index, ball_xy)
        ball = BallState(
            ball_xy, conf, SOURCE_DETECTED if detected else SOURCE_INTERPOLATED, holder
        )
        if self.view is not None:
            # The ball is in the air more often than not: its court position is where it would
            # be on the floor below, so only meaningful while held (then: the holder's feet).
            src = feet[tids.index(holder)][None] if holder is not None else ball_xy[None]
            c = self.view.transform_points(src)[0]
            if np.isfinite(c).all():
                ball.court_xy = (float(c[0]), float(c[1]))
                ball.zone = DEFAULT_COURT.zone_of(*ball.court_xy)
        frame.ball = ball
        return frame

    def _report(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        elapsed = max(now - self._t0, 1e-9)
        fps = self.frames_done / elapsed
        total = max(self.info.frames_total, self.frames_done)
        eta = (total - self.frames_done) / fps if fps > 0 else None
        decile = self.frames_done * 10 // max(1, total)
        if decile > self._logged_decile:  # run.log gets a line every 10 %
            self._logged_decile = decile
            self.log.info(
                "%d%%: %d/%d frames, %.1f fps, %d tracks so far",
                decile * 10, self.frames_done, total, fps, len(self.figures.seen),
            )  # fmt: skip
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    self.frames_done, total, round(fps, 2), None if eta is None else round(eta, 1)
                )
            )

    # ------------------------------------------------------------------ outputs
    def _write_outputs(self) -> dict:
        teams, keep, names = self.end.teams, self.end.kept, self.end.team_names
        rows = self.tracks_out.rows
        by_team = {k: 0 for k in ("A", "B", OTHER, "")}
        for tid in keep:
            by_team[teams.get(tid, "")] += 1
        hexes = {k: bgr_to_hex(v) for k, v in self.colors.items()}
        camera = estimate_camera_motion(self.camera_samples)
        summary = {
            "schema_version": 1,
            "status": "completed",
            "video": {**self.info.to_dict(), "frames_processed": self.frames_done},
            "settings": self.s.to_dict(),
            "calibration": None,
            "model": {**self.detector.describe(), "main_pass_imgsz": self.imgsz},
            "versions": software_versions(),
            "counts": {
                "frames": self.frames_done,
                "player_tracks": len(keep),
                "players_by_team": by_team,
                **self.counts,
                "track_rows": rows,
                "ball_zoom_looks": self.ball.zoom_looks,
                "ball_motion_searches": self.ball.motion.searches if self.ball.motion else 0,
                "ball_motion_keyframes": self.ball.motion_points,
                "ball_motion_camera_resets": (
                    self.ball.motion.camera_resets if self.ball.motion else 0
                ),
                "ball_colour_bursts_run": self.burst_colour.bursts_run,
                "ball_colour_bursts_taught": self.burst_colour.bursts_taught,
                "ball_colour_before_main_pass": self.burst_colour.learnt,
                **self.tracker.reid_counts,
                "ball_unfilled_gaps": self.ball.unfilled_gaps,
                "ball_unfilled_gap_frames": self.ball.unfilled_gap_frames,
                "ball_longest_unfilled_gap_s": round(
                    self.ball.longest_unfilled_gap_frames / self.fps, 2
                ),
            },
            "teams": [
                {"label": k, "name": names[k], "color": hexes[k], "players": by_team[k]}
                for k in ("A", "B", OTHER)
            ],
            "warnings": self.warnings,
            "camera": camera.to_dict() if camera is not None else None,
        }
        placement = self.detector.placement.fallback_reason
        placed = (
            [f"The detector ran on {self.detector.placement.backend}: {placement}."]
            if placement
            else []
        )
        summary["warnings"] = [
            *placed,
            *self.warnings,
            *quality_warnings(self._quality(summary, camera)),
        ]
        return summary

    def _quality(self, summary: dict, camera) -> QualityInputs:
        return QualityInputs(
            frame_size=self.size, imgsz=self.imgsz, calibrated=self.view is not None,
            counts=summary["counts"], team_colour_distance=self.teams.colour_distance,
            people_together_max=self.people_together_max,
            person_heights_px=self.person_heights_px, camera=camera,
            ball_gap_fill_max_s=self.s.ball_gap_fill_max_s,
        )  # fmt: skip


def _zone(court_xy: np.ndarray) -> str:
    return DEFAULT_COURT.zone_of(*court_xy) if np.isfinite(court_xy).all() else ""
