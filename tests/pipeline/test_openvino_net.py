"""The detector runs a cached OpenVINO export itself: ultralytics' letterbox and NMS to the
last rounding, and no torch in the process."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from ultralytics.data.augment import LetterBox
from ultralytics.utils import nms, ops

from backend.pipeline import PipelineSettings
from backend.pipeline.detection import Detector, clear_model_cache
from backend.pipeline.openvino_net import (
    MAX_DETECTIONS,
    NMS_IOU_MAX,
    OpenVinoNet,
    _postprocess,
    letterbox,
)
from tests.synthetic import make_match_clip

# One float32 rounding of x / 255 apart (cv2's x * (1 / 255) against torch's division).
INPUT_DIFF_MAX = 1e-6
CONF_MIN = 0.05


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    import av

    video = tmp_path_factory.mktemp("net") / "clip.mp4"
    make_match_clip(video, seconds=1.0, fps=6, size=(1280, 720), players_per_team=5)
    with av.open(str(video)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def net():
    clear_model_cache()
    detector = Detector(PipelineSettings(ball_zoom_px=0), frame_size=(1280, 720))
    assert isinstance(detector.model, OpenVinoNet)
    return detector.model


@pytest.mark.parametrize("crop", [None, (100, 356, 300, 556), (0, 500, 0, 333)])
def test_letterbox_and_nms_match_ultralytics_on_the_same_network_output(frames, net, crop):
    boxes_seen = 0
    for frame in frames[::2]:
        if crop is not None:  # other aspect ratios: padding on the other side, scaling up
            frame = np.ascontiguousarray(frame[crop[0] : crop[1], crop[2] : crop[3]])
        blob, gain, pad = letterbox(frame, net.input_hw)
        letterboxed = LetterBox(net.input_hw, auto=False, stride=32)(image=frame)
        theirs = torch.from_numpy(letterboxed[None]).permute(0, 3, 1, 2).flip(1).float() / 255
        assert blob.shape == tuple(theirs.shape)
        assert np.abs(theirs.numpy() - blob).max() <= INPUT_DIFF_MAX
        raw = net._infer(blob).copy()[None]
        xyxy, conf, cls = _postprocess(raw[0], CONF_MIN, [0, 32], gain, pad, frame.shape[:2])
        kept = nms.non_max_suppression(
            torch.from_numpy(raw), CONF_MIN, NMS_IOU_MAX, [0, 32], max_det=MAX_DETECTIONS
        )[0]
        kept[:, :4] = ops.scale_boxes(net.input_hw, kept[:, :4], frame.shape)
        kept = kept.numpy()
        assert len(xyxy) == len(kept)
        np.testing.assert_allclose(xyxy, kept[:, :4], atol=1e-3)
        np.testing.assert_allclose(conf, kept[:, 4], atol=1e-6)
        assert (cls == kept[:, 5]).all()
        boxes_seen += len(kept)
    assert boxes_seen >= 10  # players were there to compare


def test_a_cached_export_detects_without_importing_torch(frames, net, tmp_path):
    np.save(tmp_path / "frame.npy", frames[0])
    code = f"""
import json, sys
import numpy as np
from backend.pipeline import PipelineSettings
from backend.pipeline.detection import Detector, PLAYER
# torch_threads as a worker sets it: limiting torch must not import it on OpenVINO.
d = Detector(PipelineSettings(ball_zoom_px=0, torch_threads=1), frame_size=(1280, 720))
found = d.detect(np.load({str(tmp_path / "frame.npy")!r}))
print(json.dumps({{"players": int((found.class_id == PLAYER).sum()),
    "backend": d.placement.backend, "torch": "torch" in sys.modules,
    "ultralytics": "ultralytics" in sys.modules}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"players": seen["players"], "backend": "openvino", "torch": False,
                    "ultralytics": False}  # fmt: skip
    assert seen["players"] >= 6


def _cpu_computes_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return "amx_bf16" in handle.read()
    except OSError:
        return False


def test_precision_is_f32_unless_asked_and_summary_says_what_the_cpu_computes_in(frames):
    clear_model_cache()
    exact = Detector(PipelineSettings(ball_zoom_px=0), frame_size=(1280, 720))
    fast = Detector(
        PipelineSettings(ball_zoom_px=0, detector_precision="auto"), frame_size=(1280, 720)
    )
    assert exact.describe()["inference_precision"] == "f32"
    chosen = fast.describe()["inference_precision"]
    assert chosen == "bf16" if _cpu_computes_bf16() else chosen in ("bf16", "f32")
    a, b = exact.detect(frames[0]), fast.detect(frames[0])
    assert abs(len(a) - len(b)) <= 1  # the same players, to rounding of faint ones
    with pytest.raises(ValueError, match="detector_precision must be one of f32, auto, int8"):
        PipelineSettings(detector_precision="int4")
