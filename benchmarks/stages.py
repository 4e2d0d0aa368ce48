"""Where the CPU goes in the main pass: CPU-ms per frame per component, one run in-process.

    .venv/bin/python benchmarks/stages.py VIDEO [--settings JSON] [--calibration-from-clip]
    .venv/bin/python benchmarks/stages.py --generate 10 --sizes 1280x720,720x1280 --harder

Wraps the main pass's components with `time.thread_time` counters (CPU time of the calling
thread only, so waiting for a queue or another thread costs nothing) and reads every OS
thread's CPU time from /proc at the start and end of the main pass, so the native threads
no Python counter sees (OpenVINO's inference workers, libavcodec's decode threads, x264's
encode threads) are accounted too. Prints one JSON line per clip: per component the CPU-ms
per video frame and, per thread group, the CPU-ms per frame; `--markdown` adds table rows.
Only on Linux (/proc). Runs the same code as the product: the wrappers only count.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_TICKS = os.sysconf("SC_CLK_TCK")
# Seconds between /proc samples: catches threads that end before the main pass does.
SAMPLE_INTERVAL_S = 0.1


def _thread_cpu() -> dict[int, tuple[str, float]]:
    """tid -> (name, CPU seconds) of every thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as handle:
                stat = handle.read()
            with open(f"/proc/self/task/{tid}/comm") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / _TICKS)
    return out


class ThreadMonitor:
    """Per-thread CPU seconds between start() and stop(), dead threads included."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> None:
        snap = _thread_cpu()
        self.first = {tid: cpu for tid, (_, cpu) in snap.items()}
        self.last = dict(snap)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self.last.update(_thread_cpu())

    def stop(self) -> dict[int, tuple[str, float]]:
        self._stop.set()
        self._thread.join()
        self.last.update(_thread_cpu())
        me = self._thread.native_id
        # Threads started during the main pass (x264's, libavcodec's) are told apart from
        # those that were there before it (OpenVINO's workers) by a suffix.
        return {
            tid: (name if tid in self.first else f"{name}, new", cpu - self.first.get(tid, 0.0))
            for tid, (name, cpu) in self.last.items()
            if tid != me
        }


class Counters:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.enabled = False
        self.tids: dict[str, int] = {}
        self._depth = threading.local()

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)
        counters = self

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            if not counters.enabled:
                return original(*args, **kwargs)
            t0, w0 = time.thread_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                counters.cpu[label] += time.thread_time() - t0
                counters.wall[label] += time.perf_counter() - w0
                counters.calls[label] += 1

        setattr(owner, name, wrapper)


def instrument(counters: Counters) -> None:
    import backend.pipeline.ball as ball
    import backend.pipeline.ball_candidates as candidates
    import backend.pipeline.consumers as consumers
    import backend.pipeline.detection as detection
    import backend.pipeline.engine as engine
    import backend.pipeline.openvino_net as openvino_net
    import backend.pipeline.stream as stream
    import backend.pipeline.teams as teams
    import backend.pipeline.tracking as tracking

    c = counters
    c.wrap(engine.Engine, "_keyframe", "main: keyframe (all of it)")
    c.wrap(detection.Detector, "detect", "main: detector (all calls)")
    c.wrap(ball.BallPath, "_zoom", "main: ball zoom look (crop + detector)")
    c.wrap(openvino_net, "letterbox", "main: detector preprocess (letterbox)")
    c.wrap(openvino_net.OpenVinoNet, "_infer", "main: detector network (OpenVINO call)")
    c.wrap(openvino_net, "_postprocess", "main: detector postprocess (NMS)")
    c.wrap(candidates.MotionBallCandidates, "update_background", "main: motion background")
    c.wrap(candidates.MotionBallCandidates, "find", "main: motion ball search")
    c.wrap(tracking.PlayerTracker, "update_with_detections", "main: tracker")
    c.wrap(engine, "torso_features", "main: torso features")
    c.wrap(teams.TeamClassifier, "predict", "main: team predict")
    c.wrap(engine, "drop_part_boxes", "main: drop part boxes")
    c.wrap(engine.Engine, "_on_court", "main: on-court filter")
    c.wrap(ball.BallPath, "on_keyframe", "main: ball path (all of it)")
    c.wrap(engine.Engine, "_tracked_frame", "main: per-frame record")
    c.wrap(consumers.TracksCsvWriter, "on_frame", "main: tracks.csv rows")
    c.wrap(consumers.BallCsvWriter, "on_frame", "main: ball.csv rows")
    c.wrap(consumers.AnnotatedVideo, "on_frame", "main: drawing list + queue put")
    c.wrap(consumers.TrackFigures, "on_frame", "main: track figures")
    c.wrap(stream.H264Writer, "prepare_frame", "encode: annotate + pad")
    c.wrap(stream.H264Writer, "encode_frame", "encode: colour conversion + libx264 call")
    c.wrap(stream.FrameReader, "convert_frame", "decode: frame to BGR array")
    # Wall time only (CPU near 0): how long the main thread waits for the decoder / encoder.
    c.wrap(stream.FrameReader, "__iter__", "main: frame loop (wall = whole main pass)")
    c.wrap(stream.H264Writer, "write", "main: hand a frame to the encoder (waits if full)")

    original_detect = engine.Engine._detect

    def detect(self, image):
        if threading.current_thread() is not threading.main_thread():
            c.tids["detect (DetectAhead thread, with its OpenVINO share)"] = (
                threading.get_native_id()
            )
        return original_detect(self, image)

    engine.Engine._detect = detect
    # The Python threads' whole CPU time, by name (their native helpers are counted apart).
    for cls, method, label in (
        (stream.FrameReader, "_run", "decode"),
        (stream.H264Writer, "_run", "encode"),
    ):
        original = getattr(cls, method)

        def run(self, _original=original, _label=label):
            c.tids[_label] = threading.get_native_id()
            return _original(self)

        setattr(cls, method, run)


def profile(video: Path, settings: dict, calibration: dict | None, out: Path) -> dict:
    from backend.config import with_machine_settings
    from backend.pipeline import PipelineSettings
    from backend.pipeline.engine import Engine

    counters = Counters()
    instrument(counters)
    monitor = ThreadMonitor()
    state = {}
    original_fit, original_colour = Engine._fit_teams, Engine._learn_ball_colour

    def fit(self):
        t0 = time.process_time()
        original_fit(self)
        state["team_fit_cpu_s"] = time.process_time() - t0

    def colour_then_start(self):
        # The ball's colour bursts run after the team fit, before the main pass.
        t0 = time.process_time()
        original_colour(self)
        state["ball_colour_cpu_s"] = time.process_time() - t0
        counters.tids["main"] = threading.get_native_id()
        counters.enabled = True
        monitor.start()
        state["t0"] = time.perf_counter()

    original_outputs = Engine._write_outputs

    def stop_then_write(self):
        counters.enabled = False
        state["threads"] = monitor.stop()
        state["wall_s"] = time.perf_counter() - state["t0"]
        return original_outputs(self)

    Engine._fit_teams = fit
    Engine._learn_ball_colour = colour_then_start
    Engine._write_outputs = stop_then_write
    from backend.workflow import analyse_match

    t0 = time.perf_counter()
    result = analyse_match(
        video, out, with_machine_settings(PipelineSettings.from_dict(settings)),
        calibration=calibration,
    )  # fmt: skip
    total_s = time.perf_counter() - t0
    frames = result.summary["counts"]["frames"]
    keyframes = result.summary["counts"]["keyframes"]
    per_frame = {k: round(1000 * v / frames, 2) for k, v in sorted(counters.cpu.items())}
    groups: dict[str, float] = defaultdict(float)
    named = {tid: label for label, tid in counters.tids.items()}
    for tid, (name, cpu) in state["threads"].items():
        groups[named.get(tid, f"native thread '{name}'")] += cpu
    threads = {k: round(1000 * v / frames, 2) for k, v in sorted(groups.items())}
    main_pass_cpu = sum(groups.values())
    return {
        "video": str(video),
        "frames": frames,
        "keyframes": keyframes,
        "zoom_looks": result.summary["counts"]["ball_zoom_looks"],
        "fps": result.summary["video"]["fps"],
        "main_pass_wall_s": round(state["wall_s"], 3),
        "main_pass_cpu_ms_per_frame": round(1000 * main_pass_cpu / frames, 2),
        "main_pass_cpu_s_per_video_s": round(
            main_pass_cpu / (frames / result.summary["video"]["fps"]), 3
        ),
        "team_fit_cpu_s": round(state["team_fit_cpu_s"], 3),
        "ball_colour_cpu_s": round(state["ball_colour_cpu_s"], 3),
        "model_load_s": result.summary["timings"]["model_load_s"],
        "end_to_end_s": round(total_s, 3),
        "threads_cpu_ms_per_frame": threads,
        "components_cpu_ms_per_frame": per_frame,
        "components_wall_ms_per_frame": {
            k: round(1000 * v / frames, 2) for k, v in sorted(counters.wall.items())
        },
        "calls": dict(counters.calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("video", nargs="?", type=Path)
    parser.add_argument("--generate", type=float, metavar="SECONDS")
    parser.add_argument("--sizes", default="1280x720")
    parser.add_argument("--harder", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settings", default="{}")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--calibration", default="null", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = json.loads(args.settings)
    work = args.out or Path(tempfile.mkdtemp(prefix="courtside-stages-"))
    if args.child or args.video is not None:
        print(json.dumps(profile(args.video, settings, json.loads(args.calibration), work)))
        return
    if not args.generate:
        parser.error("give a VIDEO or --generate SECONDS")
    import subprocess

    from benchmarks.quality import generate

    kind = "harder" if args.harder else "plain"
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        video = work / f"generated_{w}x{h}_{args.generate:g}s_{kind}.mp4"
        truth = generate(kind, video, seconds=args.generate, size=(w, h), fps=30, seed=args.seed)
        # Its own process, like a worker's job: nothing loaded by the generator counts.
        calibration = json.dumps(truth.calibration())
        cmd = [sys.executable, __file__, "--child", str(video), "--out", str(work / video.stem),
               "--settings", args.settings, "--calibration", calibration]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        print(proc.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
