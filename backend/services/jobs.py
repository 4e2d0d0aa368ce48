"""Job lifecycle seen from the analyst: submit, list, cancel, retry, delete, relabel.

Every state change goes through these functions; the UI, the CLI and the worker call them.
Submitting lives in backend.services.uploads and is re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, or_, update
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from backend.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    Job,
    JobPhase,
    JobStatus,
    Priority,
    utcnow,
)
from backend.pipeline.settings import PipelineSettings
from backend.services import queue as job_queue
from backend.services.errors import (
    InvalidArgument,
    JobNotFound,
    JobStateError,
    StorageError,
)
from backend.services.files import clear_job_outputs, purge_job
from backend.services.filestore import job_store
from backend.services.uploads import (
    InboxVideo,
    check_calibration,
    check_upload,
    default_analysis_settings,
    inspect_upload,
    list_inbox,
    submit_path,
    submit_upload,
)

__all__ = [
    "ACTIVE_STATUSES",
    "FINISHED_STATUSES",
    "JOB_STATUSES",
    "InboxVideo",
    "JobAction",
    "allowed_actions",
    "cancel_job",
    "check_calibration",
    "check_upload",
    "count_jobs_by_status",
    "default_analysis_settings",
    "delete_job",
    "get_job",
    "has_results",
    "inspect_upload",
    "list_inbox",
    "list_jobs",
    "read_job_log",
    "requeue",
    "retry_job",
    "submit_path",
    "submit_upload",
    "update_job_labels",
]

PAGE_SIZE_MAX = 200
RUN_LOG = "outputs/run.log"
# Every status in lifecycle order, for filters and choosers.
JOB_STATUSES: tuple[str, ...] = tuple(status.value for status in JobStatus)


class JobAction(StrEnum):
    cancel = "cancel"
    retry = "retry"
    delete = "delete"


# The one table of what a job's status allows; the dashboard, CLI and API all read it.
_ACTIONS_BY_STATUS: dict[JobStatus, frozenset[JobAction]] = {
    JobStatus.queued: frozenset({JobAction.cancel, JobAction.delete}),
    JobStatus.running: frozenset({JobAction.cancel}),
    JobStatus.completed: frozenset({JobAction.delete}),
    JobStatus.failed: frozenset({JobAction.retry, JobAction.delete}),
    JobStatus.cancelled: frozenset({JobAction.retry, JobAction.delete}),
}


def allowed_actions(job: Job | str) -> frozenset[JobAction]:
    """The actions a job in this status (a Job or a status string) accepts."""
    status = JobStatus(job if isinstance(job, str) else job.status)
    return _ACTIONS_BY_STATUS[status]


def has_results(job: Job | str) -> bool:
    """Whether the job's outputs are final (only a completed job has results to read)."""
    return JobStatus(job if isinstance(job, str) else job.status) is JobStatus.completed


def list_jobs(
    *,
    session: Session,
    status: str | None = None,
    search: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    page: int = 1,
    page_size: int = 20,
    include_summary: bool = True,
) -> tuple[list[Job], int]:
    """One page of jobs, newest first, and the total number matching the filters.

    `include_summary=False` leaves each finished job's summary (several KB of JSON, parsed per
    row) unloaded, for readers that never show it (the API's job list); touching it later
    loads it, one query a job.
    """
    if page < 1:
        raise InvalidArgument(f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise InvalidArgument(f"page_size must be between 1 and {PAGE_SIZE_MAX}, got {page_size}")
    conditions = []
    if status:
        try:
            conditions.append(Job.status == JobStatus(status).value)
        except ValueError:
            raise InvalidArgument(
                f"unknown status {status!r}; expected one of "
                f"{', '.join(s.value for s in JobStatus)}"
            ) from None
    if search and search.strip():
        pattern = f"%{search.strip()}%"
        conditions.append(or_(col(Job.original_name).ilike(pattern), col(Job.id).ilike(pattern)))
    if created_from is not None:
        conditions.append(Job.created_at >= created_from)
    if created_to is not None:
        conditions.append(Job.created_at <= created_to)
    # A plain count over the table (an index serves it), not one over a subquery of whole rows.
    total = session.exec(select(func.count()).select_from(Job).where(*conditions)).one()
    query = select(Job) if include_summary else select(Job).options(defer(Job.summary))
    rows = session.exec(
        query.where(*conditions)
        .order_by(col(Job.created_at).desc(), col(Job.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), int(total)


def get_job(*, session: Session, job_id: str) -> Job:
    # populate_existing: one query that also refreshes a copy this session already holds
    # (a worker may have moved the job on since), instead of a get and then a refresh.
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise JobNotFound(job_id)
    return job


def cancel_job(*, session: Session, job_id: str) -> Job:
    """Queued: revoked at once. Running: flagged; the worker stops within a few seconds."""
    job = get_job(session=session, job_id=job_id)
    if job.status_enum is JobStatus.queued:
        # Conditional, so a worker claiming the job at this instant cannot be overwritten.
        revoked = session.execute(
            update(Job)
            .where(col(Job.id) == job.id, col(Job.status) == JobStatus.queued.value)
            .values(
                status=JobStatus.cancelled.value, phase=JobPhase.done.value, finished_at=utcnow()
            )
        )
        session.commit()
        if revoked.rowcount == 1:  # type: ignore[attr-defined]
            if job.queue_task_id:
                job_queue.revoke(job.queue_task_id)
            session.refresh(job)
            return job
        session.refresh(job)
    if job.status_enum is JobStatus.running:
        # Conditional too: a job the worker finished a moment ago must not show a pending cancel.
        flagged = session.execute(
            update(Job)
            .where(col(Job.id) == job.id, col(Job.status) == JobStatus.running.value)
            .values(cancel_requested=True)
        )
        session.commit()
        session.refresh(job)
        if flagged.rowcount == 1:  # type: ignore[attr-defined]
            return job
    raise JobStateError(
        f"job {job.id} is already {job.status}; only queued or running jobs can be cancelled"
    )


def retry_job(*, session: Session, job_id: str) -> Job:
    """Put a failed or cancelled job back in the queue; its old outputs are removed."""
    job = get_job(session=session, job_id=job_id)
    if JobAction.retry not in allowed_actions(job):
        raise JobStateError(
            f"job {job.id} is {job.status}; only failed or cancelled jobs can be retried"
        )
    if not job_store().exists(job.id, f"input/{job.input_name}"):
        raise StorageError(
            f"job {job.id} cannot be retried: its input video is missing from storage; "
            "submit the video again"
        )
    clear_job_outputs(session=session, job_id=job.id)
    job.status = JobStatus.queued.value
    job.phase = JobPhase.queued.value
    job.cancel_requested = False
    job.crash_count = 0
    job.error = None
    job.progress, job.frames_done, job.fps, job.eta_s = 0.0, 0, None, None
    job.queued_at, job.started_at, job.finished_at, job.heartbeat_at = utcnow(), None, None, None
    job.worker_pid = job.worker_host = job.worker_id = None
    session.add(job)
    session.commit()
    requeue(session=session, job=job)
    return job


def requeue(*, session: Session, job: Job) -> None:
    """Send an already-queued job's row to the Huey queue (again)."""
    job.queue_task_id = job_queue.enqueue(job.id, Priority(job.priority))
    session.add(job)
    session.commit()


def delete_job(*, session: Session, job_id: str) -> None:
    """Remove a job and all its files. Refused while it runs: cancel it first."""
    job = get_job(session=session, job_id=job_id)
    if JobAction.delete not in allowed_actions(job):
        raise JobStateError(
            f"job {job.id} is running; cancel it first and delete it once it has stopped"
        )
    task_id = job.queue_task_id if job.status_enum is JobStatus.queued else None
    deletable = {s.value for s, acts in _ACTIONS_BY_STATUS.items() if JobAction.delete in acts}
    if not purge_job(session=session, job=job, only_if=deletable):
        raise JobStateError(
            f"job {job_id} started running meanwhile; cancel it first and delete it once it "
            "has stopped"
        )
    if task_id:
        # After the row is gone: a worker dequeuing the message now finds nothing to claim.
        job_queue.revoke(task_id)


def update_job_labels(*, session: Session, job_id: str, team_names: dict[str, str]) -> Job:
    """Rename the teams shown for a job (e.g. 'team 0' -> 'Lightning')."""
    job = get_job(session=session, job_id=job_id)
    if not isinstance(team_names, dict):
        raise InvalidArgument("team_names must map a team key to a name")
    clean: dict[str, str] = {}
    for key, value in team_names.items():
        name = str(value).strip()
        if not name:
            raise InvalidArgument(f"the name for team {key!r} is empty")
        clean[str(key)] = name
    try:
        PipelineSettings.from_dict({"team_names": clean})
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    job.settings = {**job.settings, "team_names": clean}
    session.add(job)
    session.commit()
    return job


def read_job_log(*, job_id: str, tail_bytes: int = 200_000) -> str:
    """The end of the job's run.log ('' before the job has started)."""
    store = job_store()
    if not store.exists(job_id):
        raise JobNotFound(job_id)
    if not store.exists(job_id, RUN_LOG):
        return ""
    size = store.size(job_id, RUN_LOG)
    with store.open_read(job_id, RUN_LOG) as handle:
        if size > tail_bytes:
            handle.seek(size - tail_bytes)
        return handle.read().decode("utf-8", errors="replace")


def count_jobs_by_status(*, session: Session) -> dict[str, int]:
    counts = {status.value: 0 for status in JobStatus}
    rows = session.exec(select(Job.status, func.count()).group_by(Job.status)).all()
    for status, count in rows:
        counts[status] = int(count)
    return counts
