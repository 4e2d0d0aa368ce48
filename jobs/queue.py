"""The Huey implementation of the services' queue interface, and the one owner of the instance.

NETBALL_QUEUE_URL picks the backend: unset, a SqliteHuey file under the data dir
(NETBALL_QUEUE_PATH); `redis://host:port/db`, a PriorityRedisHuey that workers on several
machines share. Both honour task priorities. The instance is built lazily from settings (not
at import) so the CLI, the dashboard and tests can point elsewhere before the first job is
queued. Messages carry only the job id: the job table is the truth, and a lost or damaged
queue is refilled from it (`verify` / `rebuild`, driven by huey_worker.py).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from huey import Huey, PriorityRedisHuey, SqliteHuey
from huey.api import TaskWrapper

from backend.config import Settings, get_settings
from backend.services import queue as queue_interface
from backend.services.queue import QueueProblem

QUEUE_NAME = "courtside"
QUEUE_BUSY_TIMEOUT_S = 30
# Redis: a worker blocked on an empty queue wakes at least this often (BZPOPMIN timeout).
REDIS_READ_TIMEOUT_S = 1
REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass
class HueyJobQueue:
    """One Huey instance and the analysis task registered on it."""

    huey: Huey
    task: TaskWrapper
    location: str
    sqlite_path: Path | None = None
    # The SQLite file this process last opened (its inode), to notice a deleted or replaced one.
    _inode: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._inode = self._current_inode()

    def enqueue(self, job_id: str, *, priority_rank: int) -> str:
        """Queue `run_analysis(job_id)`; returns the Huey task id (used to revoke it)."""
        task = self.task.s(job_id, priority=priority_rank)
        self.huey.enqueue(task)
        return task.id

    def revoke(self, task_id: str) -> None:
        self.huey.revoke_by_id(task_id, revoke_once=True)

    def pending_task_ids(self) -> set[str]:
        return {task.id for task in self.huey.pending()}

    def depth(self) -> int:
        return self.huey.pending_count()

    def describe(self) -> str:
        return self.location

    def verify(self) -> QueueProblem | None:
        if self.sqlite_path is None:
            return self._verify_redis()
        return self._verify_sqlite()

    def rebuild(self) -> str:
        """SQLite: move a damaged file aside and start an empty one (Redis keeps its store)."""
        kept = ""
        if self.sqlite_path is not None:
            self.huey.storage.close()
            if self.sqlite_path.exists() and self._verify_sqlite() is not None:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                aside = self.sqlite_path.with_name(f"{self.sqlite_path.name}.damaged-{stamp}")
                os.replace(self.sqlite_path, aside)
                kept = f"; the damaged file was kept as {aside}"
            for suffix in ("-wal", "-shm"):
                Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            self.huey.storage.initialize_schema()
            self._inode = self._current_inode()
        return f"started an empty queue at {self.location}{kept}"

    def refresh_connection(self) -> bool:
        """Before a dequeue: reopen when the SQLite file was replaced; False while it is gone.

        A connection to a deleted file would keep reading the ghost while new jobs go to the
        new file. Redis reconnects by itself.
        """
        if self.sqlite_path is None:
            return True
        inode = self._current_inode()
        if inode is None:
            self.huey.storage.close()
            return False
        if inode != self._inode:
            self.huey.storage.close()
            self._inode = inode
        return True

    def _current_inode(self) -> int | None:
        if self.sqlite_path is None:
            return None
        try:
            return self.sqlite_path.stat().st_ino
        except FileNotFoundError:
            return None

    def _verify_sqlite(self) -> QueueProblem | None:
        path = self.sqlite_path
        assert path is not None
        if not path.exists():
            return QueueProblem(f"the queue database {path} is missing (deleted?)", True)
        try:
            # A connection of its own: the storage's connection may still see a deleted file.
            with sqlite3.connect(path, timeout=QUEUE_BUSY_TIMEOUT_S) as probe:
                check = probe.execute("PRAGMA quick_check").fetchone()
                probe.execute("SELECT COUNT(*) FROM task").fetchone()
        except sqlite3.DatabaseError as exc:
            return QueueProblem(f"the queue database {path} is unreadable ({exc})", True)
        if check is None or check[0] != "ok":
            return QueueProblem(f"the queue database {path} is corrupted ({check})", True)
        if path.stat().st_ino != self._inode:
            return QueueProblem(f"the queue database {path} was replaced", True)
        return None

    def _verify_redis(self) -> QueueProblem | None:
        try:
            self.huey.storage.conn.ping()
        except Exception as exc:
            return QueueProblem(f"the queue server {self.location} does not answer ({exc})", False)
        return None


def queue_location(settings: Settings) -> str:
    """The configured queue as a person would name it, without credentials."""
    if not settings.queue_url:
        return str(settings.queue_path)
    parts = urlsplit(settings.queue_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def build_huey(settings: Settings) -> tuple[Huey, Path | None]:
    if settings.queue_url:
        scheme = urlsplit(settings.queue_url).scheme
        if scheme not in REDIS_SCHEMES:
            raise ValueError(
                f"NETBALL_QUEUE_URL must be a redis:// URL (e.g. redis://queue-host:6379/0), "
                f"got scheme {scheme!r}; leave it unset for the SQLite queue in the data dir"
            )
        huey = PriorityRedisHuey(
            QUEUE_NAME,
            url=settings.queue_url,
            results=False,
            utc=True,
            blocking=True,
            read_timeout=REDIS_READ_TIMEOUT_S,
        )
        return huey, None
    settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
    huey = SqliteHuey(
        QUEUE_NAME,
        filename=str(settings.queue_path),
        results=False,
        utc=True,
        timeout=QUEUE_BUSY_TIMEOUT_S,
    )
    return huey, settings.queue_path


_queues: dict[str, HueyJobQueue] = {}


def wrap(huey: Huey, *, location: str = "memory", sqlite_path: Path | None = None) -> HueyJobQueue:
    """A queue over any Huey instance (tests pass a MemoryHuey)."""
    from jobs.tasks import register_tasks  # tasks import the services, which must load first

    return HueyJobQueue(huey, register_tasks(huey), location, sqlite_path)


def get_queue() -> HueyJobQueue:
    """The queue for the configured NETBALL_QUEUE_URL / NETBALL_QUEUE_PATH, one per process."""
    settings = get_settings()
    key = settings.queue_url or str(settings.queue_path)
    queue = _queues.get(key)
    if queue is None:
        huey, sqlite_path = build_huey(settings)
        queue = wrap(huey, location=queue_location(settings), sqlite_path=sqlite_path)
        _queues[key] = queue
    return queue


def install() -> None:
    """Make this Huey queue the services' queue in this process (idempotent)."""
    queue_interface.register(get_queue)


def use_queue(queue: HueyJobQueue | None) -> None:
    """Tests: route enqueues of the configured queue to `queue` (None forgets all cached)."""
    _queues.clear()
    if queue is not None:
        settings = get_settings()
        _queues[settings.queue_url or str(settings.queue_path)] = queue
