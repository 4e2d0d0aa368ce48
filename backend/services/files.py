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
from pathlib import Path, PurePosixPath

from sqlalchemy import delete
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
    for f in outputs:
        if not store.exists(job_id, f.relpath) or store.size(job_id, f.relpath) != f.size_bytes:
            raise StorageError(
                f"output {f.relpath} of job {job_id} is missing or changed on disk; "
                "retry the job to regenerate it"
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


def purge_job(*, session: Session, job: Job) -> None:
    """Delete the job's folder, its JobFile rows and the job row."""
    try:
        job_store().remove(job.id)
    except OSError as exc:
        raise StorageError(f"could not remove the files of job {job.id}: {exc}") from exc
    session.execute(delete(JobFile).where(col(JobFile.job_id) == job.id))
    session.delete(job)
    session.commit()


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
    if row.missing or not job_store().exists(job_id, row.relpath):
        raise OutputNotFound(f"{row.relpath} of job {job_id} is missing on disk")
    return row
