"""Detections as parallel numpy arrays, and the YOLO detector that produces them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from backend.pipeline.errors import ModelError
from backend.pipeline.inference import (
    INT8,
    OpenVinoCache,
    choose_placement,
    compile_cache_config,
    export_root,
    input_shape,
    keep_ultralytics_offline,
    openvino_config,
    openvino_threads,
)
from backend.pipeline.model import resolve_model_path
from backend.pipeline.openvino_net import OpenVinoNet
from backend.pipeline.settings import PipelineSettings

PLAYER = 0
BALL = 1
# Class names of other weights are matched by name, never by index.
PLAYER_CLASS_NAMES = ("person", "player", "players", "netball player")
BALL_CLASS_NAMES = ("sports ball", "ball", "netball")
# A player box this much inside a bigger one, with its bottom edge within this fraction of
# the bigger box's height, is a part of that person (see drop_part_boxes).
PART_INSIDE_FRAC_MIN = 0.85
PART_BOTTOM_TOLERANCE_FRAC = 0.15
# A box shorter than this share of a whole person standing at the same image row is a part
# of a person (see PersonHeights); whole boxes measured 0.92-1.10, legs ~0.5, upper bodies ~0.65.
PART_HEIGHT_FRAC_MAX = 0.8
PERSON_HEIGHT_FIT_BOXES_MIN = 8
PERSON_HEIGHT_FIT_ROUNDS = 4
# Longest library error quoted in a fallback reason (Results shows it as a warning).
REASON_MAX_CHARS = 240


@dataclass
class Detections:
    """One frame's objects: row i of every array describes the same object."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        if self.tracker_id is None:
            self.tracker_id = np.full(n, -1, dtype=np.int64)
        self.tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(-1)
        for name, arr in (
            ("confidence", self.confidence),
            ("class_id", self.class_id),
            ("tracker_id", self.tracker_id),
            *self.data.items(),
        ):
            if len(arr) != n:
                raise ValueError(f"Detections.{name} must have {n} rows like xyxy, got {len(arr)}.")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.empty((0, 4)), np.empty(0), np.empty(0))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Detections:
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_id[index],
            self.tracker_id[index],
            {k: v[index] for k, v in self.data.items()},
        )

    @property
    def centers(self) -> np.ndarray:
        return (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2

    @property
    def feet(self) -> np.ndarray:
        """Bottom-centre of each box: where a standing person touches the floor."""
        return np.c_[(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]]

    # The attributes BYTETracker (bytetrack.py) reads.
    @property
    def conf(self) -> np.ndarray:
        return self.confidence

    @property
    def cls(self) -> np.ndarray:
        return self.class_id

    @property
    def xywh(self) -> np.ndarray:
        wh = self.xyxy[:, 2:] - self.xyxy[:, :2]
        return np.c_[self.xyxy[:, :2] + wh / 2, wh]


def drop_part_boxes(players: Detections) -> Detections:
    """Remove boxes of a body part (usually the legs) that sit inside a whole-person box.

    YOLO sometimes returns both a person and their legs; NMS keeps both because their IoU
    is small. The part is recognised by lying almost wholly inside the bigger box and sharing
    its bottom edge: a second player standing behind would have their feet higher up.
    """
    n = len(players)
    if n < 2:
        return players
    b = players.xyxy.astype(np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if i == j or area[j] <= area[i] or not keep[j]:
                continue
            ix = max(0.0, min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            iy = max(0.0, min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            inside = ix * iy / max(area[i], 1e-9)
            same_feet = abs(b[i, 3] - b[j, 3]) <= PART_BOTTOM_TOLERANCE_FRAC * (b[j, 3] - b[j, 1])
            if inside >= PART_INSIDE_FRAC_MIN and same_feet:
                keep[i] = False
                break
    return players[keep]


class PersonHeights:
    """How tall a whole person's box is, from the image row of its bottom edge.

    Seen from a fixed camera, people standing on a flat floor are taller in the image the
    lower their feet are, linearly in the row. The detector sometimes boxes only part of a
    player (the legs, or the upper body with the feet hidden) with no whole box around it
    for drop_part_boxes to find; such a box is much shorter than the line predicts, and its
    "torso" crop is trousers or a face, not the shirt. Fitted on the boxes of frames sampled
    across the video; part boxes are only ever shorter, so they are trimmed away in rounds.
    With fewer than PERSON_HEIGHT_FIT_BOXES_MIN boxes every box counts as whole.
    """

    def __init__(self) -> None:
        self.coef: tuple[float, float] | None = None  # height_px = coef[0] + coef[1] * row_px

    @property
    def fitted(self) -> bool:
        return self.coef is not None

    def fit(self, xyxy: np.ndarray) -> PersonHeights:
        b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        rows, heights = b[:, 3], b[:, 3] - b[:, 1]
        self.coef = None
        keep = np.ones(len(b), dtype=bool)
        for _ in range(PERSON_HEIGHT_FIT_ROUNDS):
            if keep.sum() < PERSON_HEIGHT_FIT_BOXES_MIN:
                break
            if np.ptp(rows[keep]) > 0:
                slope, intercept = np.polyfit(rows[keep], heights[keep], 1)
            else:  # everyone at one row (a single frame, say): one height fits all
                slope, intercept = 0.0, float(np.mean(heights[keep]))
            self.coef = (float(intercept), float(slope))
            again = self.whole(b)
            if (again == keep).all():
                break
            keep = again
        return self

    def expected_px(self, xyxy: np.ndarray) -> np.ndarray:
        """Whole-person height at each box's bottom row; NaN before fit."""
        b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if self.coef is None:
            return np.full(len(b), np.nan)
        return self.coef[0] + self.coef[1] * b[:, 3]

    def whole(self, xyxy: np.ndarray) -> np.ndarray:
        """True for boxes of a whole person; every box is whole where nothing is known."""
        b = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        expected = self.expected_px(b)
        # Where the line predicts no height at all (far above the fitted rows) it knows nothing.
        known = np.isfinite(expected) & (expected > 0)
        short = b[:, 3] - b[:, 1] < PART_HEIGHT_FRAC_MAX * np.where(known, expected, 0.0)
        return ~(known & short)


def class_map(names: dict[int, str]) -> dict[int, int]:
    """Model class index -> PLAYER/BALL, by class name."""
    mapping: dict[int, int] = {}
    for index, name in names.items():
        lowered = str(name).strip().lower()
        if lowered in PLAYER_CLASS_NAMES:
            mapping[int(index)] = PLAYER
        elif lowered in BALL_CLASS_NAMES:
            mapping[int(index)] = BALL
    if PLAYER not in mapping.values():
        shown = ", ".join(str(n) for n in list(names.values())[:12])
        raise ModelError(
            f"The detector has no player class (expected one of {', '.join(PLAYER_CLASS_NAMES)}; "
            f"it has: {shown})."
        )
    return mapping


# Loaded detectors of this process, by weights file identity, backend, device and input: a
# worker process analyses many jobs, and each would otherwise pay for torch, the weights
# and the predictor set-up again.
_MODELS: dict[tuple, Any] = {}


def _model_key(path: Path, *parts: Any) -> tuple:
    # Size and modification time change when the file is replaced; the default weights'
    # content is verified by sha256 in resolve_model_path on every run anyway.
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, *parts)


def clear_model_cache() -> None:
    """Forget the detectors loaded in this process (tests; a changed NETBALL_MODEL)."""
    _MODELS.clear()


class Detector:
    """YOLO weights loaded once per process; `detect(frame)` returns players and balls above
    threshold. `reused` says whether this process had already loaded the same model.

    `frame_size` (width, height) of the video fixes the OpenVINO input shape to the video's
    aspect ratio; `placement` says which backend and device run it and why, when that is
    not what the settings asked for.
    """

    def __init__(
        self,
        settings: PipelineSettings,
        logger: logging.Logger | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> None:
        keep_ultralytics_offline()
        self.settings = settings
        self.log = logger or logging.getLogger(__name__)
        self.path = resolve_model_path(settings.model_path)
        self.placement = choose_placement(settings.backend, settings.device or "cpu", self.path)
        if self.placement.fallback_reason:
            self.log.warning("detector placement: %s", self.placement.fallback_reason)
        self.openvino_threads = openvino_threads(
            settings.torch_threads, ahead=bool(settings.detect_ahead_keyframes)
        )
        self.export_root = export_root(settings.model_cache_dir)
        self.exports_built: list[str] = []
        self._ov_cache: OpenVinoCache | None = None
        frame_hw = (frame_size[1], frame_size[0]) if frame_size else (settings.imgsz,) * 2
        self.input_shape = input_shape(frame_hw, settings.imgsz)
        self.reused = True
        self.model = self._model_for(self.input_shape)
        if self.placement.backend == "openvino" and settings.ball_zoom_px:
            # Exported now rather than at the first zoom look, so the cost shows as loading.
            self._model_for(input_shape((settings.ball_zoom_px,) * 2, settings.ball_zoom_px))
            self.model = self._model_for(self.input_shape)  # the same one unless it fell back
        names = self.model.names
        self.mapping = class_map(names)
        self.classes = sorted(self.mapping)
        self.log.info(
            "detector %s on %s/%s, input %dx%d (%s), classes %s",
            self.path,
            self.placement.backend,
            self.placement.device,
            *self.input_shape,
            "already loaded in this worker process" if self.reused else "loaded",
            {names[i]: i for i in self.classes},
        )

    def describe(self) -> dict:
        """The detector's part of summary.json["model"]."""
        return {
            "weights": self.path.name,
            "path": str(self.path),
            **self.placement.to_dict(),
            "input_shape": list(self.input_shape),
            "openvino_threads": self.openvino_threads,
            "inference_precision": (
                self.model.precision if isinstance(self.model, OpenVinoNet) else "f32"
            ),
            "exports_built": self.exports_built,
            "precision_fallback_reason": getattr(self.model, "precision_fallback_reason", None),
        }

    # ------------------------------------------------------------------ loading
    def _model_for(self, shape: tuple[int, int]) -> Any:
        """The model that takes `shape` inputs: one static export each for OpenVINO, the
        same model for every shape otherwise."""
        p = self.placement
        if p.backend == "openvino":
            key = _model_key(
                self.path,
                "openvino",
                shape,
                self.openvino_threads,
                self.settings.detector_precision,
            )
        else:
            key = _model_key(self.path, p.backend, p.device, self.settings.imgsz)
        if key in _MODELS:
            return _MODELS[key]
        self.reused = False
        if p.backend == "openvino":
            try:
                model = self._load_openvino(shape)
            except Exception as exc:  # any export or load failure: PyTorch still works
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
                reason = f"OpenVINO unavailable ({first_line[:REASON_MAX_CHARS]}); using PyTorch"
                self.log.warning("detector falls back to PyTorch: %s", reason)
                self.placement = replace(
                    p, backend="pytorch", fallback_reason="; ".join(
                        r for r in (p.fallback_reason, reason) if r
                    ),
                )  # fmt: skip
                return self._model_for(shape)
        else:
            if self.settings.torch_threads:
                # Only here: importing torch costs ~1.4 s that a run on OpenVINO never needs.
                import torch

                torch.set_num_threads(self.settings.torch_threads)
            model = self._load(str(self.path))
            self._skip_warmup(model, self.settings.imgsz)
        _MODELS[key] = model
        return model

    def _load_openvino(self, shape: tuple[int, int]) -> OpenVinoNet:
        if self._ov_cache is None:
            self._ov_cache = OpenVinoCache(self.export_root, self.path, self.log)
        precision = self.settings.detector_precision
        folder, reason = None, None
        if precision == INT8:
            try:
                folder = self._ov_cache.model_dir(shape, int8=True)
            except Exception as exc:  # no nncf, a failed quantisation: fp32 still works
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
                reason = f"int8 unavailable ({first_line[:REASON_MAX_CHARS]}); using f32"
                self.log.warning("detector runs in f32: %s", reason)
                precision = "f32"
        if folder is None:
            folder = self._ov_cache.model_dir(shape)
        self.exports_built = list(self._ov_cache.built)
        config = openvino_config(self.openvino_threads, precision)
        net = OpenVinoNet(folder, {**config, **compile_cache_config(folder)})
        if precision == INT8:
            net.precision = INT8
        # On the network, not the Detector: a worker's next job reuses the loaded network.
        net.precision_fallback_reason = reason
        return net

    def _load(self, source: str) -> Any:
        try:
            from ultralytics import YOLO

            model = YOLO(source, task="detect")
            model.names  # noqa: B018  (reading the names fails early on broken weights)
        except Exception as exc:
            raise ModelError(
                f"The detector weights {Path(source).name} could not be loaded: {exc}"
            ) from exc
        return model

    def _skip_warmup(self, model: Any, imgsz: int | list[int]) -> None:
        """Set the predictor up now, without ultralytics' warm-up pass.

        The warm-up runs a square dummy image and costs ~1.4 s on 2 cores, while the first
        real (rectangular) frame then costs only ~60 ms: on a short clip that is a tenth of
        the run. Uses ultralytics internals, so any surprise falls back to the normal path.
        """
        try:
            device = self.placement.device
            overrides = {
                **model.overrides, "conf": self.settings.player_conf_min, "batch": 1,
                "save": False, "mode": "predict", "rect": True, "imgsz": imgsz,
                "device": device, "verbose": False,
            }  # fmt: skip
            predictor = model._smart_load("predictor")(
                overrides=overrides, _callbacks=model.callbacks
            )
            predictor.setup_model(model=model.model, verbose=False)
            predictor.done_warmup = True
            model.predictor = predictor
        except Exception as exc:  # an ultralytics change must not stop an analysis
            self.log.debug("kept ultralytics' warm-up: %s", exc)

    @property
    def has_ball_class(self) -> bool:
        return BALL in self.mapping.values()

    def detect(
        self, frame: np.ndarray, ball_conf_min: float | None = None, imgsz: int | None = None
    ) -> Detections:
        """Players and balls above their thresholds; the arguments override the settings."""
        s = self.settings
        ball_min = s.ball_conf_min if ball_conf_min is None else ball_conf_min
        size: int | list[int] = imgsz or s.imgsz
        shape = input_shape(frame.shape[:2], int(size))
        model = self._model_for(shape)  # may fall back to PyTorch on a new shape
        conf_min = min(s.player_conf_min, ball_min)
        try:
            if isinstance(model, OpenVinoNet):
                xyxy, conf, model_cls = model.detect(frame, conf_min, self.classes)
            else:
                xyxy, conf, model_cls = self._predict(model, frame, size, conf_min)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"The detector failed on a frame: {exc}") from exc
        if len(xyxy) == 0:
            return Detections.empty()
        cls = np.array([self.mapping.get(int(c), -1) for c in model_cls], dtype=np.int64)
        keep = ((cls == PLAYER) & (conf >= s.player_conf_min)) | (
            (cls == BALL) & (conf >= ball_min)
        )
        return Detections(xyxy[keep], conf[keep], cls[keep])

    def _predict(
        self, model: Any, frame: np.ndarray, size: int | list[int], conf_min: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes, confidences and model classes through ultralytics (PyTorch, ONNX)."""
        result = model.predict(
            frame, imgsz=size, conf=conf_min, classes=self.classes,
            device=self.placement.device, verbose=False,
        )[0]  # fmt: skip
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, np.int64)
        return (
            boxes.xyxy.cpu().numpy(),
            boxes.conf.cpu().numpy(),
            boxes.cls.cpu().numpy().astype(np.int64),
        )
