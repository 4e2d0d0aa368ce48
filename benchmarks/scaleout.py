"""Scale-out figures: throughput of N short jobs with 1, 2 and 4 worker processes on the SQLite
defaults and on Redis + PostgreSQL, and the time from submit to a worker starting a job.

Not a test: `.venv/bin/python benchmarks/scaleout.py [--jobs 20] [--workers 1 2 4]
[--latency-samples 5] [--setups sqlite cluster]`. Each run gets a fresh temporary data dir
(and a fresh PostgreSQL database and empty Redis for `cluster`, real servers from
tests/servers.py), one `huey_worker.py --workers N` consumer, and the same generated clip
analysed with the real pipeline. Prints a line per run and one JSON document at the end.

Throughput = jobs / (last job finished - first job submitted), all jobs submitted at once.
Latency = started_at - queued_at of a job submitted to an idle worker, one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

JOB_SETTINGS = {"imgsz": 320, "frame_stride": 3}
CLIP_SECONDS = 1.2
CLIP_SIZE = (320, 180)
WORKER_START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 1800
POLL_S = 0.2


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL_S)
    raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")


def configure(data_dir: Path, env: dict[str, str]) -> None:
    """Point this process at a data dir (and servers) the way the test fixture does."""
    from backend.config import get_settings
    from backend.db import init_db, reset_engines
    from jobs import queue as job_queue

    for name in ("DATABASE_URL", "NETBALL_QUEUE_URL", "NETBALL_QUEUE_PATH"):
        os.environ.pop(name, None)
    os.environ.update(env)
    os.environ["NETBALL_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    reset_engines()
    job_queue.use_queue(None)
    get_settings().ensure_dirs()
    init_db()
    job_queue.install()


def start_worker(processes: int, log: Path) -> subprocess.Popen:
    from backend.db import session_scope
    from backend.services.workers import list_workers

    proc = subprocess.Popen(
        [sys.executable, "huey_worker.py", "--workers", str(processes)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "NETBALL_WORKER_HOST": "bench"},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def registered() -> bool:
        with session_scope() as session:
            return any(w.alive and w.pid == proc.pid for w in list_workers(session=session))

    wait_for(registered, WORKER_START_TIMEOUT_S, f"the worker to start (log {log})")
    return proc


def submit(clip: Path) -> str:
    from backend.db import session_scope
    from backend.services import jobs

    with session_scope() as session:
        return jobs.submit_path(session=session, source_path=clip, settings=JOB_SETTINGS).id


def finished_jobs(ids: list[str]) -> list | None:
    from backend.db import session_scope
    from backend.services import jobs

    with session_scope() as session:
        rows = [jobs.get_job(session=session, job_id=job_id) for job_id in ids]
    if any(row.status in {"failed", "cancelled"} for row in rows):
        bad = next(row for row in rows if row.status in {"failed", "cancelled"})
        raise RuntimeError(f"job {bad.id} {bad.status}: {bad.error}")
    return rows if all(row.status == "completed" for row in rows) else None


def run_one(setup: str, processes: int, args: argparse.Namespace, clip: Path, servers) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"courtside-bench-{setup}-"))
    env: dict[str, str] = {}
    if setup == "cluster":
        redis_server, postgres = servers
        redis_server.flushall()
        env = {"DATABASE_URL": postgres.create_database(), "NETBALL_QUEUE_URL": redis_server.url()}
    configure(folder / "data", env)
    worker = start_worker(processes, folder / "worker.log")
    try:
        # Warm-up: each analysis process loads the detector once; not part of the figures.
        warm = [submit(clip) for _ in range(processes)]
        wait_for(lambda: finished_jobs(warm), RUN_TIMEOUT_S, "warm-up jobs")
        latencies = []
        if processes == 1:
            for _ in range(args.latency_samples):
                job_id = submit(clip)
                (row,) = wait_for(lambda: finished_jobs([job_id]), RUN_TIMEOUT_S, "a job")  # noqa: B023
                latencies.append((row.started_at - row.queued_at).total_seconds())
        started = time.monotonic()
        ids = [submit(clip) for _ in range(args.jobs)]
        rows = wait_for(lambda: finished_jobs(ids), RUN_TIMEOUT_S, f"{args.jobs} jobs")
        wall_s = time.monotonic() - started
        first_queued = min(r.queued_at for r in rows)
        last_finished = max(r.finished_at for r in rows)
        span_s = (last_finished - first_queued).total_seconds()
        waits = [(r.started_at - r.queued_at).total_seconds() for r in rows]
        mean_wait_s = statistics.mean(waits)
        runs = [(r.finished_at - r.started_at).total_seconds() for r in rows]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
    result = {
        "setup": setup,
        "processes": processes,
        "jobs": args.jobs,
        "span_s": round(span_s, 2),
        "wall_s": round(wall_s, 2),
        "jobs_per_min": round(args.jobs / span_s * 60, 2),
        "mean_run_s": round(statistics.mean(runs), 2),
        "mean_wait_under_load_s": round(mean_wait_s, 2),
        "idle_start_latency_s": {
            "median": round(statistics.median(latencies), 3),
            "max": round(max(latencies), 3),
            "samples": len(latencies),
        }
        if latencies
        else None,
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--jobs", type=int, default=20)
    cli.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    cli.add_argument("--latency-samples", type=int, default=5)
    cli.add_argument("--setups", nargs="+", default=["sqlite", "cluster"])
    args = cli.parse_args()

    from tests import servers as server_kit
    from tests.synthetic import make_match_clip

    clip_dir = Path(tempfile.mkdtemp(prefix="courtside-bench-clip-"))
    clip = make_match_clip(clip_dir / "clip.mp4", seconds=CLIP_SECONDS, size=CLIP_SIZE).path
    servers = None
    if "cluster" in args.setups:
        reason = server_kit.unavailable_reason()
        if reason:
            print(f"cluster setup skipped: {reason}", file=sys.stderr)
            args.setups = [s for s in args.setups if s != "cluster"]
        else:
            servers = (server_kit.start_redis(), server_kit.start_postgres())
    results = []
    try:
        for setup in args.setups:
            for processes in args.workers:
                results.append(run_one(setup, processes, args, clip, servers))
    finally:
        if servers:
            for server in servers:
                server.stop()
        shutil.rmtree(clip_dir, ignore_errors=True)
    base = {r["setup"]: r["jobs_per_min"] for r in results if r["processes"] == 1}
    for r in results:
        r["speedup_vs_1"] = round(r["jobs_per_min"] / base[r["setup"]], 2)
    print(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
