"""The services' queue interface: what they need from a job queue, and nothing of Huey.

The services decide *that* a job goes to the queue; `jobs.queue` decides *how* (SQLite or Redis
Huey) and registers its implementation here when a process starts (`jobs.queue.install()`,
called by huey_worker.py, `python -m backend`, the dashboard's entry point and the tests).
Dependencies then point one way: jobs -> services, never back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from backend.models import Priority
from backend.services.errors import ServiceError


class QueueNotConfigured(ServiceError):
    """No queue implementation was registered in this process."""


@dataclass(frozen=True)
class QueueProblem:
    """Why the queue cannot be trusted right now, in words a person understands.

    `rebuildable`: the queue's own store is damaged or gone (the job table can refill it);
    otherwise it is unreachable and rebuilding would not help.
    """

    reason: str
    rebuildable: bool


class JobQueue(Protocol):
    def enqueue(self, job_id: str, *, priority_rank: int) -> str:
        """Queue the analysis of `job_id`; returns the queue's message id (to revoke it)."""

    def revoke(self, task_id: str) -> None: ...

    def pending_task_ids(self) -> set[str]: ...

    def depth(self) -> int: ...

    def describe(self) -> str:
        """Where the queue lives, for status pages (never a password)."""

    def verify(self) -> QueueProblem | None:
        """None when the queue's store is sound."""

    def rebuild(self) -> str:
        """Start an empty store in place of a damaged one; returns what was done."""


_provider: Callable[[], JobQueue] | None = None


def register(provider: Callable[[], JobQueue] | None) -> None:
    """Install the function that returns this process's queue (None: forget it)."""
    global _provider
    _provider = provider


def current() -> JobQueue:
    if _provider is None:
        raise QueueNotConfigured(
            "no job queue is configured in this process: its entry point must call "
            "jobs.queue.install() before jobs are submitted"
        )
    return _provider()


def enqueue(job_id: str, priority: Priority) -> str:
    return current().enqueue(job_id, priority_rank=priority.queue_rank)


def revoke(task_id: str) -> None:
    current().revoke(task_id)


def pending_task_ids() -> set[str]:
    return current().pending_task_ids()


def depth() -> int:
    return current().depth()


def describe() -> str:
    return current().describe()
