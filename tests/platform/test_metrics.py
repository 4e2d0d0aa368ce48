"""Processor status, job metrics, throughput and health checks."""

from __future__ import annotations

import hashlib
from collections import namedtuple
from datetime import timedelta

import pytest

from backend.models import JobStatus, utcnow
from backend.services import metrics
from backend.services.workers import WORKER_HEARTBEAT_STALE_S, register_worker, stop_worker
from tests.platform.factories import make_job


def _finished(session, status, *, wait_s, run_s, ago, fps=None):
    job = make_job(session, status=status, fps=fps)
    finished = utcnow() - ago
    job.finished_at = finished
    job.started_at = finished - timedelta(seconds=run_s)
    job.queued_at = job.started_at - timedelta(seconds=wait_s)
    session.add(job)
    session.commit()
    return job


def test_processor_status_reads_heartbeat_and_queue(session):
    assert metrics.processor_status(session=session).consumer_alive is False
    worker = register_worker(session=session, processes=2, queue="test queue")
    make_job(session, priority="high")
    make_job(session, priority="low")
    make_job(session, priority="low")
    running = make_job(
        session, status=JobStatus.running, progress=0.4, worker_pid=123, worker_id=worker.id
    )
    status = metrics.processor_status(session=session)
    assert status.consumer_alive and status.configured_workers == 2
    assert [(w.id, w.alive, w.processes, w.running_jobs) for w in status.workers] == [
        (worker.id, True, 2, [running.id])
    ]
    assert status.queue_depth == {"low": 2, "normal": 0, "high": 1}
    assert status.queued_total == 3
    assert [(r.job_id, r.progress, r.worker_pid) for r in status.running] == [
        (running.id, 0.4, 123)
    ]
    assert status.to_dict()["running"][0]["job_id"] == running.id
    assert status.to_dict()["workers"][0]["running_jobs"] == [running.id]
    stop_worker(session=session, worker_id=worker.id)
    stopped = metrics.processor_status(session=session)
    assert not stopped.consumer_alive and stopped.workers[0].stopped_at is not None


def test_processor_status_lists_workers_of_every_host(session, monkeypatch):
    from backend.config import get_settings

    ids = {}
    for host in ("analysis-1", "analysis-2"):
        monkeypatch.setenv("NETBALL_WORKER_HOST", host)
        get_settings.cache_clear()
        ids[host] = register_worker(session=session, processes=1, queue="q").id
    status = metrics.processor_status(session=session)
    assert sorted((w.host, w.id) for w in status.workers) == sorted(
        (host, worker_id) for host, worker_id in ids.items()
    )
    assert status.configured_workers == 2


def test_stale_consumer_heartbeat_is_not_alive(session, monkeypatch):
    register_worker(session=session, processes=3, queue="q")
    later = utcnow() + timedelta(seconds=WORKER_HEARTBEAT_STALE_S + 1)
    monkeypatch.setattr("backend.services.workers.utcnow", lambda: later)
    status = metrics.processor_status(session=session)
    assert not status.consumer_alive and status.heartbeat_age_s > WORKER_HEARTBEAT_STALE_S


def test_job_metrics_and_throughput(session):
    _finished(session, JobStatus.completed, wait_s=2, run_s=10, ago=timedelta(minutes=5), fps=30)
    _finished(session, JobStatus.completed, wait_s=4, run_s=20, ago=timedelta(hours=3), fps=10)
    _finished(session, JobStatus.failed, wait_s=0, run_s=1, ago=timedelta(minutes=30))
    _finished(session, JobStatus.completed, wait_s=9, run_s=9, ago=timedelta(days=3), fps=99)
    m = metrics.job_metrics(session=session)
    assert (m.completed_last_hour, m.failed_last_hour) == (1, 1)
    assert (m.completed_last_day, m.failed_last_day) == (2, 1)
    assert m.mean_fps == 20.0
    assert m.mean_run_s == 15.0
    assert m.mean_wait_s == 2.0
    series = metrics.throughput_series(session=session, hours=6)
    assert len(series) == 6
    assert sum(h["completed"] for h in series) == 2 and sum(h["failed"] for h in series) == 1
    assert series[-1]["completed"] + series[-2]["completed"] >= 1


DiskUsage = namedtuple("DiskUsage", "total used free")


@pytest.mark.parametrize(
    ("free_fraction", "disk_status", "advice"),
    [
        (0.5, "ok", None),
        (0.08, "warn", "disk 92% full: run storage cleanup"),
        (0.02, "error", "disk 98% full: run storage cleanup now"),
    ],
)
def test_health_disk_thresholds(session, monkeypatch, free_fraction, disk_status, advice):
    total = 100 * 10**9
    usage = DiskUsage(total, total - int(total * free_fraction), int(total * free_fraction))
    monkeypatch.setattr(metrics.shutil, "disk_usage", lambda _path: usage)
    register_worker(session=session, processes=1, queue="q")
    report = metrics.health(session=session)
    checks = {c.name: c.status for c in report.checks}
    assert checks["disk"] == disk_status
    assert checks["database"] == checks["queue"] == checks["model"] == checks["workers"] == "ok"
    if advice:
        assert advice in report.recommendations
    else:
        assert report.recommendations == [] and report.status == "ok"


def test_health_without_worker_recommends_starting_it(session):
    make_job(session)
    report = metrics.health(session=session)
    workers = next(c for c in report.checks if c.name == "workers")
    assert workers.status == "error" and "no live worker (not running)" in workers.detail
    assert "start the worker: python huey_worker.py (./run.sh starts it)" in (
        report.recommendations
    )
    assert report.status == "error"


def test_health_describes_the_model_in_use(session, monkeypatch, tmp_path):
    from backend.pipeline.model import DEFAULT_WEIGHTS_SHA256, default_weights_path

    report = metrics.health(session=session)
    assert report.to_dict()["model"] == {
        "name": "yolov8n.pt",
        "path": str(default_weights_path()),
        "size_bytes": default_weights_path().stat().st_size,
        "sha256": DEFAULT_WEIGHTS_SHA256,
        "verified": True,
        "custom": False,
    }
    custom = tmp_path / "netball.pt"
    custom.write_bytes(b"not really weights")
    monkeypatch.setenv("NETBALL_MODEL", str(custom))
    from backend.config import get_settings

    get_settings.cache_clear()
    model = metrics.health(session=session).model
    assert (model["name"], model["size_bytes"], model["verified"]) == ("netball.pt", 18, False)
    assert model["sha256"] == hashlib.sha256(b"not really weights").hexdigest()


def test_health_flags_a_broken_model(session, monkeypatch, tmp_path):
    monkeypatch.setenv("NETBALL_MODEL", str(tmp_path / "missing.pt"))
    from backend.config import get_settings

    get_settings.cache_clear()
    report = metrics.health(session=session)
    model = next(c for c in report.checks if c.name == "model")
    assert model.status == "error" and "does not exist" in model.detail


def test_health_warns_about_queued_jobs_without_queue_message(session, tmp_path):
    from backend.services.jobs import submit_path
    from jobs.queue import get_queue
    from tests.synthetic import make_plain_clip

    register_worker(session=session, processes=1, queue="q")
    job = submit_path(session=session, source_path=make_plain_clip(tmp_path / "a.mp4", frames=5))
    assert next(c for c in metrics.health(session=session).checks if c.name == "queue").status == (
        "ok"
    )
    get_queue().huey.flush()  # the queue file was lost or reset
    report = metrics.health(session=session)
    queue = next(c for c in report.checks if c.name == "queue")
    assert queue.status == "warn" and "1 queued job(s) have no queue message" in queue.detail
    assert job.status == "queued"
