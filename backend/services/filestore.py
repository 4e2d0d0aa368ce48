"""The one storage interface for job files: every service reads and writes them through it.

Files are named by job id and a path inside the job (`input/match.mp4`, `outputs/tracks.csv`,
`<id>.zip`), never by a disk path, so another store (an S3-compatible object store) can be
added as one more class without touching the services. Today's store is a folder: the data
dir on a local disk, or the same folder on NFS shared by every worker host.

`local_path` is the exception by design: the video pipeline and streamed downloads need a real
file. A remote store would hand out a staged local copy there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from backend.config import get_settings


class JobStore(Protocol):
    def local_path(self, job_id: str, relpath: str = "") -> Path: ...

    def exists(self, job_id: str, relpath: str = "") -> bool: ...

    def size(self, job_id: str, relpath: str) -> int: ...

    def open_read(self, job_id: str, relpath: str) -> BinaryIO: ...

    def write_atomic(self, job_id: str, relpath: str) -> Iterator[BinaryIO]:
        """A context manager: readers see the old file or the whole new one, never half."""

    def append_text(self, job_id: str, relpath: str, text: str) -> None: ...

    def list_files(self, job_id: str, under: str = "") -> list[str]:
        """Paths (relative to the job) of every file under `under`, sorted."""

    def remove(self, job_id: str, relpath: str = "") -> None:
        """A file or everything under a path; the whole job when relpath is empty."""

    def job_ids(self) -> list[str]:
        """Every job that has files in the store (with or without a database row)."""

    def last_modified(self, job_id: str) -> float:
        """Epoch seconds of the job folder's last change (orphan detection)."""

    def capacity(self) -> tuple[int, int]:
        """(total, free) bytes of the space the store writes to."""


def _checked(relpath: str) -> str:
    parts = PurePosixPath(relpath).parts
    if relpath.startswith("/") or ".." in parts:
        raise ValueError(f"a job file path must stay inside the job, got {relpath!r}")
    return relpath


class FolderJobStore:
    """Job files under `root/<job_id>/...` on a local or network file system."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def local_path(self, job_id: str, relpath: str = "") -> Path:
        folder = self.root / _checked(job_id)
        return folder / _checked(relpath) if relpath else folder

    def exists(self, job_id: str, relpath: str = "") -> bool:
        path = self.local_path(job_id, relpath)
        return path.is_file() if relpath else path.is_dir()

    def size(self, job_id: str, relpath: str) -> int:
        return self.local_path(job_id, relpath).stat().st_size

    def open_read(self, job_id: str, relpath: str) -> BinaryIO:
        return self.local_path(job_id, relpath).open("rb")

    @contextmanager
    def write_atomic(self, job_id: str, relpath: str) -> Iterator[BinaryIO]:
        target = self.local_path(job_id, relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two writers at once must not write into one file.
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}-", suffix=".part", dir=target.parent
        )
        partial = Path(name)
        try:
            with os.fdopen(handle, "wb") as stream:
                yield stream
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def append_text(self, job_id: str, relpath: str, text: str) -> None:
        path = self.local_path(job_id, relpath)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)

    def list_files(self, job_id: str, under: str = "") -> list[str]:
        folder = self.local_path(job_id)
        start = self.local_path(job_id, under) if under else folder
        if not start.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in start.rglob("*") if p.is_file())

    def remove(self, job_id: str, relpath: str = "") -> None:
        path = self.local_path(job_id, relpath)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    def job_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def last_modified(self, job_id: str) -> float:
        return self.local_path(job_id).stat().st_mtime

    def capacity(self) -> tuple[int, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        disk = shutil.disk_usage(self.root)
        return disk.total, disk.free


def read_text(store: JobStore, job_id: str, relpath: str) -> str:
    with store.open_read(job_id, relpath) as stream:
        return stream.read().decode("utf-8")


def job_store() -> JobStore:
    """The store for the configured data dir (NETBALL_DATA_DIR, shared between hosts)."""
    return FolderJobStore(get_settings().jobs_dir)
