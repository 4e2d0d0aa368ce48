"""The detector's backend and device: OpenVINO on the CPU by default, the same players as
PyTorch, a cached export that is verified and rebuilt, and honest fallbacks."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
import torch

from backend.config import default_workers, get_settings, with_machine_settings
from backend.pipeline import PipelineSettings, analyze_video
from backend.pipeline.detection import PLAYER, Detector, clear_model_cache
from backend.pipeline.errors import ModelError
from backend.pipeline.inference import EXPORT_MANIFEST, OpenVinoCache, input_shape
from backend.pipeline.model import default_weights_path
from tests.pipeline.evaluate import iou
from tests.synthetic import make_match_clip, make_plain_clip, spaced_frames

# Both backends run the network in fp32 on the same letterboxed pixels; measured IoU with
# the PyTorch box 0.99+ for every player (in bf16, OpenVINO's default on this CPU, the
# worst was 0.90).
SAME_BOX_IOU_MIN = 0.95
SAME_BOX_IOU_MEDIAN_MIN = 0.99
# A player this far above player_conf_min (0.30) cannot drop out through rounding alone.
CLEAR_PLAYER_CONF_MIN = 0.40


def test_input_shape_follows_the_video_aspect_ratio_in_stride_steps():
    assert input_shape((720, 1280), 480) == (288, 480)
    assert input_shape((1280, 720), 480) == (480, 288)
    assert input_shape((256, 256), 256) == (256, 256)
    assert input_shape((360, 640), 320) == (192, 320)


def test_workers_default_to_one_per_core():
    assert [default_workers(c) for c in (1, 2, 3, 8)] == [1, 2, 3, 8]


def test_openvino_and_pytorch_find_the_same_players(tmp_path):
    video = tmp_path / "clip.mp4"
    make_match_clip(video, seconds=1.0, fps=10, size=(640, 360), players_per_team=3)
    frames = spaced_frames(video, 4)
    clear_model_cache()
    common = dict(imgsz=480, ball_zoom_px=0)
    ov = Detector(PipelineSettings(backend="openvino", **common), frame_size=(640, 360))
    pt = Detector(PipelineSettings(backend="pytorch", **common), frame_size=(640, 360))
    assert (ov.placement.backend, pt.placement.backend) == ("openvino", "pytorch")
    assert ov.input_shape == (288, 480)
    overlaps = []
    for frame in frames:
        a, b = ov.detect(frame), pt.detect(frame)
        a, b = a[a.class_id == PLAYER], b[b.class_id == PLAYER]
        assert len(b) >= 4 and abs(len(a) - len(b)) <= 1
        for box in b.xyxy[b.confidence >= CLEAR_PLAYER_CONF_MIN]:
            overlaps.append(iou(box, a.xyxy).max())
    assert len(overlaps) >= 16
    assert min(overlaps) >= SAME_BOX_IOU_MIN
    assert np.median(overlaps) >= SAME_BOX_IOU_MEDIAN_MIN


def test_each_input_shape_compiles_once_in_fp32_on_the_workers_threads(monkeypatch):
    import openvino as ov

    compiles = []
    original = ov.Core.compile_model

    def counting(core, model, device_name=None, config=None, **kwargs):
        compiles.append(dict(config or {}))
        return original(core, model, device_name=device_name, config=config, **kwargs)

    monkeypatch.setattr(ov.Core, "compile_model", counting)
    clear_model_cache()
    settings = PipelineSettings(imgsz=224, ball_zoom_px=128, torch_threads=1)
    detector = Detector(settings, frame_size=(640, 360))
    frame = np.full((360, 640, 3), 90, np.uint8)
    detector.detect(frame)
    detector.detect(frame[:128, :128], imgsz=128)
    detector.detect(frame)
    assert len(compiles) == 2  # the main shape and the zoom look's, each once
    assert all(c["INFERENCE_PRECISION_HINT"] == "f32" for c in compiles)
    compiled = detector.model.compiled
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    if (os.cpu_count() or 1) > 1:
        assert compiled.get_property("INFERENCE_NUM_THREADS") == 1


def test_a_damaged_or_stale_export_is_rebuilt(tmp_path):
    cache = OpenVinoCache(tmp_path / "exports", default_weights_path())
    shape = (128, 224)
    folder = cache.model_dir(shape)
    assert cache.built == ["no export yet"]
    binary = next(folder.glob("*.bin"))
    good = binary.read_bytes()
    binary.write_bytes(good[: len(good) // 2])  # a disk that filled up mid-copy
    assert cache.model_dir(shape) == folder
    assert cache.built[-1] == f"file {binary.name} damaged (sha256 differs)"
    assert cache.problem(folder, shape) is None
    manifest = folder / EXPORT_MANIFEST
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "openvino": "2020.1.0"}))  # made by an old library
    cache.model_dir(shape)
    assert cache.built[-1].startswith("stale: openvino is '2020.1.0'")
    assert json.loads(manifest.read_text())["openvino"] == data["openvino"]
    assert cache.problem(folder, shape) is None
    assert len(cache.built) == 3


def test_when_no_export_can_be_made_the_detector_uses_pytorch_and_says_why(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the model cache should be")
    clear_model_cache()
    caplog.set_level(logging.WARNING, logger="backend.pipeline")
    settings = PipelineSettings(imgsz=224, ball_zoom_px=0, model_cache_dir=blocker)
    detector = Detector(settings, frame_size=(640, 360))
    assert detector.placement.backend == "pytorch"
    assert detector.placement.requested_backend == "auto"
    assert detector.placement.fallback_reason.startswith("OpenVINO unavailable (")
    assert any("falls back to PyTorch" in r.getMessage() for r in caplog.records)
    frame = np.full((360, 640, 3), 90, np.uint8)
    assert len(detector.detect(frame)) == 0  # and it runs


def _with_env(monkeypatch, settings: PipelineSettings, **env: str) -> PipelineSettings:
    """`settings` completed from the environment the way the CLI and the job task do."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return with_machine_settings(settings)
    finally:
        get_settings.cache_clear()


def test_the_app_fills_in_the_machine_settings_the_caller_left_unset(monkeypatch, tmp_path):
    weights = tmp_path / "mine.pt"
    weights.write_bytes(b"")
    env = dict(
        NETBALL_DEVICE="cuda:1", NETBALL_MODEL=str(weights), NETBALL_MODEL_CACHE_DIR=str(tmp_path)
    )
    filled = _with_env(monkeypatch, PipelineSettings(), **env)
    assert (filled.device, filled.model_path, filled.model_cache_dir) == (
        "cuda:1", weights, tmp_path
    )  # fmt: skip
    chosen = PipelineSettings(device="cpu", model_cache_dir=tmp_path / "elsewhere")
    kept = _with_env(monkeypatch, chosen, **env)
    assert (kept.device, kept.model_cache_dir) == ("cpu", tmp_path / "elsewhere")


def test_netball_device_cpu_reaches_the_detector(monkeypatch):
    settings = _with_env(
        monkeypatch, PipelineSettings(backend="pytorch", imgsz=224), NETBALL_DEVICE="cpu"
    )
    detector = Detector(settings)
    assert (detector.placement.device, detector.placement.requested_device) == ("cpu", "cpu")
    assert detector.placement.fallback_reason is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_an_absent_gpu_falls_back_to_the_cpu_with_the_reason(monkeypatch):
    settings = _with_env(
        monkeypatch, PipelineSettings(imgsz=224, ball_zoom_px=0), NETBALL_DEVICE="cuda:0"
    )
    detector = Detector(settings)
    p = detector.placement
    # On the CPU it falls back to, the CPU's best backend runs.
    assert (p.backend, p.device, p.requested_device) == ("openvino", "cpu", "cuda:0")
    assert p.fallback_reason == "device cuda:0 was asked for but torch sees no CUDA GPU here"
    assert len(detector.detect(np.zeros((120, 160, 3), np.uint8))) == 0


def test_a_device_name_that_means_nothing_is_refused():
    with pytest.raises(ModelError, match=r"Unknown detector device 'gpu0'.*cpu, cuda or cuda:N"):
        Detector(PipelineSettings(device="gpu0"))


def test_summary_and_results_name_the_backend_and_device(tmp_path):
    video = make_plain_clip(tmp_path / "clip.mp4", frames=6, size=(320, 180))
    result = analyze_video(video, tmp_path / "out", PipelineSettings(imgsz=256, ball_zoom_px=0))
    model = json.loads((tmp_path / "out" / "summary.json").read_text())["model"]
    assert model["backend"] == "openvino"
    assert model["device"] == "cpu"
    assert model["input_shape"] == [160, 256]
    assert model["fallback_reason"] is None
    assert result.summary["versions"]["openvino"]
    from dashboard.components.details_view import detector_rows

    assert detector_rows(model) == [
        ("Detector ran on", "OpenVINO, cpu"),
        ("Detector computed in", "f32"),
    ]
    asked_int8 = {**model, "precision_fallback_reason": "int8 unavailable (no nncf); using f32"}
    assert detector_rows(asked_int8)[-1] == (
        "Why not int8",
        asked_int8["precision_fallback_reason"],
    )
