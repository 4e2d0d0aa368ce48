"""Recovery of jobs nobody looks after any more: running jobs whose worker or analysis
process is gone (re-queued while attempts remain, else failed) and queued jobs whose queue
message was lost. Any host can tell a registered worker is gone from its heartbeat row;
process ids are only ever checked on the host they belong to.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.models import Job, JobStatus, WorkerProcess, utcnow
from backend.services.jobs import requeue
from backend.services.runner import (
    _append_log,
    cancel_running_job,
    fail_job,
    return_to_queue,
    this_host,
)
from backend.services.workers import get_worker, worker_is_alive

WORKER_PROCESS_MARKER = b"huey_worker"

log = logging.getLogger(__name__)


def _pid_is_dead(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        # A killed child its parent has not reaped yet still answers kill(0) as a zombie.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in {"Z", "X"}


def _is_worker_process(pid: int | None) -> bool:
    """Whether `pid` is (still) a Courtside worker, not an unrelated process reusing the id."""
    if pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return WORKER_PROCESS_MARKER in cmdline


def local_worker_alive(pid: int) -> bool:
    """Whether `pid`, on this host, is a live Courtside worker process (not a reused id)."""
    return not _pid_is_dead(pid) and _is_worker_process(pid)


@dataclass(frozen=True)
class RecoveryAction:
    job_id: str
    action: str  # "requeued" | "failed" | "cancelled"
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"job_id": self.job_id, "action": self.action, "reason": self.reason}


def _why_gone(session: Session, job: Job, workers: dict[str, WorkerProcess | None]) -> str | None:
    """Why nobody looks after this running job any more, or None while someone does."""
    settings = get_settings()
    local = job.worker_host == this_host()
    silent = job.heartbeat_at is None or (utcnow() - job.heartbeat_at).total_seconds() > (
        settings.heartbeat_timeout_s
    )
    if job.worker_id is not None:
        if job.worker_id not in workers:
            workers[job.worker_id] = get_worker(session=session, worker_id=job.worker_id)
        worker = workers[job.worker_id]
        if worker is None:
            return f"its worker {job.worker_id} on {job.worker_host} is no longer registered"
        if not worker_is_alive(worker):
            if worker.stopped_at is not None:
                return f"worker {worker.host} pid {worker.pid} stopped"
            age = (utcnow() - worker.heartbeat_at).total_seconds()
            return f"worker {worker.host} pid {worker.pid} sent no heartbeat for {age:.0f} s"
        # Its consumer lives: only that host can tell whether the analysis process does.
        if not local:
            return None
    if local and _pid_is_dead(job.worker_pid):
        return f"worker process {job.worker_pid} on {job.worker_host} stopped"
    # A live analysis process on this host is never taken over for silence alone (after a
    # laptop sleep every heartbeat is old): two processes would then run one job. A hung one
    # shows up in `health` instead. Jobs of a worker without a registry row (older versions)
    # are judged by their own heartbeat.
    if silent and not (local and _is_worker_process(job.worker_pid)):
        return f"no heartbeat for over {settings.heartbeat_timeout_s:.0f} s"
    return None


def recover_stale_jobs(*, session: Session) -> list[RecoveryAction]:
    """Running jobs whose worker is gone: re-queue while attempts remain, else fail them.

    Gone means: the job's registered worker stopped or its heartbeat is older than
    WORKER_HEARTBEAT_STALE_S (any host can tell), or the analysis process on this host no
    longer exists, or (workers without a registry row) the job's own heartbeat is older than
    NETBALL_HEARTBEAT_TIMEOUT_S.
    """
    settings = get_settings()
    actions = []
    workers: dict[str, WorkerProcess | None] = {}
    running = session.exec(select(Job).where(Job.status == JobStatus.running.value)).all()
    for job in running:
        session.refresh(job)
        why = _why_gone(session, job, workers)
        if why is None:
            continue
        # Conditional: two hosts recovering at once must not both count (and re-queue) it.
        taken = session.execute(
            update(Job)
            .where(
                col(Job.id) == job.id,
                col(Job.status) == JobStatus.running.value,
                col(Job.attempts) == job.attempts,
                col(Job.crash_count) == job.crash_count,
            )
            .values(crash_count=Job.crash_count + 1)
        )
        session.commit()
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            continue
        session.refresh(job)
        if job.cancel_requested:
            action = RecoveryAction(job.id, "cancelled", f"{why}; cancel had been requested")
        elif job.crash_count < settings.max_attempts:
            action = RecoveryAction(
                job.id, "requeued", f"{why} during attempt {job.attempts}; re-queued automatically"
            )
        else:
            action = RecoveryAction(
                job.id,
                "failed",
                f"{why} during attempt {job.attempts}; gave up after {job.crash_count} "
                f"interrupted attempt(s) (NETBALL_MAX_ATTEMPTS={settings.max_attempts})",
            )
        _append_log(job.id, f"RECOVERY: job {action.action}: {action.reason}")
        if action.action == "cancelled":
            cancel_running_job(session=session, job_id=job.id)
        elif action.action == "requeued":
            return_to_queue(session=session, job_id=job.id, note=action.reason)
        else:
            fail_job(session=session, job_id=job.id, reason=action.reason)
        log.warning("job %s %s: %s", job.id, action.action, action.reason)
        actions.append(action)
    return actions


def requeue_lost_jobs(*, session: Session, pending_task_ids: set[str]) -> list[RecoveryAction]:
    """Queued jobs whose queue message is gone (a worker died between dequeue and claim)."""
    actions = []
    queued = session.exec(select(Job).where(Job.status == JobStatus.queued.value)).all()
    for job in queued:
        if job.queue_task_id in pending_task_ids:
            continue
        requeue(session=session, job=job)
        actions.append(RecoveryAction(job.id, "requeued", "queue message was lost"))
    return actions
