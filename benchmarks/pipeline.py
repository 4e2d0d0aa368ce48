"""Speed, quality and memory of the whole analysis (both stages, the annotated H.264 video)
against a naive per-frame YOLO.track loop, measured in the same run on the same clips.

    .venv/bin/python benchmarks/pipeline.py VIDEO
    .venv/bin/python benchmarks/pipeline.py --generate 10 --sizes 1280x720,720x1280 --harder
    .venv/bin/python benchmarks/pipeline.py --generate 10 --harder --sweep --skip-naive
    .venv/bin/python benchmarks/pipeline.py --generate 10 --variants '{"backend": "pytorch"}'
    .venv/bin/python benchmarks/pipeline.py --wide 16 [--pan 40] --compare-motion --skip-naive
    .venv/bin/python benchmarks/pipeline.py --memory-minutes 1 10 --sizes 640x360

Prints one JSON line per clip: the clip, the load average before and after, and per run
(the defaults first, then each variant) the real-time factor, the time of each stage (start-up
and imports, model load, team fit, main pass, finalize, stage 2), peak RSS, the video's size
and, on generated clips, player recall, tracks per person, ID switches per minute, team
accuracy, ball coverage (frames with the ball within 1.5 ball widths) and passes found; then
the naive loop (`YOLO.track(persist=True)` on every frame at the default size, `mp4v` video)
with its real-time factor, recall and ball coverage, and the ratios of the two. `--markdown`
also prints the runs as table rows. Every run happens in its own child process, so peak RSS
is that run's alone. `--memory-minutes` analyses generated clips of those lengths (plain,
pipeline only) and prints the peak RSS of each and their ratio to the first.
`--compare-reid` adds re-identification off and on, back to back (benchmarks/identities.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# --sweep: the speed-vs-quality table of issue 13, each a change from the defaults.
SWEEP = (
    {"frame_stride": 1}, {"frame_stride": 2}, {"frame_stride": 4},
    {"imgsz": 384}, {"imgsz": 640},
    {"encode_preset": "superfast"},
    {"ball_zoom_px": 0},
    {"ball_motion_search_px": 0},
)  # fmt: skip


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    """CPU seconds of this process, all threads: unlike wall time, barely moved by other
    programs sharing the cores, so variants measured minutes apart compare fairly."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run_pipeline(video: Path, out_dir: Path, settings: dict, calibration: dict | None) -> dict:
    from backend.config import with_machine_settings
    from backend.pipeline import PipelineSettings
    from backend.workflow import analyse_match

    started = time.perf_counter()
    pipeline_settings = with_machine_settings(PipelineSettings.from_dict(settings))
    result = analyse_match(video, out_dir, pipeline_settings, calibration=calibration)
    elapsed = time.perf_counter() - started
    timings = {
        # Python start-up and the imports before the analysis: a worker pays them once.
        "start_up_s": round(started - _STARTED, 3),
        **result.summary["timings"],
    }
    timings["stage2_s"] = round(elapsed - timings["total_s"], 3)
    model = result.summary["model"]
    return {
        "processing_s": round(elapsed, 3),
        "timings": timings,
        "backend": f"{model.get('backend')}/{model.get('device')}",
        "video_mb": round((out_dir / "annotated.mp4").stat().st_size / 1e6, 2),
        "frames": result.summary["counts"]["frames"],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "cpu_s": _cpu_s(),
    }


def run_naive(video: Path, out_dir: Path, settings: dict, calibration: dict | None) -> dict:
    """The obvious implementation: track every frame at the default size, write mp4v."""
    import cv2

    from backend.config import get_settings

    get_settings()  # the ultralytics offline switches
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
    frames = 0
    with (out_dir / "naive_boxes.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["frame", "class", "x1", "y1", "x2", "y2"])
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            result = model.track(frame, persist=True, classes=[0, 32], verbose=False)[0]
            for (x1, y1, x2, y2), cls in zip(
                result.boxes.xyxy.tolist(), result.boxes.cls.tolist(), strict=True
            ):
                out.writerow([frames, "player" if int(cls) == 0 else "ball", x1, y1, x2, y2])
            writer.write(result.plot())
            frames += 1
    writer.release()
    return {
        "processing_s": round(time.perf_counter() - started, 3),
        "frames": frames,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "cpu_s": _cpu_s(),
        "video_mb": round((out_dir / "naive.mp4").stat().st_size / 1e6, 2),
    }


def _child(mode: str, video: Path, out_dir: Path, settings: dict, calibration: dict | None) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, str(video), "--out", str(out_dir),
           "--settings", json.dumps(settings),
           "--calibration", json.dumps(calibration)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_clip(video: Path, truth, work: Path, settings: dict, variants: list[dict],
               skip_naive: bool, calibration: dict | None) -> dict:  # fmt: skip
    from backend.pipeline.video import probe_video
    from benchmarks.quality import naive_scores, pipeline_scores

    info = probe_video(video)
    report: dict = {
        "video": str(video), "resolution": f"{info.width}x{info.height}", "fps": info.fps,
        "frames": info.frames_total, "video_s": round(info.duration_s, 3),
        "load_before": _load(), "runs": [],
    }  # fmt: skip
    for i, variant in enumerate([{}, *variants]):
        out = work / f"run{i}"
        pipe = _child("pipeline", video, out, {**settings, **variant}, calibration)
        run = {
            "change": variant or "defaults",
            **pipe,
            "realtime_factor": round(info.duration_s / pipe["processing_s"], 3),
        }
        if truth is not None:
            run.update(pipeline_scores(truth, out))
        report["runs"].append(run)
    if not skip_naive:
        naive = _child("naive", video, work / "naive", settings, None)
        naive["realtime_factor"] = round(info.duration_s / naive["processing_s"], 3)
        if truth is not None:
            naive.update(naive_scores(truth, work / "naive" / "naive_boxes.csv"))
        report["naive"] = naive
        full = report["runs"][0]
        report["speedup_vs_naive"] = round(naive["processing_s"] / full["processing_s"], 2)
        if truth is not None:
            report["recall_vs_naive"] = round(full["recall"] / max(naive["recall"], 1e-9), 3)
    report["load_after"] = _load()
    return report


def markdown_rows(report: dict, tag: str) -> list[str]:
    """One table row per run: the README's speed-vs-quality table."""
    rows = []
    load = f"{report['load_before']}-{report['load_after']}"
    for run in [*report["runs"], *([report["naive"]] if "naive" in report else [])]:
        t = run.get("timings", {})
        change = run.get("change", "naive YOLO.track loop, every frame, mp4v")
        if isinstance(change, dict):
            change = ", ".join(f"{k} {v}" for k, v in change.items())
        stages = " / ".join(
            f"{t.get(k, 0):.1f}"
            for k in ("start_up_s", "model_load_s", "team_fit_s", "ball_colour_s", "main_pass_s",
                      "finalize_s", "stage2_s")
        ) if t else "-"  # fmt: skip
        rows.append(
            f"| {tag}, load {load} | {change} | {run['realtime_factor']:.2f} | "
            f"{run['cpu_s'] / report['video_s']:.2f} | {stages} | "
            f"{run.get('recall', '-')} | {run.get('tracks_per_person', '-')} | "
            f"{run.get('id_switches_per_min', '-')} | {run.get('ball_coverage', '-')} | "
            f"{run.get('passes_found', '-')} | {run['video_mb']} | {run['peak_rss_mb']:.0f} |"
        )
    return rows


def memory_runs(minutes: list[float], size: tuple[int, int], fps: float, work: Path,
                settings: dict) -> dict:  # fmt: skip
    from benchmarks.quality import generate

    rows = []
    for length in minutes:
        video = work / f"memory_{length:g}min_{size[0]}x{size[1]}.mp4"
        generate("plain", video, seconds=60 * length, size=size, fps=fps)
        load = _load()
        run = _child("pipeline", video, work / f"memory_{length:g}", settings, None)
        video.unlink()  # a 10-minute clip is large; it is not kept
        rows.append({
            "minutes": length, "size": f"{size[0]}x{size[1]}", "fps": fps,
            "peak_rss_mb": run["peak_rss_mb"], "realtime_factor": round(
                60 * length / run["processing_s"], 3), "load": f"{load}-{_load()}",
        })  # fmt: skip
    first = rows[0]["peak_rss_mb"]
    for row in rows:
        row["rss_vs_first"] = round(row["peak_rss_mb"] / first, 3)
    return {"memory": rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("video", nargs="?", type=Path)
    parser.add_argument("--generate", type=float, metavar="SECONDS", help="generate clips")
    parser.add_argument(
        "--sizes", "--size", default="1280x720", help="generated clip sizes, WxH[,WxH...]"
    )
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument(
        "--harder", action="store_true",
        help="generated clips with crossings, a small ball, spectators, texture, blur, noise",
    )  # fmt: skip
    parser.add_argument("--wide", type=float, metavar="SECONDS", help="generate a wide shot")
    parser.add_argument(
        "--pan", type=float, default=0.0, help="camera pan of generated clips, px/s"
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--out", type=Path, help="folder for outputs (default: a temp folder)")
    parser.add_argument("--settings", default="{}", help="PipelineSettings overrides as JSON")
    parser.add_argument("--variants", nargs="*", default=[], help="extra runs, settings JSON each")
    parser.add_argument("--sweep", action="store_true", help="add the speed-vs-quality variants")
    parser.add_argument(
        "--compare-motion", action="store_true",
        help="add a run with the motion ball candidates switched the other way",
    )  # fmt: skip
    parser.add_argument(
        "--compare-reid", action="store_true",
        help="also run re-identification off and on (benchmarks/identities.py)",
    )  # fmt: skip
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="also print table rows")
    parser.add_argument("--memory-minutes", type=float, nargs="+", metavar="MIN")
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
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    if args.memory_minutes:
        report = memory_runs(args.memory_minutes, sizes[0], args.fps, work, settings)
        print(json.dumps(report), flush=True)
        return
    variants = [json.loads(v) for v in args.variants] + (list(SWEEP) if args.sweep else [])
    if args.compare_motion:
        from backend.pipeline.settings import PipelineSettings

        on = {**PipelineSettings().to_dict(), **settings}["ball_motion_search_px"]
        variants.append({"ball_motion_search_px": 0 if on else 320})

    clips = []  # (video, truth, tag)
    if args.video is not None:
        clips.append((args.video, None, args.video.name))
    elif args.wide:
        from benchmarks.quality import generate

        video = work / f"wide_{args.wide:g}s_pan{args.pan:g}.mp4"
        truth = generate("wide", video, seconds=args.wide, size=(960, 540), fps=25,
                         seed=3, pan_px_per_s=args.pan)  # fmt: skip
        clips.append((video, truth, f"wide {args.wide:g} s"))
    elif args.generate:
        from benchmarks.quality import generate

        kind = "harder" if args.harder else "plain"
        for w, h in sizes:
            video = work / f"generated_{w}x{h}_{args.fps:g}fps_{args.generate:g}s_{kind}.mp4"
            truth = generate(kind, video, seconds=args.generate, size=(w, h), fps=args.fps,
                             seed=args.seed, pan_px_per_s=args.pan)  # fmt: skip
            clips.append((video, truth, f"{w}x{h} {kind} {args.generate:g} s"))
    else:
        parser.error("give a VIDEO, --generate SECONDS, --wide SECONDS or --memory-minutes")

    for video, truth, tag in clips:
        # A panning camera has no fixed calibration (the frame-0 one drifts off the court).
        calibration = truth.calibration() if truth is not None and not args.pan else None
        folder = work / video.stem
        report = bench_clip(video, truth, folder, settings, variants, args.skip_naive, calibration)
        report["clip"] = tag
        if args.compare_reid and truth is not None:
            from benchmarks.identities import compare_reid

            report["reid_comparison"] = compare_reid(
                truth, video, folder / "reid", settings, calibration
            )
        print(json.dumps(report), flush=True)
        if args.markdown:
            print("\n".join(markdown_rows(report, tag)), flush=True)


if __name__ == "__main__":
    main()
