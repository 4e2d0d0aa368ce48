"""Disk use by job and file kind, and clean-up of old jobs, orphan folders and vanished files."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    FileRole,
    Job,
    JobFile,
    JobStatus,
    utcnow,
)
from backend.services.errors import InvalidArgument, StorageError
from backend.services.files import FileProblem, check_file, remove_folder
from backend.services.filestore import JobStore, job_store
from backend.services.jobs import purge_job

LARGEST_JOBS_SHOWN = 10
# What cleanup may remove, in lifecycle order (queued and running jobs never).
CLEANABLE_STATUSES: tuple[str, ...] = tuple(s.value for s in JobStatus if s in FINISHED_STATUSES)
# A job folder without a row may be an upload still streaming in; leave it alone this long.
ORPHAN_MIN_AGE_S = 3600.0
# Files that can be made again from a job's outputs (the built ZIPs): a cache, not results.
CACHE_ROLES = (FileRole.archive.value,)
# An orphan folder being removed is renamed first (".removing-<id>-<pid>"); cleanup finishes
# such leftovers of a cleanup that was killed half-way.
REMOVING_PREFIX = ".removing-"


def data_dir_id() -> str:
    """A short id of the data folder, so a reader (the dashboard) can tell that an API it
    reaches serves the same data without the API showing the path."""
    return hashlib.sha256(str(get_settings().data_dir).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class JobUsage:
    job_id: str
    original_name: str
    status: str
    bytes: int
    files: int


@dataclass(frozen=True)
class StorageStats:
    total_bytes: int
    total_files: int
    bytes_by_kind: dict[str, int]
    files_by_kind: dict[str, int]
    jobs: int
    largest_jobs: list[JobUsage]
    disk_total_bytes: int
    disk_free_bytes: int
    data_dir: str
    # Inputs and outputs vs caches (built ZIPs), which cleanup may drop and rebuild on demand.
    bytes_by_role: dict[str, int] = field(default_factory=dict)
    cache_bytes: int = 0
    cache_files: int = 0
    cache_max_age_days: float = 7.0
    # Registered inputs and outputs missing or changed on disk (FileProblem.to_dict()).
    file_problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def disk_used_fraction(self) -> float:
        if not self.disk_total_bytes:
            return 0.0
        return 1.0 - self.disk_free_bytes / self.disk_total_bytes

    def to_dict(self) -> dict:
        data = asdict(self)
        data["disk_used_fraction"] = round(self.disk_used_fraction, 4)
        return data


def _bytes_per_job(session: Session) -> dict[str, tuple[int, int]]:
    rows = session.exec(
        select(JobFile.job_id, func.sum(JobFile.size_bytes), func.count())
        .where(col(JobFile.missing).is_(False))
        .group_by(JobFile.job_id)
    ).all()
    return {job_id: (int(total or 0), int(count)) for job_id, total, count in rows}


def storage_stats(*, session: Session) -> StorageStats:
    settings = get_settings()
    by_kind = session.exec(
        select(JobFile.kind, func.sum(JobFile.size_bytes), func.count())
        .where(col(JobFile.missing).is_(False))
        .group_by(JobFile.kind)
    ).all()
    per_job = _bytes_per_job(session)
    jobs = {job.id: job for job in session.exec(select(Job)).all()}
    largest = sorted(per_job.items(), key=lambda item: item[1][0], reverse=True)
    largest_jobs = [
        JobUsage(job_id, jobs[job_id].original_name, jobs[job_id].status, size, count)
        for job_id, (size, count) in largest
        if job_id in jobs
    ][:LARGEST_JOBS_SHOWN]
    by_role = session.exec(
        select(JobFile.role, func.sum(JobFile.size_bytes), func.count())
        .where(col(JobFile.missing).is_(False))
        .group_by(JobFile.role)
    ).all()
    cache = [(int(total or 0), int(count)) for role, total, count in by_role if role in CACHE_ROLES]
    disk_total, disk_free = job_store().capacity()
    return StorageStats(
        total_bytes=sum(int(total or 0) for _, total, _ in by_kind),
        total_files=sum(int(count) for _, _, count in by_kind),
        bytes_by_kind={kind: int(total or 0) for kind, total, _ in by_kind},
        files_by_kind={kind: int(count) for kind, _, count in by_kind},
        jobs=len(jobs),
        largest_jobs=largest_jobs,
        disk_total_bytes=disk_total,
        disk_free_bytes=disk_free,
        data_dir=str(settings.data_dir),
        bytes_by_role={role: int(total or 0) for role, total, _ in by_role},
        cache_bytes=sum(size for size, _ in cache),
        cache_files=sum(count for _, count in cache),
        cache_max_age_days=settings.cache_max_age_days,
        file_problems=[p.to_dict() for p in _file_problems(session)],
    )


def _file_problems(session: Session) -> list[FileProblem]:
    rows = session.exec(
        select(JobFile)
        .where(col(JobFile.missing).is_(False), col(JobFile.role) != FileRole.archive.value)
        .order_by(col(JobFile.job_id), col(JobFile.relpath))
    ).all()
    return [problem for row in rows if (problem := check_file(row)) is not None]


@dataclass
class CleanupReport:
    dry_run: bool
    jobs: list[JobUsage] = field(default_factory=list)
    orphan_dirs: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    # Cached files (job_id/relpath) removed for age; `bytes_freed` includes them.
    caches: list[str] = field(default_factory=list)
    cache_bytes_freed: int = 0
    bytes_freed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _job_usage(store: JobStore, job_id: str) -> tuple[int, int]:
    """(bytes, files) the job has in the store, 0 when it has none."""
    sizes = []
    try:
        relpaths = store.list_files(job_id)
    except FileNotFoundError:  # the whole folder went meanwhile (another cleanup)
        return 0, 0
    for relpath in relpaths:
        try:
            sizes.append(store.size(job_id, relpath))
        except FileNotFoundError:  # removed meanwhile (another cleanup, a retry)
            continue
    return sum(sizes), len(sizes)


def _newest_mtime(folder: Path) -> float:
    """Latest change inside `folder`: an upload streaming for hours keeps writing its file,
    while the folder's own time stays at its creation. 0 when it vanished meanwhile."""
    try:
        times = [folder.stat().st_mtime]
        times += [p.stat().st_mtime for p in folder.rglob("*")]
    except FileNotFoundError:
        return 0.0 if not folder.exists() else time.time()
    return max(times)


def cleanup_storage(
    *,
    session: Session,
    older_than_days: float | None = None,
    statuses: list[str] | None = None,
    dry_run: bool = True,
    cache_older_than_days: float | None = None,
) -> CleanupReport:
    """Remove finished jobs (by age and/or status), orphan job folders, caches (built ZIPs)
    older than `cache_older_than_days` (default NETBALL_CACHE_MAX_AGE_DAYS), and flag
    vanished files.

    Caches go whatever the job's status: they are rebuilt from the outputs when asked for
    again, and outputs are never touched by that rule. Queued and running jobs are never
    touched. With `dry_run` nothing changes and the report
    says what would be removed and how many bytes that frees. With neither an age nor statuses
    given, no job is removed: only orphans and vanished files are handled.
    """
    settings = get_settings()
    store = job_store()
    wanted = set()
    for status in statuses or []:
        try:
            parsed = JobStatus(status)
        except ValueError:
            raise InvalidArgument(f"unknown status {status!r} for cleanup") from None
        if parsed in ACTIVE_STATUSES:
            raise InvalidArgument(f"cleanup never removes {parsed.value} jobs; cancel them first")
        wanted.add(parsed.value)
    if older_than_days is not None and older_than_days < 0:
        raise InvalidArgument(f"older_than_days must be 0 or more, got {older_than_days}")
    if cache_older_than_days is None:
        cache_older_than_days = settings.cache_max_age_days
    if cache_older_than_days < 0:
        raise InvalidArgument(
            f"cache_older_than_days must be 0 or more, got {cache_older_than_days}"
        )
    report = CleanupReport(dry_run=dry_run)

    if older_than_days is not None or wanted:
        query = select(Job).where(
            col(Job.status).in_(sorted(wanted or {s.value for s in FINISHED_STATUSES}))
        )
        if older_than_days is not None:
            cutoff = utcnow() - timedelta(days=older_than_days)
            query = query.where(func.coalesce(Job.finished_at, Job.created_at) <= cutoff)
        finished = {s.value for s in FINISHED_STATUSES}
        for job in session.exec(query.order_by(col(Job.created_at))).all():
            size, count = _job_usage(store, job.id)
            # Retried (queued again) or removed by another cleanup since the query: skipped.
            if not dry_run and not purge_job(session=session, job=job, only_if=finished):
                continue
            report.jobs.append(JobUsage(job.id, job.original_name, job.status, size, count))
            report.bytes_freed += size

    _drop_old_caches(session, report, cache_older_than_days, dry_run)
    known = set(session.exec(select(Job.id)).all())
    if settings.jobs_dir.is_dir():
        now = time.time()
        for folder in sorted(settings.jobs_dir.iterdir()):
            if not folder.is_dir() or folder.name in known:
                continue
            if folder.name.startswith(REMOVING_PREFIX):
                if not dry_run:
                    remove_folder(folder, what=f"the half-removed folder {folder}")
                continue
            if now - _newest_mtime(folder) < ORPHAN_MIN_AGE_S:
                continue
            size = _job_usage(store, folder.name)[0]
            if not dry_run:
                if session.get(Job, folder.name) is not None:  # its upload finished meanwhile
                    continue
                # Renaming is atomic: of two cleanups at once, only one takes the folder.
                taken = folder.with_name(f"{REMOVING_PREFIX}{folder.name}-{os.getpid()}")
                try:
                    folder.rename(taken)
                except FileNotFoundError:
                    continue
                remove_folder(taken, what=f"orphan folder {folder}")
            report.orphan_dirs.append(folder.name)
            report.bytes_freed += size

    for row in session.exec(select(JobFile).where(col(JobFile.missing).is_(False))).all():
        if not store.exists(row.job_id, row.relpath):
            report.missing_files.append(f"{row.job_id}/{row.relpath}")
            if not dry_run:
                row.missing = True
                session.add(row)
    session.commit()
    return report


def _drop_old_caches(
    session: Session, report: CleanupReport, older_than_days: float, dry_run: bool
) -> None:
    cutoff = utcnow() - timedelta(days=older_than_days)
    rows = session.exec(
        select(JobFile).where(
            col(JobFile.role).in_(CACHE_ROLES),
            col(JobFile.missing).is_(False),
            col(JobFile.created_at) <= cutoff,
        )
    ).all()
    removed_jobs = {usage.job_id for usage in report.jobs}
    for row in rows:
        if row.job_id in removed_jobs:  # counted with its job already
            continue
        store = job_store()
        size = store.size(row.job_id, row.relpath) if store.exists(row.job_id, row.relpath) else 0
        report.caches.append(f"{row.job_id}/{row.relpath}")
        report.cache_bytes_freed += size
        report.bytes_freed += size
        if dry_run:
            continue
        try:
            store.remove(row.job_id, row.relpath)
        except OSError as exc:
            raise StorageError(
                f"could not remove the cached file {row.job_id}/{row.relpath}: {exc}"
            ) from exc
        session.delete(row)
    session.commit()
