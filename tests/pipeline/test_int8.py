"""detector_precision "int8": a quantised export of its own, cached and verified like the fp32
one, that finds the same players; f32 with the reason when it cannot be made."""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pytest

from backend.pipeline import PipelineSettings
from backend.pipeline.detection import PLAYER, Detector, clear_model_cache
from backend.pipeline.inference import EXPORT_MANIFEST, OpenVinoCache
from backend.pipeline.model import default_weights_path
from backend.pipeline.quantize import calibration_frames
from tests.pipeline.evaluate import iou
from tests.synthetic import make_match_clip, spaced_frames

# Measured on these generated frames: every clear player matched, median IoU 0.985, worst
# 0.953 (with the detect head quantised too: median 0.88, every box shrunk).
SAME_BOX_IOU_MIN = 0.9
SAME_BOX_IOU_MEDIAN_MIN = 0.95
CLEAR_PLAYER_CONF_MIN = 0.5


def test_the_calibration_set_is_fixed():
    first, again = calibration_frames(8), calibration_frames(8)
    assert len(first) == 8
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert len({a.shape for a in first}) > 1  # crops of several sizes


def test_int8_finds_the_same_players_as_f32(tmp_path):
    video = tmp_path / "clip.mp4"
    make_match_clip(video, seconds=1.0, fps=10, size=(640, 360), players_per_team=3, seed=2)
    common = dict(imgsz=480, ball_zoom_px=0, model_cache_dir=tmp_path / "models")
    clear_model_cache()
    f32 = Detector(PipelineSettings(**common), frame_size=(640, 360))
    int8 = Detector(PipelineSettings(detector_precision="int8", **common), frame_size=(640, 360))
    assert int8.describe()["inference_precision"] == "int8"
    assert int8.describe()["precision_fallback_reason"] is None
    assert f32.describe()["inference_precision"] == "f32"
    overlaps = []
    for frame in spaced_frames(video, 4):
        a, b = f32.detect(frame), int8.detect(frame)
        a, b = a[a.class_id == PLAYER], b[b.class_id == PLAYER]
        for box in a.xyxy[a.confidence >= CLEAR_PLAYER_CONF_MIN]:
            assert len(b), "int8 lost every player"
            overlaps.append(max(iou(box, other) for other in b.xyxy))
    assert len(overlaps) >= 12
    assert min(overlaps) >= SAME_BOX_IOU_MIN, overlaps
    assert np.median(overlaps) >= SAME_BOX_IOU_MEDIAN_MIN, overlaps


def test_a_damaged_or_stale_int8_export_is_rebuilt_and_the_f32_one_kept(tmp_path):
    cache = OpenVinoCache(tmp_path / "exports", default_weights_path())
    shape = (128, 224)
    folder = cache.model_dir(shape, int8=True)
    f32_folder = cache.folder(shape)
    assert folder != f32_folder and folder.name.endswith("-int8_openvino_model")
    assert cache.built == ["no export yet", "no export yet (int8)"]
    assert cache.problem(f32_folder, shape) is None  # made first, and kept
    assert cache.model_dir(shape, int8=True) == folder and len(cache.built) == 2
    manifest = json.loads((folder / EXPORT_MANIFEST).read_text())
    assert manifest["precision"] == "int8" and manifest["calibration_recipe"] >= 1
    binary = next(folder.glob("*.bin"))
    binary.write_bytes(binary.read_bytes()[:1000])
    cache.model_dir(shape, int8=True)
    assert cache.built[-1] == f"file {binary.name} damaged (sha256 differs) (int8)"
    (folder / EXPORT_MANIFEST).write_text(json.dumps({**manifest, "calibration_recipe": 0}))
    cache.model_dir(shape, int8=True)
    assert cache.built[-1] == "stale: calibration_recipe is 0, now 1 (int8)"
    assert cache.problem(folder, shape, int8=True) is None
    assert cache.problem(f32_folder, shape) is None
    assert len(cache.built) == 4


def test_without_nncf_int8_falls_back_to_f32_and_says_why(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "nncf", None)  # import nncf now raises ImportError
    clear_model_cache()
    caplog.set_level(logging.WARNING, logger="backend.pipeline")
    settings = PipelineSettings(
        imgsz=224, ball_zoom_px=0, detector_precision="int8", model_cache_dir=tmp_path
    )
    detector = Detector(settings, frame_size=(640, 360))
    described = detector.describe()
    assert described["backend"] == "openvino"
    assert described["inference_precision"] == "f32"
    assert described["precision_fallback_reason"].startswith("int8 unavailable (")
    assert "nncf" in described["precision_fallback_reason"]
    assert any("detector runs in f32" in r.getMessage() for r in caplog.records)
    assert len(detector.detect(np.full((360, 640, 3), 90, np.uint8))) == 0
    # A worker's next job reuses the loaded network, and still says why it is not int8.
    again = Detector(settings, frame_size=(640, 360))
    assert again.reused
    assert again.describe()["precision_fallback_reason"] == described["precision_fallback_reason"]


def test_the_machine_can_ask_for_int8_and_a_wrong_value_is_refused(monkeypatch):
    from backend.config import get_settings, with_machine_settings

    monkeypatch.setenv("NETBALL_DETECTOR_PRECISION", "int8")
    get_settings.cache_clear()
    try:
        assert with_machine_settings(PipelineSettings()).detector_precision == "int8"
        monkeypatch.setenv("NETBALL_DETECTOR_PRECISION", "int4")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="must be one of f32, auto, int8, got 'int4'"):
            get_settings()
        monkeypatch.delenv("NETBALL_DETECTOR_PRECISION")
        get_settings.cache_clear()
        assert with_machine_settings(PipelineSettings()).detector_precision == "f32"
    finally:
        get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_models():
    yield
    clear_model_cache()
