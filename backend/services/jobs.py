"""Job lifecycle seen from the analyst: submit, list, cancel, retry, delete, relabel.

Every state change goes through these functions; the UI, the CLI and the worker call them.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.models import (
    ACTIVE_STATUSES,
    FileRole,
    Job,
    JobFile,
    JobStatus,
    Priority,
    new_job_id,
    utcnow,
)
from backend.pipeline.errors import CalibrationError, VideoError
from backend.pipeline.settings import PipelineSettings
from backend.pipeline.video import probe_video
from backend.pipeline.view import ViewTransformer
from backend.services import queue as job_queue
from backend.services.errors import (
    InvalidArgument,
    JobNotFound,
    JobStateError,
    StorageError,
    UploadRejected,
)
from backend.services.files import (
    clear_job_outputs,
    describe_file,
    job_dir,
)

UPLOAD_CHUNK_BYTES = 1 << 20
MATCH_DETAIL_KEYS = ("date", "competition", "home", "away", "round", "venue")
MAX_FILENAME_CHARS = 120
PAGE_SIZE_MAX = 200


@dataclass(frozen=True)
class InboxVideo:
    name: str
    path: Path
    size_bytes: int
    modified_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "modified_at": self.modified_at.isoformat(),
        }


def _format_mb(size_bytes: int) -> str:
    return f"{size_bytes / (1024 * 1024):.1f} MB"


def check_upload(*, original_name: str, size_bytes: int | None) -> str:
    """Validate a file's name and size before any byte is stored; return the safe file name."""
    settings = get_settings()
    name = unicodedata.normalize("NFC", (original_name or "").strip())
    if not name:
        raise UploadRejected("the file has no name; expected a video such as match.mp4")
    if "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        raise UploadRejected(
            f"file name {original_name!r} contains a folder path; "
            "send the file itself with a plain name such as match.mp4"
        )
    suffix = Path(name).suffix.lower()
    allowed = settings.allowed_video_extensions
    if suffix not in allowed:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise UploadRejected(
            f"{name}: unsupported file type ({shown}); expected one of {', '.join(allowed)}"
        )
    if size_bytes is not None:
        if size_bytes <= 0:
            raise UploadRejected(f"{name} is empty (0 bytes); expected a video file")
        if size_bytes > settings.max_upload_bytes:
            raise UploadRejected(
                f"{name} is {_format_mb(size_bytes)}, larger than the upload limit of "
                f"{settings.max_upload_mb} MB (NETBALL_MAX_UPLOAD_MB)"
            )
    stem = "".join(ch if ch.isalnum() or ch in "-_. " else "_" for ch in Path(name).stem).strip(
        " ."
    )
    stem = stem[: MAX_FILENAME_CHARS - len(suffix)] or "video"
    return f"{stem}{suffix}"


def _parse_priority(priority: str) -> Priority:
    try:
        return Priority(str(priority).lower())
    except ValueError:
        raise InvalidArgument(
            f"unknown priority {priority!r}; expected one of low, normal, high"
        ) from None


def _validate_settings(settings: dict | None) -> dict[str, Any]:
    settings = dict(settings or {})
    try:
        json.dumps(settings)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"job settings must be plain JSON values: {exc}") from None
    try:
        # Unknown keys (match details, calibration) are ignored here and read by the task.
        PipelineSettings.from_dict(settings)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"invalid analysis settings: {exc}") from None
    if settings.get("calibration") is not None:
        try:
            ViewTransformer.from_dict(settings["calibration"])
        except (CalibrationError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"invalid court calibration: {exc}") from None
    match = settings.get("match")
    if match is not None:
        if not isinstance(match, dict) or set(match) - set(MATCH_DETAIL_KEYS):
            raise InvalidArgument(
                f"match details must be a mapping with keys among {', '.join(MATCH_DETAIL_KEYS)}"
            )
        settings["match"] = {k: str(v).strip() for k, v in match.items() if v not in (None, "")}
    return settings


def _store_stream(stream: BinaryIO, target: Path, *, name: str) -> int:
    limit = get_settings().max_upload_bytes
    written = 0
    with target.open("xb") as out:
        while chunk := stream.read(UPLOAD_CHUNK_BYTES):
            written += len(chunk)
            if written > limit:
                raise UploadRejected(
                    f"{name} is larger than the upload limit of "
                    f"{get_settings().max_upload_mb} MB (NETBALL_MAX_UPLOAD_MB)"
                )
            out.write(chunk)
    if written == 0:
        raise UploadRejected(f"{name} is empty (0 bytes); expected a video file")
    return written


def _ingest(
    *,
    session: Session,
    original_name: str,
    safe_name: str,
    priority: str,
    settings: dict | None,
    place_input: Callable[[Path], int],
    undo_input: Callable[[Path], None] | None = None,
) -> Job:
    """Create the job folder, put the video in it, probe it, then record and queue the job.

    On any refusal the folder is removed (after `undo_input` gave a moved file back), so a
    rejected file leaves no job row and no stray files.
    """
    rank = _parse_priority(priority)
    job_settings = _validate_settings(settings)
    job_id = new_job_id()
    folder = job_dir(job_id)
    input_path = folder / "input" / safe_name
    input_path.parent.mkdir(parents=True)
    try:
        size = place_input(input_path)
        try:
            info = probe_video(input_path)
        except VideoError as exc:
            raise UploadRejected(f"{original_name}: {exc}") from None
        job = Job(
            id=job_id,
            original_name=original_name,
            input_name=safe_name,
            input_size_bytes=size,
            priority=rank.value,
            settings=job_settings,
            video_info=info.to_dict() | {"path": f"input/{safe_name}"},
            frames_total=info.frames_total,
        )
        session.add(job)
        session.add(describe_file(job_id, input_path, role=FileRole.input))
        session.commit()
    except BaseException:
        if undo_input is not None and input_path.exists():
            undo_input(input_path)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        job.queue_task_id = job_queue.enqueue(job.id, rank)
    except Exception as exc:
        purge_job(session, job)
        raise StorageError(f"could not queue the job ({exc}); nothing was kept") from exc
    session.add(job)
    session.commit()
    return job


def submit_upload(
    *,
    session: Session,
    stream: BinaryIO,
    original_name: str,
    priority: str = "normal",
    settings: dict | None = None,
) -> Job:
    """Stream an uploaded video into storage in chunks, validate it and queue a job."""
    safe_name = check_upload(original_name=original_name, size_bytes=None)
    return _ingest(
        session=session,
        original_name=original_name,
        safe_name=safe_name,
        priority=priority,
        settings=settings,
        place_input=lambda target: _store_stream(stream, target, name=original_name),
    )


def submit_path(
    *,
    session: Session,
    source_path: Path,
    original_name: str | None = None,
    priority: str = "normal",
    settings: dict | None = None,
    move: bool = False,
) -> Job:
    """Queue a video already on this machine (CLI submit, dashboard inbox).

    `move=True` moves it into storage instead of copying (same disk: instant); a refused file is
    moved back where it was.
    """
    source_path = Path(source_path)
    name = original_name or source_path.name
    if not source_path.is_file():
        raise UploadRejected(f"file not found: {source_path}")
    safe_name = check_upload(original_name=name, size_bytes=source_path.stat().st_size)

    def place(target: Path) -> int:
        if move:
            shutil.move(source_path, target)
            return target.stat().st_size
        with source_path.open("rb") as stream:
            return _store_stream(stream, target, name=name)

    return _ingest(
        session=session,
        original_name=name,
        safe_name=safe_name,
        priority=priority,
        settings=settings,
        place_input=place,
        undo_input=(lambda target: shutil.move(target, source_path)) if move else None,
    )


def list_inbox() -> list[InboxVideo]:
    settings = get_settings()
    folder = settings.inbox_dir
    if not folder.is_dir():
        return []
    videos = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if path.is_file() and path.suffix.lower() in settings.allowed_video_extensions:
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
            videos.append(InboxVideo(path.name, path, stat.st_size, modified))
    return videos


def list_jobs(
    *,
    session: Session,
    status: str | None = None,
    search: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Job], int]:
    """One page of jobs, newest first, and the total number matching the filters."""
    if page < 1:
        raise InvalidArgument(f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise InvalidArgument(f"page_size must be between 1 and {PAGE_SIZE_MAX}, got {page_size}")
    query = select(Job)
    if status:
        try:
            query = query.where(Job.status == JobStatus(status).value)
        except ValueError:
            raise InvalidArgument(
                f"unknown status {status!r}; expected one of "
                f"{', '.join(s.value for s in JobStatus)}"
            ) from None
    if search and search.strip():
        pattern = f"%{search.strip()}%"
        query = query.where(or_(col(Job.original_name).ilike(pattern), col(Job.id).ilike(pattern)))
    if created_from is not None:
        query = query.where(Job.created_at >= created_from)
    if created_to is not None:
        query = query.where(Job.created_at <= created_to)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(Job.created_at).desc(), col(Job.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), int(total)


def get_job(*, session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    session.refresh(job)
    return job


def cancel_job(*, session: Session, job_id: str) -> Job:
    """Queued: revoked at once. Running: flagged; the worker stops within a few seconds."""
    job = get_job(session=session, job_id=job_id)
    if job.status_enum is JobStatus.queued:
        # Conditional, so a worker claiming the job at this instant cannot be overwritten.
        revoked = session.execute(
            update(Job)
            .where(col(Job.id) == job.id, col(Job.status) == JobStatus.queued.value)
            .values(status=JobStatus.cancelled.value, finished_at=utcnow())
        )
        session.commit()
        if revoked.rowcount == 1:  # type: ignore[attr-defined]
            if job.queue_task_id:
                job_queue.revoke(job.queue_task_id)
            session.refresh(job)
            return job
        session.refresh(job)
    if job.status_enum is JobStatus.running:
        job.cancel_requested = True
        session.add(job)
        session.commit()
        return job
    raise JobStateError(
        f"job {job.id} is already {job.status}; only queued or running jobs can be cancelled"
    )


def retry_job(*, session: Session, job_id: str) -> Job:
    """Put a failed or cancelled job back in the queue; its old outputs are removed."""
    job = get_job(session=session, job_id=job_id)
    if job.status_enum not in {JobStatus.failed, JobStatus.cancelled}:
        raise JobStateError(
            f"job {job.id} is {job.status}; only failed or cancelled jobs can be retried"
        )
    if not (job_dir(job.id) / "input" / job.input_name).is_file():
        raise StorageError(
            f"job {job.id} cannot be retried: its input video is missing from storage; "
            "submit the video again"
        )
    clear_job_outputs(session=session, job_id=job.id)
    job.status = JobStatus.queued.value
    job.cancel_requested = False
    job.crash_count = 0
    job.error = None
    job.progress, job.frames_done, job.fps, job.eta_s = 0.0, 0, None, None
    job.queued_at, job.started_at, job.finished_at, job.heartbeat_at = utcnow(), None, None, None
    job.worker_pid = job.worker_host = None
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
    if job.status_enum is JobStatus.running:
        raise JobStateError(
            f"job {job.id} is running; cancel it first and delete it once it has stopped"
        )
    if job.status_enum is JobStatus.queued and job.queue_task_id:
        job_queue.revoke(job.queue_task_id)
    purge_job(session, job)


def purge_job(session: Session, job: Job) -> None:
    folder = job_dir(job.id)
    try:
        if folder.exists():
            shutil.rmtree(folder)
    except OSError as exc:
        raise StorageError(f"could not remove the files of job {job.id}: {exc}") from exc
    session.execute(delete(JobFile).where(col(JobFile.job_id) == job.id))
    session.delete(job)
    session.commit()


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
    folder = job_dir(job_id)
    if not folder.is_dir():
        raise JobNotFound(job_id)
    path = folder / "outputs" / "run.log"
    if not path.is_file():
        return ""
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size > tail_bytes:
            handle.seek(size - tail_bytes)
        return handle.read().decode("utf-8", errors="replace")


def count_jobs_by_status(*, session: Session) -> dict[str, int]:
    counts = {status.value: 0 for status in JobStatus}
    rows = session.exec(select(Job.status, func.count()).group_by(Job.status)).all()
    for status, count in rows:
        counts[status] = int(count)
    return counts


def active_job_ids(*, session: Session) -> set[str]:
    statuses = [s.value for s in ACTIVE_STATUSES]
    return set(session.exec(select(Job.id).where(col(Job.status).in_(statuses))).all())
