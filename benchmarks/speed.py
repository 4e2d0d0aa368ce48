"""Speed and memory of the whole analysis (both stages) against a naive per-frame
YOLO.track baseline, measured in the same run.

    .venv/bin/python benchmarks/speed.py VIDEO
    .venv/bin/python benchmarks/speed.py --generate 10        # 720p 30 fps generated clip
    .venv/bin/python benchmarks/speed.py --generate 10 --sizes 1280x720,720x1280 --harder \
        --variants '{"backend": "pytorch"}' '{"encode_preset": "superfast"}'

Prints one JSON line per clip: frames, video_s, processing_s, realtime_factor, peak_rss_mb,
the time of each stage, and the same for the baseline (a plain `YOLO.track(persist=True)`
loop over every frame writing `mp4v`), speedup_vs_naive and, for generated clips, player
recall, ID switches, ball coverage and passes found of the pipeline, and recall and ball
coverage of the baseline, against the generator's ground truth. `--variants` adds one
pipeline run per JSON settings override (a speed/quality table in one run). Each run happens
in its own child process, so peak RSS is that run's alone.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_pipeline(video: Path, out_dir: Path, settings: dict) -> dict:
    from backend.pipeline import PipelineSettings
    from backend.workflow import analyse_match

    started = time.perf_counter()
    result = analyse_match(video, out_dir, PipelineSettings.from_dict(settings))
    elapsed = time.perf_counter() - started
    timings = dict(result.summary["timings"])
    # Stage 2 and process start-up count too: what is left of the wall time after stage 1.
    timings["after_stage1_s"] = round(elapsed - timings["total_s"], 3)
    model = result.summary["model"]
    return {
        "processing_s": round(elapsed, 3),
        "timings": timings,
        "backend": f"{model.get('backend')}/{model.get('device')}",
        "video_mb": round((out_dir / "annotated.mp4").stat().st_size / 1e6, 2),
        "frames": result.summary["counts"]["frames"],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "boxes_csv": str(out_dir / "tracks.csv"),
    }


def run_naive(video: Path, out_dir: Path, settings: dict) -> dict:
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
        "boxes_csv": str(boxes_path),
    }


def _child(mode: str, video: Path, out_dir: Path, settings: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, str(video), "--out", str(out_dir),
           "--settings", json.dumps(settings)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# A ball position counts as covering a frame within this share of the frame width of the
# true ball (~26 px at 720p landscape: a few ball diameters).
BALL_NEAR_FRAC = 0.02
# The --harder clips: Gaussian blur sigma (px, /2) and per-pixel noise (grey levels, sd).
HARDER_BLUR_PX = 2
HARDER_NOISE_SD = 6.0
PASS_TOLERANCE_FRAMES = 12


def _naive_scores(truth, boxes_csv: str) -> dict:
    import numpy as np

    from tests.pipeline.evaluate import detection_recall

    frames: dict[int, list] = {}
    balls: dict[int, list] = {}
    with open(boxes_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            box = np.array([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
            target = frames if row["class"] == "player" else balls
            target.setdefault(int(row["frame"]), []).append(box)
    centres = {f: [(b[:2] + b[2:]) / 2 for b in boxes] for f, boxes in balls.items()}
    return {
        "recall": round(detection_recall(truth, frames), 4),
        "ball_coverage": _ball_coverage(truth, centres),
    }


def _ball_coverage(truth, centres: dict[int, list]) -> float:
    """Share of frames with a visible true ball where some reported ball is near it."""
    import numpy as np

    near = BALL_NEAR_FRAC * truth.size[0]
    visible = [f for f in range(truth.frames) if np.isfinite(truth.ball_px[f]).all()]
    hits = sum(
        any(np.hypot(*(c - truth.ball_px[f])) <= near for c in centres.get(f, [])) for f in visible
    )
    return round(hits / max(1, len(visible)), 4)


def _pipeline_scores(truth, out_dir: Path) -> dict:
    import numpy as np

    from tests.pipeline.evaluate import matched_passes, score

    s = score(truth, out_dir / "tracks.csv")
    centres: dict[int, list] = {}
    with (out_dir / "ball.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["x"]:
                centres[int(row["frame"])] = [np.array([float(row["x"]), float(row["y"])])]
    events = json.loads((out_dir / "events.json").read_text())["events"]
    found = matched_passes(truth, out_dir / "tracks.csv", events, PASS_TOLERANCE_FRAMES)
    return {
        "recall": round(s.recall, 4),
        "ball_coverage": _ball_coverage(truth, centres),
        "people": truth.people,
        "player_tracks": s.track_count,
        "id_switches_per_min": round(s.id_switches_per_min, 2),
        "team_accuracy": round(s.team_accuracy, 3),
        "passes_found": f"{found}/{len(truth.passes)}",
    }


def harden(video: Path, blur_px: int, noise_sd: float, seed: int = 0) -> None:
    """Make a generated clip look more like a phone's footage: motion/defocus blur, sensor
    noise, a textured floor (low-frequency shading) and a real encoder's losses. Done here,
    on the finished clip, so the test clip generator stays as the tests know it."""
    import av
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    src = video.with_suffix(".clean.mp4")
    video.rename(src)
    with av.open(str(src)) as inp, av.open(str(video), "w") as out:
        stream_in = inp.streams.video[0]
        w, h = stream_in.codec_context.width, stream_in.codec_context.height
        rate = stream_in.average_rate
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "26"}
        shade = cv2.resize(rng.normal(0, 14, (h // 24 + 1, w // 24 + 1)), (w, h))
        grain = cv2.GaussianBlur(rng.normal(0, 10, (h, w)), (0, 0), 1.5)
        texture = (shade + grain)[..., None].astype(np.float32)
        for frame in inp.decode(video=0):
            img = frame.to_ndarray(format="bgr24").astype(np.float32) + texture
            img = cv2.GaussianBlur(img, (0, 0), blur_px / 2) if blur_px else img
            img += rng.normal(0, noise_sd, img.shape).astype(np.float32)
            img = np.clip(img, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    src.unlink()


def bench_clip(video: Path, truth, work: Path, settings: dict, variants: list[dict],
               skip_naive: bool) -> dict:  # fmt: skip
    from backend.pipeline.video import probe_video

    info = probe_video(video)
    report: dict = {
        "video": str(video), "resolution": f"{info.width}x{info.height}", "fps": info.fps,
        "frames": info.frames_total, "video_s": round(info.duration_s, 3),
        "load_before": round(os.getloadavg()[0], 2),
    }  # fmt: skip
    runs = []
    for i, variant in enumerate([{}, *variants]):
        run_settings = {**settings, **variant}
        out = work / f"pipeline{i}"
        pipe = _child("pipeline", video, out, run_settings)
        row = {
            "settings": run_settings,
            "backend": pipe["backend"],
            "processing_s": pipe["processing_s"],
            "realtime_factor": round(info.duration_s / pipe["processing_s"], 3),
            "peak_rss_mb": pipe["peak_rss_mb"],
            "video_mb": pipe["video_mb"],
            "timings": pipe["timings"],
        }
        if truth is not None:
            row.update(_pipeline_scores(truth, out))
        runs.append(row)
    report.update(runs[0])
    if variants:
        report["variants"] = runs[1:]
    if not skip_naive:
        naive = _child("naive", video, work / "naive", settings)
        report["naive"] = {
            "processing_s": naive["processing_s"],
            "realtime_factor": round(info.duration_s / naive["processing_s"], 3),
            "peak_rss_mb": naive["peak_rss_mb"],
        }
        if truth is not None:
            report["naive"].update(_naive_scores(truth, naive["boxes_csv"]))
            report["recall_vs_naive"] = round(
                report["recall"] / max(report["naive"]["recall"], 1e-9), 3
            )
        report["speedup_vs_naive"] = round(naive["processing_s"] / report["processing_s"], 2)
    report["load_after"] = round(os.getloadavg()[0], 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("video", nargs="?", type=Path)
    parser.add_argument(
        "--generate", type=float, metavar="SECONDS", help="generate a 720p 30 fps clip"
    )
    parser.add_argument(
        "--sizes", "--size", default="1280x720", help="generated clip sizes, WxH[,WxH...]"
    )
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument(
        "--harder", action="store_true",
        help="generated clips with 7 + 7 players, 2 umpires, spectators, texture, blur, noise",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="folder for outputs (default: a temp folder)")
    parser.add_argument("--settings", default="{}", help="PipelineSettings overrides as JSON")
    parser.add_argument(
        "--variants", nargs="*", default=[], help="extra pipeline runs, settings JSON each"
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--child", choices=("pipeline", "naive"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = json.loads(args.settings)

    if args.child:
        args.out.mkdir(parents=True, exist_ok=True)
        runner = run_pipeline if args.child == "pipeline" else run_naive
        print(json.dumps(runner(args.video, args.out, settings)))
        return

    work = args.out or Path(tempfile.mkdtemp(prefix="courtside-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    variants = [json.loads(v) for v in args.variants]
    if not args.generate:
        if args.video is None:
            parser.error("give a VIDEO or --generate SECONDS")
        print(json.dumps(bench_clip(args.video, None, work, settings, variants, args.skip_naive)))
        return
    from tests.synthetic import make_match_clip

    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        tag = "harder" if args.harder else "plain"
        video = work / f"generated_{w}x{h}_{args.fps:g}fps_{args.generate:g}s_{tag}.mp4"
        people = dict(players_per_team=7, officials=2, spectators=4) if args.harder else dict(
            players_per_team=4, officials=1
        )  # fmt: skip
        truth = make_match_clip(
            video, seconds=args.generate, fps=args.fps, size=(w, h), codec="h264", seed=7,
            **people,
        )  # fmt: skip
        if args.harder:
            harden(video, blur_px=HARDER_BLUR_PX, noise_sd=HARDER_NOISE_SD)
        report = bench_clip(video, truth, work / f"{w}x{h}", settings, variants, args.skip_naive)
        report["generated"] = tag
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
