"""The job table is the truth; the queue only carries job ids. These put the two back in step.

A queue store that was deleted or corrupted (the SQLite file) is replaced by an empty one and
refilled from the queued jobs; messages that vanished from a queue that still works (a Redis
server restarted without persistence, FLUSHDB) are sent again once they are seen missing at
two checks in a row (a message being taken by a worker is missing for only a moment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session, select

from backend.models import Job, JobStatus
from backend.services import queue as job_queue
from backend.services.jobs import requeue
from backend.services.recovery import RecoveryAction, requeue_lost_jobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueRepair:
    problem: str
    rebuilt: bool
    detail: str
    requeued: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if not self.rebuilt:
            return f"{self.problem}; jobs wait until it is back"
        return (
            f"{self.problem}: {self.detail}; rebuilt the queue from the job table: "
            f"{len(self.requeued)} queued job(s) queued again"
        )


def repair_queue(*, session: Session) -> QueueRepair | None:
    """Check the queue's store; rebuild it from the job table when it is damaged or gone."""
    queue = job_queue.current()
    problem = queue.verify()
    if problem is None:
        return None
    if not problem.rebuildable:
        return QueueRepair(problem.reason, rebuilt=False, detail="")
    detail = queue.rebuild()
    actions = requeue_lost_jobs(session=session, pending_task_ids=queue.pending_task_ids())
    return QueueRepair(problem.reason, True, detail, [a.job_id for a in actions])


@dataclass
class LostMessageWatch:
    """Queued jobs without a queue message, sent again when missing at two checks in a row."""

    suspects: set[str] = field(default_factory=set)

    def check(self, *, session: Session) -> list[RecoveryAction]:
        pending = job_queue.pending_task_ids()
        queued = session.exec(select(Job).where(Job.status == JobStatus.queued.value)).all()
        missing = {job.id: job for job in queued if job.queue_task_id not in pending}
        actions = []
        for job_id in sorted(self.suspects & missing.keys()):
            job = missing[job_id]
            session.refresh(job)
            # Its message may have been sent again meanwhile (a retry, another host's watch).
            if job.status != JobStatus.queued.value or job.queue_task_id in pending:
                continue
            requeue(session=session, job=job)
            actions.append(RecoveryAction(job.id, "requeued", "its queue message was lost"))
        self.suspects = set(missing) - {a.job_id for a in actions}
        return actions
