"""The detector is loaded once per process: a worker's second job skips the start-up."""

from __future__ import annotations

import logging

import ultralytics

from backend.pipeline import PipelineSettings, analyze_video
from backend.pipeline.detection import clear_model_cache
from tests.synthetic import make_plain_clip


def test_a_second_analysis_in_the_same_process_does_not_load_the_model_again(
    tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="backend.pipeline")
    loads = []
    real_yolo = ultralytics.YOLO

    def counting_yolo(*args, **kwargs):
        loads.append(args)
        return real_yolo(*args, **kwargs)

    monkeypatch.setattr(ultralytics, "YOLO", counting_yolo)
    clear_model_cache()
    video = make_plain_clip(tmp_path / "clip.mp4", frames=8)
    settings = PipelineSettings(imgsz=320, backend="pytorch")
    first = analyze_video(video, tmp_path / "one", settings)
    second = analyze_video(
        video, tmp_path / "two", PipelineSettings(imgsz=320, frame_stride=2, backend="pytorch")
    )
    assert len(loads) == 1
    assert second.summary["timings"]["model_load_s"] < first.summary["timings"]["model_load_s"]
    # Another input size is another predictor set-up: loaded once more, then reused too.
    analyze_video(video, tmp_path / "three", PipelineSettings(imgsz=256, backend="pytorch"))
    analyze_video(video, tmp_path / "four", PipelineSettings(imgsz=256, backend="pytorch"))
    assert len(loads) == 2
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("detector ")]
    assert ["already loaded" in line for line in said] == [False, True, False, True]
