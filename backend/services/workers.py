"""The worker registry: every `huey_worker.py` consumer, on any host, with its heartbeat.

Each consumer registers a `worker` row (host, pid, start time) when it starts and beats it
every WORKER_HEARTBEAT_INTERVAL_S. Whether a worker is alive is read from that row alone, so
a status page, a CLI or another worker on any machine answers the same way; no one needs to
see another host's processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.models import Job, JobStatus, WorkerProcess, utcnow

# The consumer beats every WORKER_HEARTBEAT_INTERVAL_S; three missed beats mean it is gone.
WORKER_HEARTBEAT_INTERVAL_S = 2.0
WORKER_HEARTBEAT_STALE_S = 3 * WORKER_HEARTBEAT_INTERVAL_S + 1.0
# Rows of stopped or vanished workers stay this long for the status pages, then go.
WORKER_ROW_KEEP_S = 24 * 3600.0


def worker_is_alive(worker: WorkerProcess, *, now: datetime | None = None) -> bool:
    if worker.stopped_at is not None:
        return False
    age = ((now or utcnow()) - worker.heartbeat_at).total_seconds()
    return age <= WORKER_HEARTBEAT_STALE_S


@dataclass(frozen=True)
class WorkerStatus:
    id: str
    host: str
    pid: int
    processes: int
    queue: str
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_s: float
    alive: bool
    stopped_at: datetime | None
    running_jobs: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "processes": self.processes,
            "queue": self.queue,
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
            "heartbeat_age_s": self.heartbeat_age_s,
            "alive": self.alive,
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "running_jobs": list(self.running_jobs),
        }


def register_worker(*, session: Session, processes: int, queue: str) -> WorkerProcess:
    """A row for the consumer running this code (this host's NETBALL_WORKER_HOST, this pid)."""
    worker = WorkerProcess(
        host=get_settings().worker_host, pid=os.getpid(), processes=processes, queue=queue
    )
    session.add(worker)
    session.commit()
    session.refresh(worker)
    return worker


def beat_worker(*, session: Session, worker_id: str) -> None:
    """The consumer is alive. A row marked stopped by another host's recovery comes back:
    this consumer is plainly not dead (a long pause, a network cut), though its jobs of then
    have been handed on."""
    session.execute(
        update(WorkerProcess)
        .where(col(WorkerProcess.id) == worker_id)
        .values(heartbeat_at=utcnow(), stopped_at=None)
    )
    session.commit()


def stop_worker(*, session: Session, worker_id: str) -> None:
    session.execute(
        update(WorkerProcess)
        .where(col(WorkerProcess.id) == worker_id, col(WorkerProcess.stopped_at).is_(None))
        .values(stopped_at=utcnow())
    )
    session.commit()


def get_worker(*, session: Session, worker_id: str | None) -> WorkerProcess | None:
    if worker_id is None:
        return None
    worker = session.get(WorkerProcess, worker_id)
    if worker is not None:
        session.refresh(worker)
    return worker


def live_workers_on_host(*, session: Session, host: str) -> list[WorkerProcess]:
    """Registered consumers on `host` whose heartbeat is fresh."""
    rows = session.exec(
        select(WorkerProcess).where(
            WorkerProcess.host == host, col(WorkerProcess.stopped_at).is_(None)
        )
    ).all()
    now = utcnow()
    return [row for row in rows if worker_is_alive(row, now=now)]


def list_workers(*, session: Session) -> list[WorkerStatus]:
    """Every worker seen within WORKER_ROW_KEEP_S, live ones first, each with its running jobs."""
    now = utcnow()
    since = now - timedelta(seconds=WORKER_ROW_KEEP_S)
    rows = session.exec(
        select(WorkerProcess)
        .where(col(WorkerProcess.heartbeat_at) >= since)
        .order_by(col(WorkerProcess.host), col(WorkerProcess.started_at))
    ).all()
    jobs_by_worker: dict[str, list[str]] = {}
    for job_id, worker_id in session.exec(
        select(Job.id, Job.worker_id)
        .where(Job.status == JobStatus.running.value, col(Job.worker_id).is_not(None))
        .order_by(col(Job.started_at))
    ).all():
        jobs_by_worker.setdefault(worker_id, []).append(job_id)
    statuses = [
        WorkerStatus(
            id=row.id,
            host=row.host,
            pid=row.pid,
            processes=row.processes,
            queue=row.queue,
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            heartbeat_age_s=round((now - row.heartbeat_at).total_seconds(), 2),
            alive=worker_is_alive(row, now=now),
            stopped_at=row.stopped_at,
            running_jobs=jobs_by_worker.get(row.id, []),
        )
        for row in rows
    ]
    return sorted(statuses, key=lambda w: not w.alive)


def prune_workers(*, session: Session) -> int:
    """Forget workers silent for longer than WORKER_ROW_KEEP_S; returns how many."""
    cutoff = utcnow() - timedelta(seconds=WORKER_ROW_KEEP_S)
    result = session.execute(
        delete(WorkerProcess).where(
            or_(col(WorkerProcess.heartbeat_at) < cutoff, col(WorkerProcess.stopped_at) < cutoff)
        )
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
