"""The one place that owns the Huey instance.

The instance is built lazily from settings (not at import) so the CLI, the dashboard and tests
can point NETBALL_DATA_DIR / NETBALL_QUEUE_PATH elsewhere before the first job is queued.
Messages carry only the job id; the database row is the source of truth for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from huey import Huey, SqliteHuey
from huey.api import TaskWrapper

from backend.config import get_settings

QUEUE_NAME = "courtside"
QUEUE_BUSY_TIMEOUT_S = 30


@dataclass
class JobQueue:
    huey: Huey
    task: TaskWrapper

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


_queues: dict[str, JobQueue] = {}


def build_queue(huey: Huey) -> JobQueue:
    from jobs.tasks import register_tasks  # tasks import the services, which import this module

    return JobQueue(huey=huey, task=register_tasks(huey))


def get_queue() -> JobQueue:
    """The queue for the configured NETBALL_QUEUE_PATH, one per path and process."""
    settings = get_settings()
    key = str(settings.queue_path)
    queue = _queues.get(key)
    if queue is None:
        settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(
            QUEUE_NAME, filename=key, results=False, utc=True, timeout=QUEUE_BUSY_TIMEOUT_S
        )
        queue = build_queue(huey)
        _queues[key] = queue
    return queue


def use_queue(queue: JobQueue | None) -> None:
    """Tests: route enqueues of the configured path to `queue` (None forgets all cached queues)."""
    _queues.clear()
    if queue is not None:
        _queues[str(get_settings().queue_path)] = queue
