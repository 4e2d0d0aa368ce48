"""State changes made by the worker while it runs a job: claim, progress, finish (recovery of
jobs whose worker is gone: recovery.py).

These are the only writes a worker makes; the task in jobs/tasks.py strings them together.
A job records the host, pid and registered worker (consumer) running it. Whether it is still
looked after is read from that worker's heartbeat row, from any host; process ids are only
ever checked on the host they belong to.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.db import session_scope
from backend.models import Job, JobPhase, JobStatus, utcnow
from backend.services.errors import DatabaseBusy
from backend.services.files import clear_job_outputs, job_dir, job_outputs_dir, register_outputs
from backend.services.filestore import job_store
from backend.services.jobs import requeue

PROGRESS_MIN_INTERVAL_S = 1.0
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_TEXT = "No space left on device"
# The share of the frames below which scaling up what was written says little: an estimate
# then uses this share (a disk that filled at once still gets "about N MB").
DISK_NEED_MIN_SHARE = 0.05
CANCEL_CHECK_MIN_INTERVAL_S = 1.0
ERROR_MAX_CHARS = 500

log = logging.getLogger(__name__)

# The registered consumer this process belongs to; set by huey_worker.py before it forks the
# analysis processes, which inherit it. None outside a worker (tests, `analyze`).
_current_worker_id: str | None = None


def set_current_worker(worker_id: str | None) -> None:
    global _current_worker_id
    _current_worker_id = worker_id


def current_worker_id() -> str | None:
    return _current_worker_id


def this_host() -> str:
    return get_settings().worker_host


def claim_job(*, session: Session, job_id: str, prepare: bool = True) -> Job | None:
    """Move a queued job to running for this process; None if it was cancelled or deleted.

    A single conditional UPDATE, so two workers can never both claim one job. `prepare=False`
    stops after it (the caller then calls `prepare_claimed`), so a caller retrying on a locked
    database never repeats a claim that had already been committed.
    """
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(
            col(Job.id) == job_id,
            col(Job.status) == JobStatus.queued.value,
            col(Job.cancel_requested).is_(False),
        )
        .values(
            status=JobStatus.running.value,
            phase=JobPhase.starting.value,
            started_at=now,
            heartbeat_at=now,
            attempts=Job.attempts + 1,
            worker_pid=os.getpid(),
            worker_host=this_host(),
            worker_id=_current_worker_id,
            progress=0.0,
            frames_done=0,
            error=None,
        )
    )
    session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return prepare_claimed(session=session, job_id=job_id) if prepare else session.get(Job, job_id)


def prepare_claimed(*, session: Session, job_id: str) -> Job:
    """Empty the outputs of a job this process just claimed; returns the fresh row."""
    # Leftovers of an attempt whose worker died must not mix with this attempt's outputs.
    clear_job_outputs(session=session, job_id=job_id)
    job_outputs_dir(job_id).mkdir(parents=True, exist_ok=True)
    job = session.get(Job, job_id)
    assert job is not None
    session.refresh(job)
    return job


def input_path(job: Job) -> Path:
    return job_dir(job.id) / "input" / job.input_name


class ProgressRecorder:
    """Writes progress and heartbeat at most once per PROGRESS_MIN_INTERVAL_S and reads the
    cancel flag at most once per CANCEL_CHECK_MIN_INTERVAL_S, so a fast pipeline loop does not
    turn into a database load."""

    def __init__(self, job_id: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id = job_id
        self._clock = clock
        self._last_write = float("-inf")
        self._last_cancel_check = float("-inf")
        self._cancel = False
        self._phase: str | None = None
        # Progress and heartbeat writes given up because the database was locked.
        self.dropped_writes = 0
        self.frames_done, self.frames_total = 0, None

    def record(
        self,
        frames_done: int,
        frames_total: int | None,
        fps: float | None,
        eta_s: float | None,
        *,
        phase: str | None = None,
        force: bool = False,
    ) -> bool:
        """`phase` (a JobPhase value) is written at once when it changes: a phase is what the
        Jobs page shows while the frame count still reads 0."""
        self.frames_done, self.frames_total = frames_done, frames_total
        now = self._clock()
        new_phase = phase is not None and phase != self._phase
        if not force and not new_phase and now - self._last_write < PROGRESS_MIN_INTERVAL_S:
            return False
        self._last_write = now
        progress = min(1.0, frames_done / frames_total) if frames_total else 0.0
        values = {}
        if phase is not None:
            self._phase = values["phase"] = JobPhase(phase).value
        try:
            with session_scope() as session:
                session.execute(
                    update(Job)
                    .where(col(Job.id) == self.job_id)
                    .values(
                        frames_done=frames_done,
                        frames_total=frames_total,
                        fps=fps,
                        eta_s=eta_s,
                        progress=progress,
                        heartbeat_at=utcnow(),
                        **values,
                    )
                )
        except (DatabaseBusy, SQLAlchemyError) as exc:
            # Progress is a view, not a result: the next update carries the newer figures
            # (and the phase again, as it was not written).
            self.dropped_writes += 1
            self._phase = None
            log.warning("job %s: progress update dropped (%s)", self.job_id, _short(exc))
            return False
        return True

    def heartbeat(self) -> None:
        try:
            with session_scope() as session:
                session.execute(
                    update(Job).where(col(Job.id) == self.job_id).values(heartbeat_at=utcnow())
                )
        except (DatabaseBusy, SQLAlchemyError) as exc:
            self.dropped_writes += 1
            log.warning("job %s: heartbeat dropped (%s)", self.job_id, _short(exc))

    def cancel_requested(self) -> bool:
        """True when the analyst cancelled, the row was deleted, or the job is no longer this
        process's: recovered by another host that took this one for dead (a long pause), so
        two processes must not go on writing one shared job folder."""
        now = self._clock()
        if not self._cancel and now - self._last_cancel_check >= CANCEL_CHECK_MIN_INTERVAL_S:
            self._last_cancel_check = now
            try:
                with session_scope() as session:
                    row = session.exec(
                        select(
                            Job.cancel_requested, Job.status, Job.worker_pid, Job.worker_host
                        ).where(Job.id == self.job_id)
                    ).first()
            except (DatabaseBusy, SQLAlchemyError):
                return self._cancel  # asked again at the next check
            if row is None:
                self._cancel = True  # a deleted row also means: stop
            else:
                flag, status, pid, host = row
                owned = status == JobStatus.running.value and (pid, host) == (
                    os.getpid(),
                    this_host(),
                )
                self._cancel = bool(flag) or not owned
        return self._cancel


def _finish(
    session: Session,
    job_id: str,
    status: JobStatus,
    error: str | None,
    summary: dict | None = None,
) -> Job | None:
    job = session.get(Job, job_id)
    if job is None:
        return None
    session.refresh(job)
    register_outputs(session=session, job_id=job_id)
    job.status = status.value
    job.phase = JobPhase.done.value
    job.finished_at = utcnow()
    job.heartbeat_at = job.finished_at
    job.error = error[:ERROR_MAX_CHARS] if error else None
    job.eta_s = 0.0 if status is JobStatus.completed else None
    if status is JobStatus.completed:
        job.progress = 1.0
    if summary is not None:
        job.summary = summary
        if job.frames_total:
            job.frames_done = job.frames_total
        processing_fps = (summary.get("timings") or {}).get("processing_fps")
        if isinstance(processing_fps, int | float):
            job.fps = float(processing_fps)
    session.add(job)
    session.commit()
    return job


def complete_job(*, session: Session, job_id: str, summary: dict | None = None) -> Job | None:
    # One commit with the summary: the dashboard must never see 'completed' without results.
    return _finish(session, job_id, JobStatus.completed, None, summary)


def fail_job(*, session: Session, job_id: str, reason: str) -> Job | None:
    return _finish(session, job_id, JobStatus.failed, reason)


def cancel_running_job(*, session: Session, job_id: str) -> Job | None:
    return _finish(session, job_id, JobStatus.cancelled, None)


def return_to_queue(*, session: Session, job_id: str, note: str) -> Job | None:
    """A worker is shutting down mid-job: queue the job again for the next worker."""
    job = session.get(Job, job_id)
    if job is None:
        return None
    session.refresh(job)
    if job.cancel_requested:
        return cancel_running_job(session=session, job_id=job_id)
    job.status = JobStatus.queued.value
    job.phase = JobPhase.queued.value
    job.error = note
    job.queued_at, job.started_at, job.heartbeat_at = utcnow(), None, None
    job.worker_pid = job.worker_id = None
    # Else a queued job shows the stopped attempt's "63 %, ETA 12 s" until it starts again.
    job.progress, job.frames_done, job.fps, job.eta_s = 0.0, 0, None, None
    session.add(job)
    session.commit()
    requeue(session=session, job=job)
    return job


def still_owned(*, session: Session, job_id: str) -> bool:
    """True while the job is running under this process (not recovered and given to another)."""
    job = session.get(Job, job_id)
    if job is None:
        return False
    session.refresh(job)
    return (
        job.status == JobStatus.running.value
        and job.worker_pid == os.getpid()
        and job.worker_host == this_host()
    )


def is_disk_full(exc: BaseException | None) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "errno", None) in DISK_FULL_ERRNOS or DISK_FULL_TEXT in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_reason(
    exc: BaseException,
    *,
    frames_done: int,
    frames_total: int | None,
    bytes_written: int | None = None,
) -> str | None:
    """The job's error when `exc` (or what caused it) is a full disk, else None.

    Says how much is free and how much the analysis needs: what it had written when the disk
    filled, scaled up by the share of frames it had reached (at least that much is needed).
    """
    if not is_disk_full(exc):
        return None
    data_dir = get_settings().data_dir
    free = shutil.disk_usage(data_dir).free
    written = bytes_written if bytes_written is not None else getattr(exc, "bytes_written", 0)
    share = frames_done / frames_total if frames_total else 0.0
    needed = written / max(share, DISK_NEED_MIN_SHARE) if written else 0
    need_text = (
        f"it needs about {_mb(needed)} MB ({_mb(written)} MB were written by frame "
        f"{frames_done} of {frames_total})"
        if needed
        else "it needs more space than that"
    )
    return (
        f"disk full while writing the outputs: {_mb(free)} MB free on {data_dir}; {need_text}. "
        "Free space (Admin clean-up or `python -m backend storage cleanup`), then retry."
    )


def discard_outputs(job_id: str) -> int:
    """Remove the job's output files except run.log (results that cannot be recorded must not
    stay, and on a full disk their space is what lets the failure itself be written);
    returns the bytes freed."""
    freed = 0
    folder = job_outputs_dir(job_id)
    for path in sorted(folder.rglob("*"), reverse=True) if folder.is_dir() else []:
        if path.is_file() and path.name != "run.log":
            freed += path.stat().st_size
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    return freed


def _mb(size_bytes: float) -> str:
    return f"{size_bytes / 1024**2:.1f}"


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:ERROR_MAX_CHARS]


def _append_log(job_id: str, line: str) -> None:
    store = job_store()
    if store.exists(job_id):
        store.append_text(job_id, "outputs/run.log", f"{utcnow().isoformat()}Z {line}\n")
