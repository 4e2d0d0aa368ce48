"""Bad input gets a clear error and leaves nothing in the output folder that looks complete."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from backend.config import get_settings, with_machine_settings
from backend.pipeline import (
    CalibrationError,
    ModelError,
    OutputError,
    PipelineCancelled,
    PipelineSettings,
    VideoError,
    analyze_video,
)
from backend.pipeline import model as model_module
from tests.synthetic import make_corrupt_file, make_plain_clip


def make_zero_frame_clip(path: Path) -> Path:
    """An MP4 written and closed before any frame: what a recorder that crashed leaves."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 180))
    writer.release()
    return path


def make_empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def assert_nothing_left(out: Path) -> None:
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == [], f"output folder should be empty, found {left}"


@pytest.fixture
def plain_clip(tmp_path):
    return make_plain_clip(tmp_path / "plain.mp4", frames=12, fps=25, size=(320, 180))


@pytest.fixture
def env_model(monkeypatch):
    """Settings with NETBALL_MODEL set to a value (None: unset), as the app would fill them."""

    def settings_with_model(value: str | None) -> PipelineSettings:
        if value is None:
            monkeypatch.delenv("NETBALL_MODEL", raising=False)
        else:
            monkeypatch.setenv("NETBALL_MODEL", value)
        get_settings.cache_clear()
        return with_machine_settings(PipelineSettings())

    yield settings_with_model
    monkeypatch.delenv("NETBALL_MODEL", raising=False)
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: make_corrupt_file(d / "broken.mp4"), "not a readable video"),
        (lambda d: make_empty_file(d / "empty.mp4"), "empty"),
        (
            lambda d: make_zero_frame_clip(d / "zero.mp4"),
            "no video stream|no decodable frames",
        ),
        (lambda d: d / "missing.mp4", "not found"),
    ],
)
def test_bad_videos_are_rejected(tmp_path, make, message):
    video = make(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(VideoError, match=message):
        analyze_video(video, out)
    assert_nothing_left(out)


def test_missing_model_from_env_is_a_model_error(tmp_path, plain_clip, env_model):
    settings = env_model(str(tmp_path / "nope.pt"))
    out = tmp_path / "out"
    with pytest.raises(ModelError, match="does not exist"):
        analyze_video(plain_clip, out, settings)
    assert_nothing_left(out)


def test_corrupt_custom_model_is_a_model_error(tmp_path, plain_clip, env_model):
    weights = make_corrupt_file(tmp_path / "weights.pt")
    settings = env_model(str(weights))
    out = tmp_path / "out"
    with pytest.raises(ModelError, match="could not be loaded"):
        analyze_video(plain_clip, out, settings)
    assert_nothing_left(out)


def test_missing_default_model_is_a_model_error(tmp_path, plain_clip, env_model, monkeypatch):
    settings = env_model(None)
    monkeypatch.setattr(
        model_module, "default_weights_path", lambda: tmp_path / "gone" / "yolov8n.pt"
    )
    out = tmp_path / "out"
    with pytest.raises(ModelError, match="missing"):
        analyze_video(plain_clip, out, settings)
    assert_nothing_left(out)


def test_unwritable_output_folder_is_an_output_error(tmp_path, plain_clip):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot be written"):
        analyze_video(plain_clip, blocker / "out")


def test_bad_calibration_stops_before_any_work(tmp_path, plain_clip):
    out = tmp_path / "out"
    with pytest.raises(CalibrationError, match="at least 4"):
        analyze_video(
            plain_clip, out, calibration={"image_points": [[0, 0]], "court_points_m": [[0, 0]]}
        )
    assert_nothing_left(out)


def test_cancel_stops_and_removes_partial_outputs(tmp_path, plain_clip):
    out = tmp_path / "out"
    calls = []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(PipelineCancelled):
        analyze_video(
            plain_clip,
            out,
            PipelineSettings(imgsz=320, frame_stride=1),
            should_cancel=should_cancel,
        )
    assert len(calls) == 3
    assert_nothing_left(out)


def test_truncated_video_is_analysed_as_far_as_it_goes_with_a_warning(tmp_path):
    clip = make_plain_clip(tmp_path / "cut.mkv", frames=40, fps=25, size=(320, 180), codec="h264")
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    result = analyze_video(
        clip, tmp_path / "out", PipelineSettings(imgsz=320, team_sample_frames=2)
    )
    summary = result.summary
    assert 0 < summary["video"]["frames_processed"] < 40
    assert any("truncated" in w for w in summary["warnings"])


def test_encoder_that_cannot_start_stops_the_decoder(tmp_path, plain_clip, monkeypatch):
    """A worker process analyses job after job: a failed run must not leave a decode thread."""
    import threading

    from backend.pipeline import engine

    def refuse(path, *args, **kwargs):
        raise OutputError(f"Cannot write {path}: disk full")

    monkeypatch.setattr(engine, "H264Writer", refuse)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="disk full"):
        analyze_video(plain_clip, out, PipelineSettings(imgsz=320, team_sample_frames=1))
    assert [t.name for t in threading.enumerate() if t.name == "decode"] == []
    assert_nothing_left(out)
