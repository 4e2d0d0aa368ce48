"""A cached OpenVINO export of a YOLO detector, run directly: letterbox, network, NMS.

Running the export through ultralytics' predictor meant importing torch (~1.4 s of every
run's start-up, ~300 MB of memory) only to move numpy arrays through torch tensors, and
~4 ms of wrapper per keyframe. The steps are ultralytics' own (LetterBox with
`auto=False` on a static input, BGR -> RGB / 255, best class per anchor, class-offset
greedy NMS at IoU 0.7, at most 300 boxes, boxes scaled back and clipped), so the boxes are
the same to rounding; tests/pipeline/test_inference_backend.py holds both to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from backend.pipeline.errors import ModelError
from backend.pipeline.file_lock import exclusive

# ultralytics' predict defaults (cfg/default.yaml: iou, max_det; LetterBox padding; NMS
# class offset max_wh): the same numbers give the same boxes.
NMS_IOU_MAX = 0.7
MAX_DETECTIONS = 300
LETTERBOX_PAD_VALUE = 114
CLASS_OFFSET_PX = 7680
# Beside OpenVINO's compiled blobs in its CACHE_DIR; see OpenVinoNet.__init__.
COMPILE_LOCK_NAME = ".compile.lock"


class OpenVinoNet:
    """One static-shape export compiled once with `config`; `detect` returns the boxes
    (xyxy in the frame's pixels), confidences and model class indices above `conf_min`
    whose best class is in `classes`."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        import openvino as ov

        folder = Path(folder)
        xml = next(folder.glob("*.xml"), None)
        if xml is None:
            raise ModelError(f"The OpenVINO export {folder} has no model file.")
        self.names = _read_names(folder / "metadata.yaml")
        core = ov.Core()
        model = core.read_model(model=str(xml), weights=xml.with_suffix(".bin"))
        shape = model.input().get_partial_shape()
        if shape.is_dynamic or len(shape) != 4:
            raise ModelError(f"The OpenVINO export {folder.name} has no static NCHW input.")
        _, _, height, width = (int(d.get_length()) for d in shape)
        self.input_hw = (height, width)
        outputs = model.outputs[0].get_partial_shape()
        # A detect head's only output: (1, 4 + classes, anchors). An end-to-end or
        # segmentation export has another layout, which this reader would misread.
        if (
            len(model.outputs) != 1
            or outputs.is_dynamic
            or len(outputs) != 3
            or int(outputs[1].get_length()) != 4 + len(self.names)
        ):
            raise ModelError(
                f"The OpenVINO export {folder.name} is not a plain detect head "
                f"(output {outputs}, {len(self.names)} classes)."
            )
        cache_dir = config.get("CACHE_DIR")
        if cache_dir:
            # OpenVINO writes a compiled blob in place, and a process importing a blob that
            # another is still writing dies of SIGBUS: three worker processes starting at
            # once lost one of them in 5 of 25 tries before this lock.
            with exclusive(Path(cache_dir) / COMPILE_LOCK_NAME):
                self.compiled = core.compile_model(model, "CPU", config)
        else:
            self.compiled = core.compile_model(model, "CPU", config)
        self._request = self.compiled.create_infer_request()
        # What the CPU really computes in ("bf16" or "f32"), for summary.json.
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = hint.to_string() if hasattr(hint, "to_string") else str(hint)
        # Why it runs in f32 although int8 was asked for (set by the Detector; None: it does not).
        self.precision_fallback_reason: str | None = None

    def detect(
        self, frame: np.ndarray, conf_min: float, classes: list[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        blob, gain, pad = letterbox(frame, self.input_hw)
        return _postprocess(self._infer(blob), conf_min, classes, gain, pad, frame.shape[:2])

    def _infer(self, blob: np.ndarray) -> np.ndarray:
        """The network's raw output for one letterboxed input: (4 + classes, anchors)."""
        self._request.infer({0: blob})
        return self._request.get_output_tensor(0).data[0]


def letterbox(
    frame: np.ndarray, input_hw: tuple[int, int]
) -> tuple[np.ndarray, tuple[float, float], tuple]:
    """`frame` scaled into `input_hw` and padded as ultralytics does: the network's input
    blob, the scale (y, x) and the padding (left, top)."""
    h, w = frame.shape[:2]
    new_h, new_w = input_hw
    r = min(new_h / h, new_w / w)
    unpad_w, unpad_h = max(round(w * r), 1), max(round(h * r), 1)
    image = frame
    if (w, h) != (unpad_w, unpad_h):
        image = cv2.resize(frame, (unpad_w, unpad_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (new_w - unpad_w) / 2, (new_h - unpad_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT,
            value=(LETTERBOX_PAD_VALUE,) * 3,
        )  # fmt: skip
    blob = cv2.dnn.blobFromImage(image, scalefactor=1 / 255.0, swapRB=True, crop=False)
    return blob, (unpad_h / h, unpad_w / w), (left, top)


def _postprocess(
    raw: np.ndarray,
    conf_min: float,
    classes: list[int],
    gain: tuple[float, float],
    pad: tuple[int, int],
    frame_hw: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = raw[4:]
    best = scores.max(axis=0)
    candidates = np.flatnonzero(best > conf_min)
    cls = scores[:, candidates].argmax(axis=0)
    wanted = np.isin(cls, classes)
    candidates, cls = candidates[wanted], cls[wanted]
    conf = best[candidates]
    cx, cy, bw, bh = raw[:4, candidates]
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    keep = _nms(boxes + (cls * CLASS_OFFSET_PX)[:, None], conf, NMS_IOU_MAX)[:MAX_DETECTIONS]
    boxes, conf, cls = boxes[keep], conf[keep], cls[keep]
    gain_y, gain_x = gain
    boxes = (boxes - np.array([pad[0], pad[1], pad[0], pad[1]], np.float32)) / np.array(
        [gain_x, gain_y, gain_x, gain_y], np.float32
    )
    h, w = frame_hw
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return boxes.astype(np.float32), conf.astype(np.float32), cls.astype(np.int64)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_max: float) -> np.ndarray:
    """Greedy NMS as torchvision.ops.nms: highest score first, drop boxes overlapping a kept
    one by more than `iou_max`."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > iou_max)]  # a 0/0 of two empty boxes keeps both, as torchvision
    return np.array(keep, dtype=np.int64)


def _read_names(metadata: Path) -> dict[int, str]:
    import yaml

    try:
        data = yaml.safe_load(metadata.read_text(encoding="utf-8"))
        names = {int(k): str(v) for k, v in (data.get("names") or {}).items()}
    except (OSError, ValueError, AttributeError, yaml.YAMLError) as exc:
        raise ModelError(f"The OpenVINO export's {metadata.name} is unreadable: {exc}") from exc
    if not names:
        raise ModelError(f"The OpenVINO export's {metadata.name} names no classes.")
    return names
