"""A job's files: their JobFile rows and the cached ZIP of the outputs.

The bytes live in the job store (backend.services.filestore); this module names files by
job id and relative path and never touches a disk path itself, apart from handing the
pipeline and downloads a local path (`job_dir`, `job_file_path`).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import shutil
import time
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path, PurePosixPath

from sqlalchemy import ColumnElement, Delete, delete, exists
from sqlmodel import Session, col, select

from backend.models import FileKind, FileRole, Job, JobFile, utcnow
from backend.pipeline.model import sha256_of
from backend.services.errors import JobNotFound, OutputNotFound, StorageError
from backend.services.filestore import job_store

HASH_CHUNK_BYTES = 1 << 20
KIND_BY_SUFFIX: dict[str, FileKind] = {
    **dict.fromkeys((".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm"), FileKind.video),
    ".csv": FileKind.csv,
    ".json": FileKind.json,
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".svg", ".webp"), FileKind.image),
    **dict.fromkeys((".log", ".txt"), FileKind.log),
    ".zip": FileKind.archive,
}
# Already-compressed media gain nothing from deflate and cost CPU; text compresses ~5-10x.
STORED_KINDS = frozenset({FileKind.video, FileKind.image, FileKind.archive})


# Short names for a job's files (API downloads, scripts); any output's own file name works too.
FILE_ALIASES: dict[str, str] = {
    "video": "annotated.mp4",
    "tracks": "tracks.csv",
    "ball": "ball.csv",
    "events": "events.csv",
    "players": "players.csv",
    "teams": "teams.csv",
    "possession": "possession.csv",
    "summary": "summary.json",
    "timeline": "timeline.xml",
    "log": "run.log",
}
INPUT_ALIAS = "input"
ARCHIVE_ALIAS = "archive"


OUTPUTS = "outputs"


def job_dir(job_id: str) -> Path:
    """The job's folder as a local path, for the pipeline and uploads (see filestore)."""
    return job_store().local_path(job_id)


def job_outputs_dir(job_id: str) -> Path:
    return job_store().local_path(job_id, OUTPUTS)


def archive_relpath(job_id: str) -> str:
    return f"{job_id}.zip"


def archive_path(job_id: str) -> Path:
    return job_store().local_path(job_id, archive_relpath(job_id))


def job_file_path(file: JobFile) -> Path:
    return job_store().local_path(file.job_id, file.relpath)


def file_kind(path: Path | PurePosixPath) -> FileKind:
    kind = KIND_BY_SUFFIX.get(path.suffix.lower())
    if kind is not None:
        return kind
    mime = mimetypes.guess_type(path.name)[0] or ""
    return FileKind.log if mime.startswith("text/") else FileKind.archive


def sha256_file(path: Path) -> str:
    return sha256_of(path, HASH_CHUNK_BYTES)


def stored_sha256(job_id: str, relpath: str) -> str:
    digest = hashlib.sha256()
    with job_store().open_read(job_id, relpath) as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(
    job_id: str, path: Path | str, *, role: FileRole, sha256: str | None = None
) -> JobFile:
    """A JobFile row (not yet added to a session) for a file of the job: its path relative to
    the job (or a local path inside the job's folder).

    `sha256` saves a second read of a file that was hashed while it was being copied.
    """
    relpath = path.relative_to(job_dir(job_id)).as_posix() if isinstance(path, Path) else str(path)
    name = PurePosixPath(relpath).name
    return JobFile(
        job_id=job_id,
        role=role.value,
        kind=file_kind(PurePosixPath(relpath)).value,
        name=name,
        relpath=relpath,
        size_bytes=job_store().size(job_id, relpath),
        sha256=sha256 or stored_sha256(job_id, relpath),
        mime=mimetypes.guess_type(name)[0] or "application/octet-stream",
    )


@dataclass(frozen=True)
class FileProblem:
    """A registered file that is not on disk as it was written: `problem` is `missing`,
    `size changed` or `sha256 changed`; `expected` and `found` say from what to what."""

    job_id: str
    relpath: str
    problem: str
    expected: str = ""
    found: str = ""

    @property
    def message(self) -> str:
        change = f" (registered {self.expected}, now {self.found})" if self.expected else ""
        return f"{self.relpath} of job {self.job_id}: {self.problem}{change}"

    def to_dict(self) -> dict[str, str]:
        return {**asdict(self), "message": self.message}


def check_file(row: JobFile, *, full: bool = False) -> FileProblem | None:
    """Compare a file on disk with its row: existence and size always; the sha256 when `full`
    or when the file was modified after it was registered (so a same-size edit is caught
    without hashing every unchanged video on each look)."""
    path = job_file_path(row)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return FileProblem(row.job_id, row.relpath, "missing")
    if stat.st_size != row.size_bytes:
        return FileProblem(
            row.job_id,
            row.relpath,
            "size changed",
            f"{row.size_bytes} bytes",
            f"{stat.st_size} bytes",
        )
    registered = row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC).timestamp()
    if full or stat.st_mtime > registered:
        digest = sha256_file(path)
        if digest != row.sha256:
            return FileProblem(
                row.job_id, row.relpath, "sha256 changed", row.sha256[:12], digest[:12]
            )
    return None


def check_job_files(
    *, session: Session, job_id: str, full: bool = False, roles: Iterable[str] | None = None
) -> list[FileProblem]:
    """Every registered file of the job (of `roles`, default input and outputs) that is
    missing or changed on disk."""
    wanted = set(roles or (FileRole.input.value, FileRole.output.value))
    rows = [f for f in list_job_files(session=session, job_id=job_id) if f.role in wanted]
    return [problem for row in rows if (problem := check_file(row, full=full)) is not None]


def register_outputs(*, session: Session, job_id: str) -> list[JobFile]:
    """Replace the job's output rows with one row per file now in its outputs folder."""
    session.execute(
        delete(JobFile).where(
            col(JobFile.job_id) == job_id, col(JobFile.role) == FileRole.output.value
        )
    )
    rows = []
    for relpath in job_store().list_files(job_id, OUTPUTS):
        row = describe_file(job_id, relpath, role=FileRole.output)
        session.add(row)
        rows.append(row)
    session.commit()
    return rows


def clear_job_outputs(*, session: Session, job_id: str) -> None:
    """Remove outputs and the archive from disk and from the database (before a new attempt)."""
    for relpath in (OUTPUTS, archive_relpath(job_id)):
        try:
            job_store().remove(job_id, relpath)
        except OSError as exc:
            raise StorageError(f"could not remove old outputs of job {job_id}: {exc}") from exc
    session.execute(
        delete(JobFile).where(
            col(JobFile.job_id) == job_id,
            col(JobFile.role).in_([FileRole.output.value, FileRole.archive.value]),
        )
    )
    session.commit()


def list_job_files(*, session: Session, job_id: str) -> list[JobFile]:
    if session.get(Job, job_id) is None:
        raise JobNotFound(job_id)
    rows = session.exec(
        select(JobFile).where(JobFile.job_id == job_id).order_by(col(JobFile.relpath))
    ).all()
    return list(rows)


def _archive_fingerprint(files: list[JobFile]) -> str:
    listing = [(f.relpath, f.size_bytes, f.sha256) for f in files]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _read_archive_comment(job_id: str) -> str | None:
    try:
        with (
            job_store().open_read(job_id, archive_relpath(job_id)) as stream,
            zipfile.ZipFile(stream) as archive,
        ):
            return archive.comment.decode("ascii", errors="replace")
    except (OSError, zipfile.BadZipFile):
        return None


def build_archive(*, session: Session, job_id: str) -> Path:
    """The ZIP of the job's outputs, written to disk in a streaming way and cached.

    The archive's comment holds a fingerprint of the outputs it contains; it is rebuilt only
    when the registered outputs changed (a retry, a re-registration) or the file is damaged.
    """
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    outputs = [
        f for f in list_job_files(session=session, job_id=job_id) if f.role == FileRole.output.value
    ]
    if not outputs:
        raise StorageError(f"job {job_id} has no output files yet (status: {job.status})")
    store = job_store()
    # Hashed in full: a ZIP handed out must hold exactly what the analysis wrote.
    problems = [p for f in outputs if (p := check_file(f, full=True)) is not None]
    if problems:
        raise StorageError(
            f"the ZIP of job {job_id} was not built: "
            + "; ".join(p.message for p in problems)
            + ". Retry the job to regenerate its outputs."
        )
    target = archive_relpath(job_id)
    fingerprint = _archive_fingerprint(outputs)
    if store.exists(job_id, target) and _read_archive_comment(job_id) == fingerprint:
        return archive_path(job_id)
    try:
        with (
            store.write_atomic(job_id, target) as stream,
            zipfile.ZipFile(stream, "w", allowZip64=True) as archive,
        ):
            for f in outputs:
                entry = zipfile.ZipInfo(
                    f.relpath.removeprefix("outputs/"), date_time=time.localtime()[:6]
                )
                entry.compress_type = (
                    zipfile.ZIP_STORED if FileKind(f.kind) in STORED_KINDS else zipfile.ZIP_DEFLATED
                )
                # Copied in blocks, so even a multi-GB video never sits in memory.
                with (
                    store.open_read(job_id, f.relpath) as source,
                    archive.open(entry, "w", force_zip64=True) as sink,
                ):
                    shutil.copyfileobj(source, sink, HASH_CHUNK_BYTES)
            archive.comment = fingerprint.encode("ascii")
    except OSError as exc:
        raise StorageError(f"could not write the archive of job {job_id}: {exc}") from exc
    session.execute(
        delete(JobFile).where(
            col(JobFile.job_id) == job_id, col(JobFile.role) == FileRole.archive.value
        )
    )
    row = describe_file(job_id, target, role=FileRole.archive)
    row.created_at = utcnow()
    session.add(row)
    session.commit()
    return archive_path(job_id)


def purge_job(*, session: Session, job: Job, only_if: Iterable[str] | None = None) -> bool:
    """Delete the job row, its JobFile rows and its folder; False if it was not deleted.

    With `only_if` (statuses) the row goes only while the job is still in one of them, checked
    in the same write as the delete: a cleanup or delete racing a retry or a worker's claim
    then leaves the job that just became queued or running, and its files, alone. The row goes
    before the folder, so no reader ever sees a job whose files are half removed.
    """
    query = delete(Job).where(col(Job.id) == job.id)
    if only_if is not None:
        query = query.where(col(Job.status).in_(sorted(only_if)))
    session.execute(delete(JobFile).where(col(JobFile.job_id) == job.id, _job_exists(query)))
    deleted = session.execute(query).rowcount  # type: ignore[attr-defined]
    session.commit()
    if job in session:
        session.expunge(job)
    if deleted != 1:
        return False
    try:
        job_store().remove(job.id)
    except FileNotFoundError:
        pass  # another process removed it at the same time
    except OSError as exc:
        raise StorageError(f"could not remove the files of job {job.id}: {exc}") from exc
    return True


def _job_exists(query: Delete) -> ColumnElement[bool]:
    """The delete's WHERE clause as a condition on JobFile rows (same job, same statuses)."""
    return exists(select(Job.id).where(query.whereclause))  # type: ignore[arg-type]


def remove_folder(folder: Path, *, what: str) -> None:
    """rmtree that tolerates another process removing the same folder at the same time."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return
    except OSError as exc:
        if not folder.exists():
            return
        raise StorageError(f"could not remove {what}: {exc}") from exc


def resolve_job_file(*, session: Session, job_id: str, file_type: str) -> JobFile:
    """One of the job's files by alias (`video`, `tracks`, ..., `input`, `archive`), output
    file name (`heatmap_A.png`) or path inside the outputs folder.

    `archive` builds the ZIP when needed. Raises JobNotFound, or OutputNotFound naming what
    the job does have; a row whose file vanished from disk is not found either.
    """
    files = list_job_files(session=session, job_id=job_id)
    if file_type == ARCHIVE_ALIAS:
        build_archive(session=session, job_id=job_id)
        files = list_job_files(session=session, job_id=job_id)
        wanted = [f for f in files if f.role == FileRole.archive.value]
    elif file_type == INPUT_ALIAS:
        wanted = [f for f in files if f.role == FileRole.input.value]
    else:
        name = FILE_ALIASES.get(file_type, file_type)
        wanted = [
            f
            for f in files
            if f.role == FileRole.output.value
            and name in (f.name, f.relpath.removeprefix("outputs/"))
        ]
    if not wanted:
        outputs = sorted(f.name for f in files if f.role == FileRole.output.value)
        known = ", ".join([*FILE_ALIASES, INPUT_ALIAS, ARCHIVE_ALIAS])
        raise OutputNotFound(
            f"job {job_id} has no file {file_type!r}; its outputs are "
            f"{', '.join(outputs) or 'none yet'} (aliases: {known})"
        )
    row = wanted[0]
    problem = check_file(row)
    if row.missing or (problem is not None and problem.problem == "missing"):
        raise OutputNotFound(f"{row.relpath} of job {job_id} is missing on disk")
    if problem is not None:
        raise StorageError(f"{problem.message}; it is not served as a result")
    return row
