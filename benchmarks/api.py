"""REST API figures on loopback: 1 GB upload throughput with peak server RSS, and p50/p99
latency of GET /jobs/{id}/status and GET /jobs under concurrent clients with many jobs.

Not a test: `.venv/bin/python benchmarks/api.py [--upload-mb 1024] [--jobs 10000]
[--clients 20] [--requests 4000]`. Runs on a temporary data dir with its own uvicorn process
(no worker: the uploaded job stays queued and is deleted afterwards). Prints one JSON line.
Bounded: every phase stops at --max-phase-s even if its request count is not reached.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

BODY_CHUNK_BYTES = 1 << 20
RSS_SAMPLE_S = 0.05
SERVER_START_TIMEOUT_S = 30
BOUNDARY = "courtsidebenchmark"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def padded_mp4_parts(clip: bytes, pad_bytes: int) -> tuple[list[bytes], int]:
    """A real MP4 followed by one top-level `free` box of `pad_bytes`: still a valid file that
    probes as the clip, so the upload is accepted like a long match would be."""
    box_header = (1).to_bytes(4, "big") + b"free" + (16 + pad_bytes).to_bytes(8, "big")
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="priority"\r\n\r\nlow\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="video"; filename="long.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    parts = [head + clip + box_header, tail]
    return parts, sum(map(len, parts)) + pad_bytes


def upload_body(parts: list[bytes], pad_bytes: int) -> Iterator[bytes]:
    yield parts[0]
    zeros = bytes(BODY_CHUNK_BYTES)
    left = pad_bytes
    while left > 0:
        yield zeros[: min(left, BODY_CHUNK_BYTES)]
        left -= BODY_CHUNK_BYTES
    yield parts[1]


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(RSS_SAMPLE_S)


def measure_upload(port: int, pid: int, upload_mb: int) -> dict:
    from tests.synthetic import make_plain_clip

    with tempfile.TemporaryDirectory() as folder:
        clip = make_plain_clip(Path(folder) / "clip.mp4", frames=25).read_bytes()
    pad = upload_mb * 1024 * 1024 - len(clip)
    parts, length = padded_mp4_parts(clip, pad)
    rss_before = psutil.Process(pid).memory_info().rss
    sampler = RssSampler(pid)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request(
        "POST",
        "/analyze",
        body=upload_body(parts, pad),
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(length),
        },
    )
    reply = conn.getresponse()
    body = json.loads(reply.read())
    elapsed = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    if reply.status != 202:
        raise SystemExit(f"upload refused: {reply.status} {body}")
    job_id = body["data"]["id"]
    conn.request("DELETE", f"/jobs/{job_id}")
    conn.getresponse().read()
    conn.close()
    return {
        "upload_mb": upload_mb,
        "upload_s": round(elapsed, 2),
        "upload_mb_per_s": round(length / 1024**2 / elapsed, 1),
        "server_rss_before_mb": round(rss_before / 1024**2, 1),
        "server_rss_peak_mb": round(sampler.peak / 1024**2, 1),
    }


def finished_summary() -> dict:
    """A summary shaped like a finished job's (stage 1's sections plus stage 2's), ~3.5 KB of
    JSON: the list endpoint must not pay for parsing it on every row."""
    from backend.pipeline.settings import PipelineSettings

    counts = {f"count_{index}": index * 37 for index in range(60)}
    per_player = {f"{track}": {"passes": track, "distance_m": track * 41.5} for track in range(24)}
    return {
        "settings": PipelineSettings().to_dict(),
        "counts": counts,
        "timings": {"model_load_s": 2.8, "team_fit_s": 1.1, "main_pass_s": 1800.0},
        "analytics": {"players": per_player, "warnings": ["calibrate the court"] * 3},
    }


def seed_jobs(count: int) -> list[str]:
    from backend.db import session_scope
    from backend.models import Job, JobStatus, utcnow

    statuses = [s.value for s in JobStatus]
    summary = finished_summary()
    now = utcnow()
    ids = []
    with session_scope() as session:
        for index in range(count):
            job = Job(
                original_name=f"match-{index:05d}.mp4",
                input_name=f"match-{index:05d}.mp4",
                status=statuses[index % len(statuses)],
                progress=1.0 if index % len(statuses) == 2 else 0.3,
                frames_done=900,
                frames_total=3000,
                summary=summary if statuses[index % len(statuses)] == "completed" else None,
            )
            job.created_at = job.queued_at = now - timedelta(seconds=index)
            session.add(job)
            ids.append(job.id)
        session.commit()
    return ids


async def _client(port: int, paths: list[str], latencies: list[float], deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for path in paths:
            if time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{path}: {head[:40]!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def measure_latency(port: int, paths: list[str], clients: int, requests: int, max_s: float) -> dict:
    latencies: list[float] = []
    per_client = max(1, requests // clients)

    async def run() -> None:
        deadline = time.perf_counter() + max_s
        await asyncio.gather(
            *(
                _client(
                    port,
                    [paths[(c * per_client + i) % len(paths)] for i in range(per_client)],
                    latencies,
                    deadline,
                )
                for c in range(clients)
            )
        )

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "rps": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=4000, help="per endpoint")
    parser.add_argument("--max-phase-s", type=float, default=60.0)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="courtside-apibench-"))
    os.environ.update(NETBALL_DATA_DIR=str(data), NETBALL_MAX_UPLOAD_MB=str(args.upload_mb + 16))
    for name in ("NETBALL_API_KEY", "NETBALL_API_KEY_READS", "DATABASE_URL", "NETBALL_QUEUE_PATH"):
        os.environ.pop(name, None)
    from backend.db import init_db

    init_db()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/jobs")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the API did not start") from None
                time.sleep(0.2)
        figures: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
        figures["upload"] = measure_upload(port, server.pid, args.upload_mb)
        ids = seed_jobs(args.jobs)
        figures["jobs_in_db"] = len(ids)
        status_paths = [f"/jobs/{job_id}/status" for job_id in ids[:: max(1, len(ids) // 500)]]
        list_paths = ["/jobs?page=1&page_size=20", "/jobs?page=7&page_size=20&status=completed"]
        for name, paths in (("status", status_paths), ("list", list_paths)):
            # A short warm-up so first-request costs (imports, SQLite cache) are not counted.
            measure_latency(port, paths, args.clients, args.clients * 5, args.max_phase_s)
            figures[name] = measure_latency(
                port, paths, args.clients, args.requests, args.max_phase_s
            )
        figures["server_rss_end_mb"] = round(
            psutil.Process(server.pid).memory_info().rss / 1024**2, 1
        )
        figures["load_after"] = os.getloadavg()[0]
        print(json.dumps(figures))
    finally:
        server.terminate()
        server.wait(timeout=10)
        import shutil

        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
