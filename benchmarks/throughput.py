"""Video-seconds analysed per wall-second with several jobs at once, as the Huey worker runs
them: N worker processes, each with cores / N detector threads (huey_worker.py's split),
warmed up first (a worker loads the detector once), then Q queued clips analysed end to end.

    .venv/bin/python benchmarks/throughput.py --seconds 8 --clips 3 --workers 1 2 3

Prints one JSON line per worker count: wall_s, video_s_per_wall_s, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _warm(threads: int, frame_size: tuple[int, int]) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    from backend.config import with_machine_settings
    from backend.pipeline import PipelineSettings
    from backend.pipeline.detection import Detector

    Detector(with_machine_settings(PipelineSettings(torch_threads=threads)), frame_size=frame_size)


def _analyse(video: str, out_dir: str, threads: int) -> float:
    from backend.config import with_machine_settings
    from backend.pipeline import PipelineSettings
    from backend.workflow import analyse_match

    started = time.perf_counter()
    analyse_match(video, out_dir, with_machine_settings(PipelineSettings(torch_threads=threads)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each clip")
    parser.add_argument("--clips", type=int, default=3, help="clips queued at once")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from tests.synthetic import make_match_clip

    work = args.out or Path(tempfile.mkdtemp(prefix="courtside-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in args.size.lower().split("x"))
    video = work / "clip.mp4"
    make_match_clip(
        video, seconds=args.seconds, fps=30, size=(w, h), players_per_team=4, officials=1,
        codec="h264", seed=7,
    )  # fmt: skip
    cores = os.cpu_count() or 1
    for workers in args.workers:
        threads = max(1, cores // workers)
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_warm, [threads] * workers, [(w, h)] * workers))
            load = os.getloadavg()[0]
            started = time.perf_counter()
            jobs = [
                pool.submit(_analyse, str(video), str(work / f"w{workers}-{i}"), threads)
                for i in range(args.clips)
            ]
            per_job = [round(job.result(), 2) for job in jobs]
            wall = time.perf_counter() - started
        row = {
            "workers": workers, "threads_per_worker": threads, "clips": args.clips,
            "clip_s": args.seconds, "wall_s": round(wall, 2), "job_s": per_job,
            "video_s_per_wall_s": round(args.clips * args.seconds / wall, 3),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
        }  # fmt: skip
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
