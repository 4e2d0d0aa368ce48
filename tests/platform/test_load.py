"""Load, bounded and on loopback: 50 jobs submitted at once from several processes to 3
workers, and listing 10,000 jobs. Figures are printed for the reliability report."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlmodel import select

from backend.db import session_scope
from backend.models import Job, JobFile, Priority, utcnow
from backend.services import jobs as job_service
from tests.platform.test_worker_e2e import PROJECT_ROOT, wait_for
from tests.synthetic import make_plain_clip

LOAD_JOBS = 50
SUBMITTERS = 5
LOAD_WORKERS = 3
LOAD_TIMEOUT_S = 600
TINY = {"imgsz": 128, "frame_stride": 2, "team_sample_frames": 1}
LIST_JOBS = 10_000
LIST_LIMIT_S = 1.0
STATUS_POLL_S = 0.05
# Two jobs whose queue messages were both sent this long before either started are
# started in priority order (slack for a dequeue racing an enqueue, and for the claim).
PRIORITY_SLACK_S = 1.0

# Prints each job id with the time its queue message was sent (submit_path has returned).
SUBMITTER = """
import json, sys, time
import jobs.queue
from backend.db import session_scope
jobs.queue.install()
from backend.services import jobs
clip, priorities = sys.argv[1], json.loads(sys.argv[2])
for priority in priorities:
    with session_scope() as session:
        job = jobs.submit_path(session=session, source_path=clip, priority=priority,
                               settings=json.loads(sys.argv[3]))
        print(job.id, time.time(), flush=True)
"""


@pytest.mark.e2e
@pytest.mark.slow
def test_fifty_jobs_from_several_processes_on_three_workers(start_worker, tmp_path, capsys):
    clip = make_plain_clip(tmp_path / "tiny.mp4", frames=6, size=(160, 96))
    ranks = ["low", "normal", "high"]
    priorities = [ranks[i % 3] for i in range(LOAD_JOBS)]
    random.Random(12).shuffle(priorities)
    worker = start_worker(LOAD_WORKERS)
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                SUBMITTER,
                str(clip),
                json.dumps(priorities[i::SUBMITTERS]),
                json.dumps(TINY),
            ],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(SUBMITTERS)
    ]
    samples: dict[str, list[tuple[float, int]]] = defaultdict(list)
    slowest_status_s = 0.0
    stop = threading.Event()
    ids: list[str] = []
    enqueued_at: dict[str, float] = {}

    def poll() -> None:
        nonlocal slowest_status_s
        while not stop.is_set():
            for job_id in list(ids):
                began = time.perf_counter()
                with session_scope() as session:
                    job = job_service.get_job(session=session, job_id=job_id)
                slowest_status_s = max(slowest_status_s, time.perf_counter() - began)
                samples[job_id].append((job.progress, job.frames_done))
            time.sleep(STATUS_POLL_S)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            job_id, sent = line.split()
            ids.append(job_id)
            enqueued_at[job_id] = float(sent)
    assert len(ids) == len(set(ids)) == LOAD_JOBS

    def all_done() -> bool:
        with session_scope() as session:
            statuses = session.exec(select(Job.status)).all()
        return all(s in {"completed", "failed", "cancelled"} for s in statuses)

    try:
        wait_for(all_done, LOAD_TIMEOUT_S, f"all jobs to finish\n{worker.log_tail()}")
    finally:
        stop.set()
        poller.join(timeout=10)
    elapsed = time.monotonic() - started

    with session_scope() as session:
        jobs = session.exec(select(Job)).all()
        outputs = session.exec(select(JobFile).where(JobFile.role == "output")).all()
    assert len(jobs) == LOAD_JOBS
    assert {j.status for j in jobs} == {"completed"}, [j.error for j in jobs if j.error]
    log = Path(worker.log_path).read_text(errors="replace")
    # Why a job ran twice is in the worker's log: a worker process that died, and recovery.
    recovered = [line for line in log.splitlines() if "died" in line or "requeued" in line]
    assert {(j.attempts, j.crash_count) for j in jobs} == {(1, 0)}, recovered
    per_job = defaultdict(list)
    for row in outputs:
        per_job[row.job_id].append(row.relpath)
    assert all(len(v) == len(set(v)) and "outputs/summary.json" in v for v in per_job.values())
    assert set(per_job) == set(ids)
    starts = re.findall(r"job (\w+) started \(attempt", log)
    assert sorted(starts) == sorted(ids), "each job must be started exactly once"
    assert "database is locked" not in log and "DatabaseBusy" not in log
    for job_id, seen in samples.items():
        assert seen == sorted(seen), f"progress of {job_id} went backwards: {seen}"

    rank = {p.value: p.queue_rank for p in Priority}
    start = {j.id: j.started_at.timestamp() for j in jobs}
    inversions = [
        (a.id, b.id)
        for a in jobs
        for b in jobs
        if rank[a.priority] > rank[b.priority]
        and start[b.id] > max(enqueued_at[a.id], enqueued_at[b.id]) + PRIORITY_SLACK_S
        and start[b.id] + PRIORITY_SLACK_S < start[a.id]
    ]
    assert inversions == [], "a lower-priority job started while a higher one waited"
    per_min = LOAD_JOBS / elapsed * 60
    with capsys.disabled():
        print(
            f"\nload: {LOAD_JOBS} jobs from {SUBMITTERS} processes on {LOAD_WORKERS} workers in "
            f"{elapsed:.1f} s ({per_min:.1f} jobs/min); slowest status call "
            f"{slowest_status_s * 1000:.0f} ms"
        )


def _many_jobs(count: int) -> None:
    now = utcnow()
    statuses = ["completed"] * 6 + ["failed", "cancelled", "queued", "running"]
    rows = [
        {"id": f"load{i:08d}", "original_name": f"match {i}.mp4", "input_name": "m.mp4",
         "priority": "normal", "settings": {}, "video_info": {}, "status": statuses[i % 10],
         "created_at": now - timedelta(seconds=i), "queued_at": now - timedelta(seconds=i)}
        for i in range(count)
    ]  # fmt: skip
    with session_scope() as session:
        session.execute(insert(Job), rows)


def test_ten_thousand_jobs_list_in_under_a_second(session, data_dir, capsys):
    _many_jobs(LIST_JOBS)
    began = time.perf_counter()
    rows, total = job_service.list_jobs(session=session, status="completed", page=3)
    counts = job_service.count_jobs_by_status(session=session)
    service_s = time.perf_counter() - began
    assert total == LIST_JOBS * 6 // 10 and len(rows) == 20
    assert sum(counts.values()) == LIST_JOBS
    plan = " ".join(
        str(r) for r in session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM job WHERE status = 'completed' "
            "ORDER BY created_at DESC LIMIT 20"
        )
    )  # fmt: skip
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    began = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "backend", "jobs", "--json", "--page", "7"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    cli_s = time.perf_counter() - began
    assert cli.returncode == 0, cli.stderr
    listed = json.loads(cli.stdout)
    assert listed["total"] == LIST_JOBS and len(listed["jobs"]) == 20
    from tests.dashboard.apptest import open_page

    began = time.perf_counter()
    page = open_page("jobs.py")
    page_s = time.perf_counter() - began
    assert not page.exception
    assert service_s < LIST_LIMIT_S and page_s < LIST_LIMIT_S * 3
    with capsys.disabled():
        print(
            f"\n{LIST_JOBS} jobs: list+counts {service_s * 1000:.0f} ms in the service, "
            f"`jobs --json` {cli_s * 1000:.0f} ms wall (with Python start-up), Jobs page "
            f"{page_s * 1000:.0f} ms under AppTest"
        )
