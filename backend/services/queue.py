"""The services' view of the job queue: enqueue, revoke, pending ids.

The Huey instance lives in `jobs.queue`; it is imported here lazily because the task module
there imports these services.
"""

from __future__ import annotations

from backend.models import Priority


def enqueue(job_id: str, priority: Priority) -> str:
    from jobs.queue import get_queue

    return get_queue().enqueue(job_id, priority_rank=priority.queue_rank)


def revoke(task_id: str) -> None:
    from jobs.queue import get_queue

    get_queue().revoke(task_id)


def pending_task_ids() -> set[str]:
    from jobs.queue import get_queue

    return get_queue().pending_task_ids()


def depth() -> int:
    from jobs.queue import get_queue

    return get_queue().depth()
