"""Speed and memory of analyze_video against a naive per-frame YOLO.track baseline.

    .venv/bin/python benchmarks/pipeline.py VIDEO
    .venv/bin/python benchmarks/pipeline.py --generate 10        # 720p 30 fps generated clip
    .venv/bin/python benchmarks/pipeline.py --wide 16 [--pan 40] --compare-motion --skip-naive

Prints one JSON line: frames, video_s, processing_s, realtime_factor, peak_rss_mb, and the
same for the baseline (a plain `YOLO.track(persist=True)` loop over every frame writing
`mp4v`), speedup_vs_naive and, for generated clips, player detection recall of both against
the generator's ground truth. Each run happens in its own child process, so peak RSS is that
run's alone. `--wide` generates issue 15's wide shot (tests.synthetic.make_wide_shot);
`--compare-motion` runs the pipeline once more with the motion ball candidates switched the
other way and reports both runs' issue-15 figures (ball within 1.5 widths, passes found,
tracks per person, coverage) and main-pass time per frame, measured back to back.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_pipeline(video: Path, out_dir: Path, settings: dict, calibration: dict | None) -> dict:
    from backend.pipeline import PipelineSettings, analyze_video

    started = time.perf_counter()
    result = analyze_video(
        video, out_dir, PipelineSettings.from_dict(settings), calibration=calibration
    )
    elapsed = time.perf_counter() - started
    return {
        "processing_s": round(elapsed, 3),
        "timings": result.summary["timings"],
        "frames": result.summary["counts"]["frames"],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "boxes_csv": str(out_dir / "tracks.csv"),
    }


def run_naive(video: Path, out_dir: Path, settings: dict, calibration: dict | None) -> dict:
    """The obvious implementation: track every frame at the default size, write mp4v."""
    import cv2

    from backend.config import get_settings

    get_settings()
    from ultralytics import YOLO

    from backend.pipeline.model import resolve_model_path

    started = time.perf_counter()
    model = YOLO(str(resolve_model_path()))
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    writer = cv2.VideoWriter(
        str(out_dir / "naive.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h)
    )
    boxes_path = out_dir / "naive_boxes.csv"
    frames = 0
    with boxes_path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["frame", "x1", "y1", "x2", "y2"])
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            result = model.track(frame, persist=True, classes=[0, 32], verbose=False)[0]
            for (x1, y1, x2, y2), cls in zip(
                result.boxes.xyxy.tolist(), result.boxes.cls.tolist(), strict=True
            ):
                if int(cls) == 0:
                    out.writerow([frames, x1, y1, x2, y2])
            writer.write(result.plot())
            frames += 1
    writer.release()
    return {
        "processing_s": round(time.perf_counter() - started, 3),
        "frames": frames,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "boxes_csv": str(boxes_path),
    }


def _child(
    mode: str, video: Path, out_dir: Path, settings: dict, calibration: dict | None = None
) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, str(video), "--out", str(out_dir),
           "--settings", json.dumps(settings),
           "--calibration", json.dumps(calibration)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _recall(truth, boxes_csv: str, player_rows_only: bool) -> float:
    import numpy as np

    from tests.pipeline.evaluate import detection_recall

    frames: dict[int, list] = {}
    with open(boxes_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            if player_rows_only and row.get("class") != "player":
                continue
            box = np.array([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
            frames.setdefault(int(row["frame"]), []).append(box)
    return round(detection_recall(truth, frames), 4)


def _issue15_figures(truth, out_dir: Path, calibration: dict | None) -> dict:
    import numpy as np

    from backend.analytics.inputs import AnalyticsInputs
    from backend.analytics.stage import run_analytics
    from tests.pipeline.evaluate import wide_shot_score

    inputs = AnalyticsInputs()
    if calibration is not None:
        inv = np.linalg.inv(truth.court_to_image)
        inputs = AnalyticsInputs(homography=(inv / inv[2, 2]).tolist())
    run_analytics(out_dir, inputs)
    events = json.loads((out_dir / "events.json").read_text())["events"]
    return wide_shot_score(truth, out_dir / "tracks.csv", events).to_dict()


def _compare_motion(truth, video: Path, work: Path, settings: dict, calibration) -> dict:
    """The same clip with the motion ball candidates off and on, back to back."""
    rows = {}
    for name, search_px in (("motion_off", 0), ("motion_on", 320)):
        run_settings = {**settings, "ball_motion_search_px": search_px}
        run = _child("pipeline", video, work / name, run_settings, calibration)
        frames = max(1, run["frames"])
        rows[name] = {
            "main_pass_ms_per_frame": round(1000 * run["timings"]["main_pass_s"] / frames, 2),
            **_issue15_figures(truth, work / name, calibration),
        }
    off, on = rows["motion_off"], rows["motion_on"]
    rows["extra_time_per_frame"] = round(
        on["main_pass_ms_per_frame"] / max(off["main_pass_ms_per_frame"], 1e-9) - 1, 3
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("video", nargs="?", type=Path)
    parser.add_argument(
        "--generate", type=float, metavar="SECONDS", help="generate a 720p 30 fps clip"
    )
    parser.add_argument("--size", default="1280x720", help="generated clip size, WxH")
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--out", type=Path, help="folder for outputs (default: a temp folder)")
    parser.add_argument("--settings", default="{}", help="PipelineSettings overrides as JSON")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--wide", type=float, metavar="SECONDS", help="generate a wide shot")
    parser.add_argument("--pan", type=float, default=0.0, help="wide shot pan, px/s")
    parser.add_argument("--compare-motion", action="store_true")
    parser.add_argument("--child", choices=("pipeline", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--calibration", default="null", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = json.loads(args.settings)

    if args.child:
        args.out.mkdir(parents=True, exist_ok=True)
        runner = run_pipeline if args.child == "pipeline" else run_naive
        print(json.dumps(runner(args.video, args.out, settings, json.loads(args.calibration))))
        return

    work = args.out or Path(tempfile.mkdtemp(prefix="courtside-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    truth = None
    if args.generate:
        from tests.synthetic import make_match_clip

        w, h = (int(v) for v in args.size.lower().split("x"))
        video = work / f"generated_{w}x{h}_{args.fps:g}fps_{args.generate:g}s.mp4"
        truth = make_match_clip(
            video, seconds=args.generate, fps=args.fps, size=(w, h), players_per_team=4,
            officials=1, codec="h264", seed=7,
        )  # fmt: skip
    elif args.wide:
        from tests.synthetic import make_wide_shot

        video = work / f"wide_{args.wide:g}s_pan{args.pan:g}.mp4"
        truth = make_wide_shot(video, seconds=args.wide, pan_px_per_s=args.pan)
    elif args.video is None:
        parser.error("give a VIDEO, --generate SECONDS or --wide SECONDS")
    else:
        video = args.video

    from backend.pipeline.video import probe_video

    info = probe_video(video)
    report: dict = {
        "video": str(video), "resolution": f"{info.width}x{info.height}", "fps": info.fps,
        "frames": info.frames_total, "video_s": round(info.duration_s, 3),
    }  # fmt: skip
    # A panning camera has no fixed calibration (the frame-0 one drifts off the court).
    calibration = truth.calibration() if truth is not None and not args.pan else None
    if args.compare_motion:
        if truth is None:
            parser.error("--compare-motion needs --generate or --wide (ground truth)")
        report["motion_comparison"] = _compare_motion(truth, video, work, settings, calibration)
    pipe = _child("pipeline", video, work / "pipeline", settings, calibration)
    report.update(
        processing_s=pipe["processing_s"],
        realtime_factor=round(info.duration_s / pipe["processing_s"], 3),
        peak_rss_mb=pipe["peak_rss_mb"],
        timings=pipe["timings"],
        settings=settings,
    )
    if truth is not None:
        from tests.pipeline.evaluate import score

        s = score(truth, Path(pipe["boxes_csv"]))
        report["recall"] = round(s.recall, 4)
        report["quality"] = {
            "people": truth.people,
            "player_tracks": s.track_count,
            "id_switches_per_min": round(s.id_switches_per_min, 2),
            "team_accuracy": round(s.team_accuracy, 3),
            "ball_short_gap_error_median_px": round(s.ball_short_gap_error_median_px, 2),
        }
    if not args.skip_naive:
        naive = _child("naive", video, work / "naive", settings)
        report["naive"] = {
            "processing_s": naive["processing_s"],
            "realtime_factor": round(info.duration_s / naive["processing_s"], 3),
            "peak_rss_mb": naive["peak_rss_mb"],
        }
        if truth is not None:
            report["naive"]["recall"] = _recall(truth, naive["boxes_csv"], player_rows_only=False)
            report["recall_vs_naive"] = round(
                report["recall"] / max(report["naive"]["recall"], 1e-9), 3
            )
        report["speedup_vs_naive"] = round(naive["processing_s"] / pipe["processing_s"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
