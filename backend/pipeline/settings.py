"""The analysis settings an analyst can change, and the small result types of a run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.pipeline.inference import BACKENDS, PRECISIONS

if TYPE_CHECKING:  # reid.py brings OpenCV: readers of settings (API, CLI, forms) need none
    from backend.pipeline.reid import ReidConfig

# (minimum, maximum) of every numeric setting; outside these a run is pointless or unsafe.
_RANGES: dict[str, tuple[float, float]] = {
    "imgsz": (128, 1920),
    "frame_stride": (1, 10),
    "player_conf_min": (0.01, 0.99),
    "ball_conf_min": (0.01, 0.99),
    "ball_path_conf_min": (0.01, 0.99),
    "torch_threads": (1, 256),
    "track_lost_buffer_s": (0.1, 30.0),
    "ball_gap_max_s": (0.0, 3.0),
    "ball_gap_fill_max_s": (0.0, 3.0),
    "ball_max_speed_frac_per_s": (0.1, 20.0),
    "ball_held_speed_max_frac_per_s": (0.0, 5.0),
    "ball_static_s": (0.5, 30.0),
    "ball_zoom_px": (0, 1024),
    "ball_motion_search_px": (0, 4096),
    "ball_motion_diff_min": (1, 255),
    "ball_motion_grow_diff_min": (0, 255),
    "ball_motion_background_rate": (0.01, 1.0),
    "ball_motion_camera_jump_px": (1, 1000),
    "ball_motion_conf": (0.01, 0.99),
    "ball_blob_fill_min": (0.0, 1.0),
    "ball_colour_distance_max_lab": (1, 200),
    "ball_colour_samples_min": (1, 100),
    "ball_colour_bursts": (0, 64),
    "ball_colour_burst_keyframes": (3, 30),
    "ball_colour_burst_share_max": (0.0, 1.0),
    "ball_colour_chroma_min_lab": (0, 100),
    "ball_contrast_min_lab": (0, 200),
    "court_margin_m": (0.0, 10.0),
    "team_sample_frames": (1, 200),
    "track_min_detections": (1, 100),
    "reid_lost_max_s": (0.0, 60.0),
    "reid_max_speed_m_per_s": (0.5, 15.0),
    "reid_appearance_distance_max": (0.05, 1.0),
    "reid_partial_distance_max": (0.05, 1.0),
    "reid_appearance_rate": (0.01, 1.0),
    "reid_clean_overlap_max": (0.0, 1.0),
    "reid_reach_slack_m": (0.0, 10.0),
    "reid_swap_margin": (0.0, 1.0),
    "reid_swap_window_s": (0.1, 30.0),
    "reid_misfit_keyframes": (1, 50),
    "reid_provisional_s": (0.0, 30.0),
    "reid_stature_tolerance": (0.0, 1.0),
    "reid_stature_misfit": (0.0, 1.0),
    "encode_crf": (0, 51),
    "imgsz_auto_player_px": (0, 400),
    "imgsz_auto_max": (128, 1920),
    "detect_ahead_keyframes": (0, 1),
    "encode_threads": (0, 16),
    "encode_subme": (0, 11),
    "ball_diameter_m": (0.05, 1.0),
    "ball_scale_disagreement_max": (1.0, 100.0),
}

_ENCODE_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


@dataclass
class PipelineSettings:
    """Defaults are the product defaults, chosen on a 2-core CPU for >= 1x real time at 720p.

    imgsz: detector input size in pixels; lower is faster but loses small/far players.
    frame_stride: run the detector on every Nth frame; frames between carry interpolated
        boxes. Higher is faster; fast direction changes between keyframes are smoothed away.
    player_conf_min / ball_conf_min: detector confidence needed to count a person / ball.
    ball_path_conf_min: lower confidence enough for a ball right where its recent path
        predicts it (a small ball often scores under ball_conf_min); equal to
        ball_conf_min turns this off, lower finds more of a small ball but risks heads.
    track_lost_buffer_s: how long a track that lost its detection may come back with its ID.
    ball_gap_max_s: longest gap without a ball detection over which the ball's path is kept
        (to match the next detection to it, and the frame buffer's length).
    ball_gap_fill_max_s: longest gap between two ball detections filled with interpolated
        positions; a longer gap stays empty (the ball is neither drawn nor counted there),
        since a straight line over it is a guess: over a 1 s gap on a real clip the guess
        ran across the curtain ~100 px from the ball. Raise it for a smoother but less
        honest path, lower it to show only what was seen.
    ball_max_speed_frac_per_s: fastest plausible ball, in frame widths per second; a
        detection farther than that from the recent path is treated as a false ball.
    ball_held_speed_max_frac_per_s: a ball slower than this inside a player's box is held.
    ball_static_s: a "ball" detected in the same spot for this long is a court marking or
        a light, not the ball; lower catches scenery sooner but may drop a ball held still.
    ball_zoom_px: side of the full-resolution square searched again around the predicted ball
        when a keyframe shows none (0 = off), on every other such keyframe; finds balls too
        small for `imgsz` at the cost of a small detector run (~13 ms on 2 cores).
    ball_motion_search_px: side in pixels of the square searched for moving ball-sized blobs
        (ball_candidates.py) around the predicted ball when the detector has no confident
        ball, before faint detector balls and the zoom look; the whole frame while the path
        is lost. Costs ~6-11 % of the time per frame (benchmarks/README.md). 0 turns the
        motion candidates off (the detector alone, as before issue 15).
    ball_motion_diff_min: grey levels (0-255, largest channel) a pixel must differ from the
        running background to count as moving; lower finds a fainter, blurred ball but also
        compression noise.
    ball_motion_grow_diff_min: grey levels a pixel within 2 px of a moving one must differ
        by to join its blob while the ball's colour is still being learnt (the blob's colour
        is measured on its core): a ball blurred by its flight over a floor of a like colour
        passes ball_motion_diff_min only at its core, too small to be taken for a ball, so
        the first flights taught no colour. Such grown blobs only teach the colour, they are
        never candidates. Lower grows blobs into more of the floor's noise; 0 (or
        ball_motion_diff_min and above) turns it off.
    ball_motion_background_rate: share of each keyframe folded into the running background
        (per keyframe); higher forgets a player who stood still sooner, lower keeps ghosts.
    ball_motion_camera_jump_px: camera shift between keyframes, in pixels, beyond which the
        background is restarted instead of shifted along (a cut or a whip pan).
    ball_motion_conf: confidence given to a perfect motion candidate (scaled by its size and
        roundness fit); below ball_conf_min, so a detector ball wins when there is one.
    ball_blob_fill_min: share of its bounding box a blob must fill (a disc fills 0.79, a
        blurred ball less, a limb or a line edge far less).
    ball_colour_distance_max_lab: CIELAB distance from the learnt ball colour within which a
        pixel can be the ball; lower rejects skin and shoes more surely but loses a blurred
        or shaded ball.
    ball_colour_samples_min: sure sightings (a confident detection or a blob clear of every
        player) needed before the ball colour is used, which is what finds a held ball.
    ball_colour_bursts: before the main pass, up to this many bursts of consecutive
        keyframes spread over the video are searched for a flight clear of every player,
        which teaches the ball's colour (ball_prelearn.py); once two bursts agree, the main
        pass starts knowing it, so the ball in the hands and the first passes are found from
        the first frame, not only after the first clear flight. They stop as soon as two
        agree. 0 turns it off (the colour is learnt in the main pass only, as before
        2026-12-06).
    ball_colour_burst_keyframes: keyframes (frame_stride apart) in one burst; the first two
        only start its background. Longer catches a flight more surely (a pass every few
        seconds), costs more when there is none.
    ball_colour_burst_share_max: the bursts' keyframes are at most this share of the video's.
        A burst's keyframe is searched without the players first (a whole-frame search,
        about a third of a main-pass keyframe's cost) and the detector runs only on the two
        keyframes of a flight found, so they cost a short clip at most about a third of this
        share more time; a 16 s wide shot gets 3 bursts at 0.3, a 6 s one 1, a 3 s one none,
        a long match all ball_colour_bursts for next to nothing.
    ball_colour_chroma_min_lab: CIELAB chroma (distance from grey, 8-bit a/b units) a motion
        candidate needs; rejects court lines uncovered by a walking player and white shoes.
        Set 0 for a white ball (then those come back as candidates).
    ball_contrast_min_lab: CIELAB distance between a motion candidate's mean colour and the
        background's behind it; lower finds a ball on a floor of similar colour, but lets in
        compression shimmer along court lines. 20 since the motion difference tolerates a
        pixel of misalignment (shimmer on lines no longer changes): a ball smeared by its
        flight over the generated floor measured 27-30, and 30 lost it.
    court_margin_m: with a calibration, people whose feet are farther than this outside the
        court (bench, spectators) are dropped.
    team_sample_frames: frames sampled across the video to learn the two shirt colours. Each
        costs one seek and one detector run (~30-50 ms); fewer than ~20 left a player who is
        rarely boxed whole (legs-only boxes do not vote) without a team on 2 s clips.
    track_min_detections: tracks detected on fewer keyframes are noise and left out of the
        data files.
    reid_lost_max_s: re-identification (reid.py): how long, in seconds, a lost player's ID
        can still go to a new track that looks and moves like them (a player hidden behind
        others). 6 (the default) is the value measured in benchmarks/README.md (issue 15
        identities), where re-identification gave as few or fewer identities per player
        than the stitching on every generated clip (wide shots fixed and panned, crossings,
        today's 720p clip). 0 turns it off: the older feet-and-shirt stitching within
        track_lost_buffer_s. Higher survives longer occlusions, with more chance of giving
        the ID to someone else.
    reid_max_speed_m_per_s: fastest a hidden player is assumed to run, in metres per second
        (court metres when calibrated, else box heights of a 1.75 m player); a new track
        farther from where a lost one would be than this times the time out of sight, plus
        reid_reach_slack_m, cannot continue it.
    reid_appearance_distance_max: largest Hellinger distance (0 same, 1 nothing shared)
        between a lost player's shirt and trouser hue histograms and a new track's for it
        to continue that player; lower keeps look-alikes apart but loses players whose
        look changed (shade, a partly hidden box).
    reid_partial_distance_max: the same gate, on the shirt alone, for a new box that is
        partly hidden (only head and shoulders show above nearer players, so others' heads
        are in its crop); a rival's shirt is farther than this.
    reid_appearance_rate: share of each clean keyframe's look folded into a track's running
        appearance (per keyframe); higher follows lighting changes sooner but forgets who
        the player was sooner after an unnoticed swap.
    reid_clean_overlap_max: a box overlapping another by more than this share of its area
        is not clean: it neither teaches its track's appearance nor decides a swap.
    reid_reach_slack_m: metres added to the motion gate (feet jitter, a box that grew).
    reid_swap_margin: two tracks out of a close encounter are swapped back when each one's
        look is closer to the other's appearance than to its own by this much (mean
        Hellinger distance); lower undoes more tracker swaps but risks making one.
    reid_swap_window_s: seconds after two players were close during which a swap is looked
        for, once both stand clear.
    reid_misfit_keyframes: keyframes in a row on which an ID's box, standing clear, must
        look unlike its player (farther than reid_appearance_distance_max) before the box is
        taken to be someone else's (the tracker moved it to a rival inside a crowd) and the
        ID is lost from where it last stood clear; lower lets go sooner, higher survives a
        bad crop or a sudden shadow.
    reid_provisional_s: seconds after an ID is given afresh during which, whenever its box
        stands clear, it is tried again against IDs lost before its birth (a player who came
        out of a crowd in a box that first fitted nobody); 0 tries only at birth.
    reid_stature_tolerance: team-mates wear one kit, so their stature tells them apart: a
        clean box's height against that of everyone's boxes at the same distance from the
        camera (stature.py; 1.05 = 5 % taller than the average there). A stature this share
        away from what an ID has shown counts as much as looks with nothing in common, when a
        new box is given a lost ID and when two IDs out of an encounter may have been
        swapped. Lower trusts small height differences more (box heights jitter by ~2 % on
        generated clips, more when arms go up or a player crouches); 0 turns the cue off.
    reid_stature_misfit: a clean box more than this share taller or shorter than its ID's
        stature does not look like its player (as a look beyond reid_appearance_distance_max
        does; reid_misfit_keyframes in a row let the box go): the tracker moved the ID to a
        team-mate of another height. Lower catches team-mates closer in height, higher
        survives arms raised or a crouch; 0 (or reid_stature_tolerance 0) never lets a box
        go for its height.
    encode_preset / encode_crf: libx264 speed preset and quality of annotated.mp4.
    encode_threads: libx264's threads for annotated.mp4; 0 lets x264 choose (1.5 a core).
        1 measured the same CPU time in the pipeline (benchmarks/README.md).
    encode_subme: libx264's sub-pixel motion estimation level (0-11; None keeps the
        preset's own, 2 for veryfast). 1 costs ~25 % less encoder CPU than 2 (~2 CPU-ms per
        720p frame, ~7 % of the main pass) for ~7 % larger files and 0.9 dB lower PSNR
        (benchmarks/README.md); higher is slower and a little sharper.
    detector_precision: "f32" (as PyTorch computes), "auto" (OpenVINO's choice for the
        CPU: bf16 where the CPU computes in it, fp32 elsewhere) or "int8" (an int8 export,
        quantised once per input shape with NNCF on a fixed calibration set, ~10 s; f32 with
        the reason logged when that is impossible); OpenVINO only. benchmarks/README.md
        has the speed and quality of each.
    backend: detector inference backend: "auto" (OpenVINO on a CPU, PyTorch on a GPU),
        "openvino" or "pytorch"; whatever cannot run falls back with the reason logged.
    imgsz_auto_player_px: median whole-person height, in pixels at the detector's input,
        below which the input size is raised from `imgsz` (in steps of 32, up to the video's
        long side and imgsz_auto_max) for the main pass; measured on the team-learning
        frames (input_size.py). Far players on a wide shot are found far more often, at the
        detector's cost growing with the square of the size. 64 (the default) leaves every
        generated 720p and 360p clip at 480 and raises wide shots (players 60-110 px tall in
        a 960 px frame) to 704; 0 keeps `imgsz` fixed. An input size the analyst asks for
        is kept: `from_dict` turns this off when `imgsz` is given without it (the CLI's
        --imgsz, the API's imgsz, a fixed size on the New analysis page).
    imgsz_auto_max: largest input size, in pixels, imgsz_auto_player_px may choose.
    ball_diameter_m: the real ball's diameter in metres (a netball: 0.22-0.23); with a
        calibration the motion candidates expect it that wide at the ball's image position.
    ball_scale_disagreement_max: ratio (>= 1) between the ball width the calibration gives
        and the one the players' box heights give (0.1 of the median) beyond which the
        calibration's is not trusted (a wrong calibration, or people and court out of
        proportion as in the generated test clips); higher trusts the calibration more.
    detect_ahead_keyframes: keyframes the detector runs ahead of the tracking, in a thread
        of its own (engine.DetectAhead), so the two overlap on two cores; 0 runs it in line
        (as before issue 13's second round). The outputs are the same either way; only the
        time differs (benchmarks/README.md).
    The machine's part, filled in by the app from its environment (backend.config
    .with_machine_settings; the stage itself never reads the app's configuration):
    device: "cpu", "cuda" or "cuda:N" (NETBALL_DEVICE); None means "cpu".
    model_path: detector weights (NETBALL_MODEL); None means the verified default yolov8n.
    model_cache_dir: folder of the detector exports, made once per weights file and input
        shape (NETBALL_MODEL_CACHE_DIR, default <data>/models); None means a per-user folder
        in the system temp dir.
    """

    imgsz: int = 480
    frame_stride: int = 3
    player_conf_min: float = 0.30
    ball_conf_min: float = 0.15
    ball_path_conf_min: float = 0.05
    device: str | None = None
    model_path: Path | None = None
    torch_threads: int | None = None
    team_names: dict[str, str] | None = None
    track_lost_buffer_s: float = 3.0
    ball_gap_max_s: float = 1.0
    ball_gap_fill_max_s: float = 0.5
    ball_max_speed_frac_per_s: float = 1.5
    ball_held_speed_max_frac_per_s: float = 0.6
    ball_static_s: float = 1.5
    ball_zoom_px: int = 256
    ball_motion_search_px: int = 320
    ball_motion_diff_min: float = 22.0
    ball_motion_grow_diff_min: float = 11.0
    ball_motion_background_rate: float = 0.1
    ball_motion_camera_jump_px: float = 60.0
    ball_motion_conf: float = 0.12
    ball_blob_fill_min: float = 0.35
    ball_colour_distance_max_lab: float = 18.0
    ball_colour_samples_min: int = 2
    ball_colour_bursts: int = 8
    ball_colour_burst_keyframes: int = 12
    ball_colour_burst_share_max: float = 0.3
    ball_colour_chroma_min_lab: float = 20.0
    ball_contrast_min_lab: float = 20.0
    court_margin_m: float = 1.5
    team_sample_frames: int = 24
    track_min_detections: int = 2
    reid_lost_max_s: float = 6.0
    reid_max_speed_m_per_s: float = 7.0
    reid_appearance_distance_max: float = 0.45
    reid_partial_distance_max: float = 0.6
    reid_appearance_rate: float = 0.15
    reid_clean_overlap_max: float = 0.05
    reid_reach_slack_m: float = 1.0
    reid_swap_margin: float = 0.12
    reid_swap_window_s: float = 2.0
    reid_misfit_keyframes: int = 2
    reid_provisional_s: float = 2.0
    reid_stature_tolerance: float = 0.2
    reid_stature_misfit: float = 0.06
    encode_preset: str = "veryfast"
    encode_crf: int = 23
    backend: str = "auto"
    model_cache_dir: Path | None = None
    imgsz_auto_player_px: float = 64.0
    imgsz_auto_max: int = 1280
    ball_diameter_m: float = 0.225
    ball_scale_disagreement_max: float = 2.0
    detect_ahead_keyframes: int = 1
    encode_threads: int = 0
    encode_subme: int | None = 1
    detector_precision: str = "f32"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if value is None and name in ("torch_threads", "encode_subme"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"Setting {name} must be a number, got {value!r}.")
            if not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"Setting {name} must be between {low} and {high}, got {value}.")
        for name in ("imgsz", "ball_zoom_px", "imgsz_auto_max"):
            if getattr(self, name) % 32:
                raise ValueError(
                    f"Setting {name} must be a multiple of 32, got {getattr(self, name)}."
                )
        if self.encode_preset not in _ENCODE_PRESETS:
            raise ValueError(
                f"Setting encode_preset must be one of {', '.join(_ENCODE_PRESETS)}, "
                f"got {self.encode_preset!r}."
            )
        if self.device is not None and (not isinstance(self.device, str) or not self.device):
            raise ValueError(f"Setting device must be a name like 'cpu', got {self.device!r}.")
        if self.backend not in BACKENDS:
            raise ValueError(
                f"Setting backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}."
            )
        if self.detector_precision not in PRECISIONS:
            raise ValueError(
                f"Setting detector_precision must be one of {', '.join(PRECISIONS)}, "
                f"got {self.detector_precision!r}."
            )
        if self.team_names is not None:
            unknown = set(self.team_names) - {"A", "B"}
            if unknown:
                raise ValueError(
                    f"team_names keys must be 'A' and/or 'B', got {', '.join(sorted(unknown))}."
                )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PipelineSettings:
        """Build settings from stored JSON: unknown keys are ignored, numbers are coerced."""
        data = dict(data or {})
        if data.get("imgsz") is not None and data.get("imgsz_auto_player_px") is None:
            # A size chosen for speed (320 on a slow laptop) must not be raised behind the
            # analyst's back; stored settings carry both keys and round-trip unchanged.
            data["imgsz_auto_player_px"] = 0
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known or value is None:
                continue
            if key in ("model_path", "model_cache_dir"):
                kwargs[key] = Path(value)
            elif key in (
                "imgsz",
                "frame_stride",
                "torch_threads",
                "team_sample_frames",
                "track_min_detections",
                "ball_zoom_px",
                "ball_motion_search_px",
                "ball_colour_samples_min",
                "ball_colour_bursts",
                "ball_colour_burst_keyframes",
                "encode_crf",
                "imgsz_auto_max",
                "detect_ahead_keyframes",
                "encode_threads",
                "encode_subme",
                "reid_misfit_keyframes",
            ):
                kwargs[key] = _as_int(key, value)
            elif key in _RANGES:
                kwargs[key] = _as_float(key, value)
            elif key == "team_names":
                if not isinstance(value, dict):
                    raise ValueError(f"team_names must be a mapping, got {type(value).__name__}.")
                kwargs[key] = {str(k): str(v) for k, v in value.items()}
            else:
                kwargs[key] = str(value)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("model_path", "model_cache_dir"):
            data[key] = str(data[key]) if data[key] else None
        return data

    def reid_config(self) -> ReidConfig | None:
        """The re-identification settings (reid.py), or None when it is off."""
        if self.reid_lost_max_s <= 0:
            return None
        from backend.pipeline.reid import ReidConfig

        return ReidConfig(
            max_speed_m_per_s=self.reid_max_speed_m_per_s,
            lost_max_s=self.reid_lost_max_s,
            appearance_distance_max=self.reid_appearance_distance_max,
            partial_distance_max=self.reid_partial_distance_max,
            appearance_rate=self.reid_appearance_rate,
            clean_overlap_max=self.reid_clean_overlap_max,
            reach_slack_m=self.reid_reach_slack_m,
            swap_margin=self.reid_swap_margin,
            swap_window_s=self.reid_swap_window_s,
            misfit_keyframes=self.reid_misfit_keyframes,
            provisional_s=self.reid_provisional_s,
            stature_tolerance=self.reid_stature_tolerance,
            stature_misfit=self.reid_stature_misfit,
        )

    def team_display_names(self) -> dict[str, str]:
        names = {"A": "Team A", "B": "Team B", "other": "Officials"}
        names.update(self.team_names or {})
        return names


def _as_int(key: str, value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Setting {key} must be a whole number, got {value!r}.") from exc
    if not number.is_integer():
        raise ValueError(f"Setting {key} must be a whole number, got {value!r}.")
    return int(number)


def _as_float(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Setting {key} must be a number, got {value!r}.") from exc


# What a run is doing, in order; the job store shows the same names (plus queued, done).
PHASES = ("starting", "loading_model", "learning_teams", "analysing", "writing_outputs")


@dataclass
class Progress:
    """frames_* count only in the analysing phase; before it they are 0 while the detector
    loads and the team colours are learnt, which can take longer than the frames."""

    frames_done: int
    frames_total: int
    fps: float
    eta_s: float | None
    phase: str = "analysing"

    @property
    def fraction(self) -> float:
        return min(1.0, self.frames_done / self.frames_total) if self.frames_total else 0.0


@dataclass
class AnalysisResult:
    out_dir: Path
    files: list[Path]
    summary: dict
