"""Getting a video into storage: name and size checks, streamed copy, decode probe, queueing.

A refused file leaves nothing behind: no job row, no folder, no queue message; a file moved
in from the inbox is moved back.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlmodel import Session

from backend.config import get_settings
from backend.models import FileRole, Job, Priority, new_job_id
from backend.pipeline.errors import CalibrationError, VideoError
from backend.pipeline.settings import PipelineSettings
from backend.services import queue as job_queue
from backend.services.errors import (
    InvalidArgument,
    NotAVideo,
    StorageError,
    UploadRejected,
    UploadTooLarge,
)
from backend.services.files import describe_file, job_dir, purge_job

if TYPE_CHECKING:
    from backend.pipeline.video import VideoInfo

UPLOAD_CHUNK_BYTES = 1 << 20
MATCH_DETAIL_KEYS = ("date", "competition", "home", "away", "round", "venue")
MAX_FILENAME_CHARS = 120
# Longest original name accepted, in UTF-8 bytes: what Linux, macOS and Windows file systems
# hold in one name; anything longer was not a file name on the analyst's machine.
MAX_ORIGINAL_NAME_BYTES = 255
# Keys a job's settings may hold besides PipelineSettings fields; anything else is a typo or
# a client from another version, and silently ignoring it would run with other settings.
EXTRA_SETTING_KEYS = frozenset({"calibration", "match"})


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
    controls = sorted({ch for ch in name if unicodedata.category(ch).startswith("C")})
    if controls:
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in controls)
        raise UploadRejected(
            f"file name {original_name!r} contains control characters ({shown}); "
            "rename the file to plain text such as match.mp4"
        )
    if len(name.encode("utf-8")) > MAX_ORIGINAL_NAME_BYTES:
        raise UploadRejected(
            f"file name is {len(name.encode('utf-8'))} bytes long; the limit is "
            f"{MAX_ORIGINAL_NAME_BYTES} (rename the file to something shorter)"
        )
    suffix = Path(name).suffix.lower()
    allowed = settings.allowed_video_extensions
    if suffix not in allowed:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise NotAVideo(
            f"{name}: unsupported file type ({shown}); expected one of {', '.join(allowed)}"
        )
    if size_bytes is not None:
        if size_bytes <= 0:
            raise UploadRejected(f"{name} is empty (0 bytes); expected a video file")
        if size_bytes > settings.max_upload_bytes:
            raise UploadTooLarge(
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


def default_analysis_settings() -> dict[str, Any]:
    """The pipeline's defaults, for forms that show them before anything is submitted."""
    return PipelineSettings().to_dict()


def check_calibration(calibration: Any) -> dict[str, Any]:
    """Return `calibration` if its point pairs give a usable image-to-court mapping.

    Raises InvalidArgument saying why not (too few points, degenerate, mirrored), so a form
    can tell the analyst before the job is queued.
    """
    from backend.pipeline.view import ViewTransformer  # OpenCV: only when there is one

    try:
        ViewTransformer.from_dict(calibration)
    except (CalibrationError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"invalid court calibration: {exc}") from None
    return calibration


def check_calibration_in_frame(calibration: dict[str, Any], *, width: int, height: int) -> None:
    """Calibration points are clicked on a frame of this video: one outside it was meant for
    another camera (or typed wrong), and would map every position to the wrong place."""
    for index, point in enumerate(calibration.get("image_points") or [], start=1):
        x, y = (float(v) for v in point)
        if not (0 <= x <= width and 0 <= y <= height):
            raise InvalidArgument(
                f"invalid court calibration: image point {index} ({x:g}, {y:g}) lies outside "
                f"the video's {width}x{height} frame"
            )


def _validate_settings(settings: dict | None) -> dict[str, Any]:
    settings = dict(settings or {})
    try:
        json.dumps(settings)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"job settings must be plain JSON values: {exc}") from None
    known = {f.name for f in fields(PipelineSettings)} | EXTRA_SETTING_KEYS
    unknown = sorted(str(key) for key in settings if key not in known)
    if unknown:
        raise InvalidArgument(
            f"unknown analysis setting(s): {', '.join(unknown)}; expected among "
            f"{', '.join(sorted(known))}"
        )
    try:
        PipelineSettings.from_dict(settings)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"invalid analysis settings: {exc}") from None
    if settings.get("calibration") is not None:
        check_calibration(settings["calibration"])
    match = settings.get("match")
    if match is not None:
        if not isinstance(match, dict) or set(match) - set(MATCH_DETAIL_KEYS):
            raise InvalidArgument(
                f"match details must be a mapping with keys among {', '.join(MATCH_DETAIL_KEYS)}"
            )
        settings["match"] = {k: str(v).strip() for k, v in match.items() if v not in (None, "")}
    return settings


@dataclass(frozen=True)
class _Stored:
    size_bytes: int
    sha256: str | None  # known when hashed while copying; None means hash the file afterwards


def _store_stream(stream: BinaryIO, target: Path, *, name: str) -> _Stored:
    """Copy in chunks, refusing as soon as the limit is passed; hashes on the way (one pass)."""
    limit = get_settings().max_upload_bytes
    written = 0
    digest = hashlib.sha256()
    with target.open("xb") as out:
        while chunk := stream.read(UPLOAD_CHUNK_BYTES):
            written += len(chunk)
            digest.update(chunk)
            if written > limit:
                raise UploadTooLarge(
                    f"{name} is larger than the upload limit of "
                    f"{get_settings().max_upload_mb} MB (NETBALL_MAX_UPLOAD_MB)"
                )
            out.write(chunk)
    if written == 0:
        raise UploadRejected(f"{name} is empty (0 bytes); expected a video file")
    return _Stored(written, digest.hexdigest())


def _storing_failed(original_name: str, exc: OSError) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free_mb = shutil.disk_usage(get_settings().data_dir).free / 1024**2
        return StorageError(
            f"{original_name} could not be stored: the disk is full ({free_mb:.0f} MB free). "
            "Free space with the Admin page's clean-up (or `python -m backend storage cleanup`), "
            "then try again; nothing was kept."
        )
    return StorageError(f"{original_name} could not be stored ({exc.strerror or exc}).")


def _ingest(
    *,
    session: Session,
    original_name: str,
    safe_name: str,
    priority: str,
    settings: dict | None,
    place_input: Callable[[Path], _Stored],
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
    try:
        # Outside the clean-up below: on an id collision it would delete the other job's files.
        input_path.parent.mkdir(parents=True)
    except OSError as exc:
        raise _storing_failed(original_name, exc) from exc
    try:
        try:
            stored = place_input(input_path)
        except OSError as exc:
            raise _storing_failed(original_name, exc) from exc
        from backend.pipeline.video import probe_video  # PyAV + OpenCV, ~0.15 s to import

        try:
            info = probe_video(input_path)
        except VideoError as exc:
            # The probe names the stored (sanitised) file; the analyst knows the original name.
            raise NotAVideo(str(exc).replace(safe_name, original_name)) from None
        if job_settings.get("calibration") is not None:
            check_calibration_in_frame(
                job_settings["calibration"], width=info.width, height=info.height
            )
        job = Job(
            id=job_id,
            original_name=original_name,
            input_name=safe_name,
            input_size_bytes=stored.size_bytes,
            priority=rank.value,
            settings=job_settings,
            video_info=info.to_dict() | {"path": f"input/{safe_name}"},
            frames_total=info.frames_total,
        )
        session.add(job)
        session.add(describe_file(job_id, input_path, role=FileRole.input, sha256=stored.sha256))
        session.commit()
    except BaseException:
        if undo_input is not None and input_path.exists():
            undo_input(input_path)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        job.queue_task_id = job_queue.enqueue(job.id, rank)
    except Exception as exc:
        purge_job(session=session, job=job)
        raise StorageError(f"could not queue the job ({exc}); nothing was kept") from exc
    session.add(job)
    session.commit()
    return job


def inspect_upload(*, original_name: str, size_bytes: int | None, stream: BinaryIO) -> VideoInfo:
    """Check a dropped file the way submitting it would (name, size, type, decoding its first
    frame) without storing anything, so a refusal shows before the analyst presses a button.

    Reads from the file's start and leaves it there; raises UploadRejected with the reason.
    """
    from backend.pipeline.video import probe_video

    check_upload(original_name=original_name, size_bytes=size_bytes)
    stream.seek(0)
    try:
        return probe_video(Path(original_name), stream=stream)
    except VideoError as exc:
        raise UploadRejected(str(exc)) from None
    finally:
        stream.seek(0)


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

    def place(target: Path) -> _Stored:
        if move:
            shutil.move(source_path, target)
            return _Stored(target.stat().st_size, None)
        with source_path.open("rb") as stream:
            return _store_stream(stream, target, name=name)

    def give_back(target: Path) -> None:
        # A move across disks that failed half-way (disk full) left the source whole and a
        # partial copy here: moving that back would overwrite the analyst's video with it.
        if not source_path.exists():
            shutil.move(target, source_path)

    return _ingest(
        session=session,
        original_name=name,
        safe_name=safe_name,
        priority=priority,
        settings=settings,
        place_input=place,
        undo_input=give_back if move else None,
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
