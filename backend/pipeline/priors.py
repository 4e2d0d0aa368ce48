"""What the engine learns about a video before its main pass, from frames sampled across it:
the team colours, the players' size (and so the detector's input size), the background and
the camera samples, the court spots where a "ball" never moves, and the ball's colour.

Split from engine.py (a mixin of Engine, whose attributes these methods fill in).
"""

from __future__ import annotations

import contextlib

import numpy as np

from backend.pipeline.ball_prelearn import learn_from_video
from backend.pipeline.camera import small_grey
from backend.pipeline.detection import BALL, PLAYER, drop_part_boxes
from backend.pipeline.input_size import detector_input_size
from backend.pipeline.stream import frames_at, prefetched
from backend.pipeline.teams import bgr_to_hex, torso_features

# Sampled frames whose median becomes background.jpg (players moving about disappear).
BACKGROUND_SAMPLE_FRAMES = 7
STATIC_LEARN_BALL_CONF_MIN = 0.05


class BeforeMainPass:
    """Mixed into Engine: the steps between loading the detector and the main pass."""

    def _fit_teams(self) -> None:
        n = self.s.team_sample_frames
        duration = max(self.info.duration_s, 1 / self.fps)
        times = [duration * (i + 0.5) / n for i in range(n)]
        feats, boxes = [np.empty((0, 3))], [np.empty((0, 4))]
        ball_samples = []
        every = max(1, n // BACKGROUND_SAMPLE_FRAMES)
        with contextlib.closing(prefetched(frames_at(self.info.path, times))) as samples:
            for i, (_, frame) in enumerate(samples):
                self._check_cancel()
                if i % every == 0 and len(self.background_samples) < BACKGROUND_SAMPLE_FRAMES:
                    self.background_samples.append(frame)
                self.camera_samples.append(small_grey(frame))
                # Faint "balls" count here: scenery often scores just under the threshold and
                # then now and again just over it.
                dets = self.detector.detect(frame, ball_conf_min=STATIC_LEARN_BALL_CONF_MIN)
                ball_samples.append(dets[dets.class_id == BALL].centers)
                players = self._on_court(drop_part_boxes(dets[dets.class_id == PLAYER]))
                feats.append(torso_features(frame, players.xyxy))
                boxes.append(players.xyxy)
        spots = self.ball.selector.learn_static_spots(ball_samples)
        if spots:
            self.log.info("ignoring %d spot(s) where a 'ball' never moves (court markings)", spots)
        all_boxes = np.concatenate(boxes)
        frame_ids = np.repeat(np.arange(len(boxes)), [len(b) for b in boxes])
        # Part boxes' crops are legs or faces: they would pass for a third kit (officials).
        whole = self.heights.fit(all_boxes).whole(all_boxes)
        all_feats = np.concatenate(feats)[whole]
        self.person_heights_px = (all_boxes[:, 3] - all_boxes[:, 1])[whole]
        self.people_together_max = int(np.bincount(frame_ids[whole]).max(initial=0))
        try:
            self.teams.fit(all_feats, frame_ids[whole])
            self.log.info(
                "team colours from %d crops: A %s, B %s", len(all_feats),
                bgr_to_hex(self.teams.colors_bgr()["A"]), bgr_to_hex(self.teams.colors_bgr()["B"]),
            )  # fmt: skip
        except ValueError as exc:
            self._warn(f"Teams not split: {exc}")
        self.imgsz = detector_input_size(
            self.person_heights_px, self.size, self.s.imgsz, self.s.imgsz_auto_player_px,
            self.s.imgsz_auto_max,
        )  # fmt: skip
        if self.imgsz != self.s.imgsz:
            self.log.info(
                "players are small (median %.0f px tall): detector input %d px, not %d",
                float(np.median(self.person_heights_px)), self.imgsz, self.s.imgsz,
            )  # fmt: skip

    def _learn_ball_colour(self) -> None:
        """The ball's colour from bursts of keyframes across the video (ball_prelearn.py),
        after the team fit has chosen the main pass's input size, so the bursts see the
        players the main pass will."""
        if self.ball.motion is None or self.s.ball_colour_bursts <= 0:
            return

        def players_of(image: np.ndarray) -> np.ndarray:
            self._check_cancel()
            dets = self._detect(image)
            return self._on_court(drop_part_boxes(dets[dets.class_id == PLAYER])).xyxy

        heights = self.person_heights_px
        found = learn_from_video(
            self.info.path, self.info.duration_s, self.fps, players_of, self.s, self.view,
            player_height_px=float(np.median(heights)) if len(heights) else None,
        )  # fmt: skip
        self.burst_colour = found
        if found.learnt:
            self.ball.motion.colour.prime(found.samples)
            self.log.info(
                "ball colour learnt before the main pass (CIELAB %s): %d of %d bursts found "
                "a flight clear of the players",
                np.round(np.mean(found.samples, axis=0)).astype(int).tolist(),
                found.bursts_taught, found.bursts_run,
            )  # fmt: skip
