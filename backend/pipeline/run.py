"""analyze_video: one streaming pass from a video file to the output folder.

Decode (thread) -> detect every `frame_stride`th frame -> ByteTrack -> frames in between get
boxes interpolated from the keyframes around them -> team vote, ball path, court position ->
rows streamed to CSV, annotated frame to the H.264 encoder (thread).

A frame waits in a short buffer (at most `ball_gap_max_s`, bounded in bytes) until the next
keyframes have been seen, so gaps can be interpolated; memory stays flat with video length.
All files are written into a hidden `.partial-*` folder and moved into `out_dir` only when
the run succeeded, `summary.json` last: a folder with `summary.json` is a complete result.

Files (names are a contract, see design.md section 4):
  annotated.mp4       H.264 yuv420p, faststart; every input frame at the input rate
  tracks.csv          frame,time_s,track_id,class,team,x1,y1,x2,y2,confidence,source,
                      court_x,court_y,zone - one row per object per frame; class player|ball,
                      team A|B|other (empty for the ball), the ball's track_id is 0, source
                      detected|interpolated, court_* in metres and zone empty uncalibrated
  ball.csv            frame,time_s,x,y,source,state,holder_track_id,court_x,court_y - state is
                      held|flight|none from an image-space guess (stage 2 decides possession
                      and rewrites the court columns); court position is the holder's feet
  background.jpg      the court without players (median of sampled frames)

players.csv, teams.csv, events, possession, heatmaps and the exchange formats come from
stage 2 (backend/analytics, docs/analytics-contract.md), run on this folder afterwards.

summary.json keys:
  schema_version      1
  status              "completed"
  video               probe of the input: path, frames_total, fps, width, height, duration_s,
                      codec, container; plus frames_processed (frames actually decoded)
  settings            PipelineSettings.to_dict()
  calibration         null, or {image_points, court_points_m, max_error_m}
  model               {weights, path, backend (openvino | pytorch | onnx), device (cpu,
                      cuda:0), requested_backend, requested_device, fallback_reason (why
                      backend/device differ from the request, else null), input_shape [h, w],
                      exports_built (why each OpenVINO export was made this run; [] = cached),
                      inference_precision (f32, bf16 or int8: what the network computed in),
                      precision_fallback_reason (why not int8 when asked, else null)}
  versions            courtside, python, torch, ultralytics, opencv, av, numpy, openvino
  timings             total_s, model_load_s (~0 when the worker process had the detector
                      loaded already), team_fit_s, main_pass_s, finalize_s, processing_fps,
                      realtime_factor (video seconds / processing seconds)
  counts              frames, keyframes, player_tracks, players_by_team {A, B, other, ""},
                      track_rows, ball_frames_detected, ball_frames_interpolated,
                      ball_frames_missing, ball_held_frames, ball_flight_frames,
                      ball_zoom_looks (full-resolution second looks for the ball),
                      ball_motion_searches, ball_motion_keyframes (keyframes whose ball came
                      from the motion candidates, ball_candidates.py),
                      ball_motion_camera_resets (backgrounds restarted after a camera jump),
                      ball_unfilled_gaps, ball_unfilled_gap_frames, ball_longest_unfilled_gap_s
                      (gaps longer than ball_gap_fill_max_s, left without a ball)
  camera              null, or {pairs, moved_pairs, median_shift_frac, max_shift_frac, moving}
                      from the frames sampled for the team colours (backend/pipeline/camera.py)
  teams               [{label, name, color, players}] for A, B and other (hex colours)
  warnings            messages about a result that is usable but not whole, each saying what
                      to do (truncated video, teams not split, and backend/pipeline/quality.py:
                      few ball frames, long ball gaps, one kit, small players, portrait video,
                      a moving camera)
  files               names of the files written
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2

from backend.pipeline.errors import OutputError, PipelineCancelled
from backend.pipeline.settings import AnalysisResult, PipelineSettings, Progress
from backend.pipeline.video import probe_video
from backend.pipeline.view import ViewTransformer

# OpenCV splits each call over every core by default. In the main pass the detector's
# thread, the tracking and ball search, the encoder and the decoder already keep both cores
# of a small machine busy, so the split only adds hand-overs, and OpenCV's parallel
# labelling of connected components (the ball search's dearest call) ran at 5-6 ms a 720p
# mask against 2.5-3 ms on one thread (benchmarks/README.md, issue 13's seventh round).
OPENCV_THREADS = 1


def analyze_video(
    video_path: str | Path,
    out_dir: str | Path,
    settings: PipelineSettings | None = None,
    *,
    calibration: dict | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    logger: logging.Logger | None = None,
) -> AnalysisResult:
    """Analyse `video_path` into `out_dir`; see the module docstring for the files and keys.

    Raises VideoError, ModelError, CalibrationError, OutputError or PipelineCancelled (all
    PipelineError) with a message for the analyst; on any error no output is left behind.
    """
    from backend.pipeline.engine import Engine

    log = logger or logging.getLogger("backend.pipeline")
    settings = settings or PipelineSettings()
    started = time.perf_counter()
    view = ViewTransformer.from_dict(calibration) if calibration is not None else None
    # A cut-short file is analysed as far as it goes (summary warning), not refused here.
    info = probe_video(video_path, verify_end=False)
    log.info(
        "video %s: %d frames, %.2f fps, %dx%d, %.1f s, %s",
        info.path.name, info.frames_total, info.fps, info.width, info.height,
        info.duration_s, info.codec,
    )  # fmt: skip
    out = Path(out_dir)
    partial = _make_partial_dir(out)
    try:
        engine = Engine(
            info, settings, view=view, work_dir=partial, logger=log,
            on_progress=on_progress, should_cancel=should_cancel,
        )  # fmt: skip
        with _opencv_threads(OPENCV_THREADS):
            summary = engine.run()
        if calibration is not None:
            summary["calibration"] = {
                "image_points": calibration["image_points"],
                "court_points_m": calibration["court_points_m"],
                "max_error_m": round(view.max_error_m, 4) if view else None,
            }
        total = time.perf_counter() - started
        summary["timings"]["total_s"] = round(total, 3)
        summary["timings"]["realtime_factor"] = round(summary["video"]["duration_s"] / total, 3)
        files = _publish(partial, out, summary)
    except PipelineCancelled:
        log.info("analysis cancelled; partial outputs removed")
        raise
    except OutputError as exc:
        exc.bytes_written = _folder_bytes(partial)
        raise
    except OSError as exc:
        error = OutputError(f"Writing the results to {out} failed: {exc}")
        error.bytes_written = _folder_bytes(partial)
        raise error from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("analysis finished in %.1f s: %s", total, ", ".join(p.name for p in files))
    return AnalysisResult(out_dir=out, files=files, summary=summary)


@contextmanager
def _opencv_threads(threads: int) -> Iterator[None]:
    """OpenCV's own thread pool at `threads` while the analysis runs, as it was after."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _make_partial_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission on {out}")
        return Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    except OSError as exc:
        raise OutputError(f"The output folder {out} cannot be written: {exc}") from exc


def _publish(partial: Path, out: Path, summary: dict) -> list[Path]:
    """Move finished files into place, summary.json last so its presence means complete."""
    names = sorted(
        p.name for p in partial.iterdir() if p.is_file() and not p.name.endswith(".raw.csv")
    )
    summary["files"] = [*names, "summary.json"]
    (partial / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    moved = []
    for name in [*names, "summary.json"]:
        os.replace(partial / name, out / name)
        moved.append(out / name)
    return moved
