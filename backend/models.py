"""Tables of the job store: one Job per analysed video, one JobFile per file a job owns.

Timestamps are time-zone aware UTC (`utcnow()`); SQLModel stores them as UTC in any database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({JobStatus.completed, JobStatus.failed, JobStatus.cancelled})
ACTIVE_STATUSES = frozenset({JobStatus.queued, JobStatus.running})


class JobPhase(StrEnum):
    """What a job is doing now: the pipeline's phases (backend.pipeline.settings.PHASES) framed
    by the queue's. Every finished job (completed, failed or cancelled) is `done`."""

    queued = "queued"
    starting = "starting"
    loading_model = "loading_model"
    learning_teams = "learning_teams"
    analysing = "analysing"
    writing_outputs = "writing_outputs"
    done = "done"

    @property
    def label(self) -> str:
        return PHASE_LABELS[self]


PHASE_LABELS = {
    JobPhase.queued: "waiting for a free worker",
    JobPhase.starting: "starting",
    JobPhase.loading_model: "loading the detector",
    JobPhase.learning_teams: "learning the team colours",
    JobPhase.analysing: "analysing frames",
    JobPhase.writing_outputs: "writing the outputs",
    JobPhase.done: "done",
}


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"

    @property
    def queue_rank(self) -> int:
        """Huey task priority: higher numbers are dequeued first."""
        return {"low": 0, "normal": 10, "high": 20}[self.value]


class FileKind(StrEnum):
    video = "video"
    csv = "csv"
    json = "json"
    image = "image"
    log = "log"
    archive = "archive"


class FileRole(StrEnum):
    input = "input"
    output = "output"
    archive = "archive"


JOB_STATUS_CREATED_INDEX = "ix_job_status_created_at"


class JobBase(SQLModel):
    original_name: str
    priority: str = Field(default=Priority.normal.value, index=True)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Job(JobBase, table=True):
    # The job list filtered by status, newest first (Jobs page, API, CLI): without it SQLite
    # sorted every job of that status for each page (db.py version 4).
    __table_args__ = (Index(JOB_STATUS_CREATED_INDEX, "status", "created_at"),)

    id: str = Field(default_factory=new_job_id, primary_key=True, max_length=32)
    input_name: str = ""
    input_size_bytes: int = 0
    status: str = Field(default=JobStatus.queued.value, index=True)
    phase: str = JobPhase.queued.value
    attempts: int = 0
    # Automatic re-queues after a worker died; compared with settings.max_attempts.
    crash_count: int = 0
    progress: float = 0.0
    frames_done: int = 0
    frames_total: int | None = None
    fps: float | None = None
    eta_s: float | None = None
    error: str | None = None
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utcnow, index=True)
    queued_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = Field(default=None, index=True)
    heartbeat_at: datetime | None = None
    worker_pid: int | None = None
    worker_host: str | None = None
    # The WorkerProcess (consumer) whose analysis process runs the job; its heartbeat says
    # whether the job is still looked after, from any host.
    worker_id: str | None = Field(default=None, index=True, max_length=32)
    queue_task_id: str | None = None
    video_info: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))

    @property
    def status_enum(self) -> JobStatus:
        return JobStatus(self.status)

    @property
    def team_names(self) -> dict[str, str]:
        return dict(self.settings.get("team_names") or {})

    @property
    def wait_s(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.started_at - self.queued_at).total_seconds()

    @property
    def run_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


class JobFile(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("job_id", "relpath"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="job.id", index=True, ondelete="CASCADE")
    role: str = FileRole.output.value
    kind: str
    name: str
    # Relative to the job's folder data/jobs/<job_id>/, e.g. "outputs/tracks.csv".
    relpath: str
    size_bytes: int
    sha256: str
    mime: str
    created_at: datetime = Field(default_factory=utcnow)
    # Set by storage cleanup when the file vanished from disk behind the database's back.
    missing: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        data["created_at"] = self.created_at.isoformat()
        return data


class JobAnalysis(SQLModel, table=True):
    """The analyst's inputs to the netball analytics stage of one job (stage 2).

    Kept apart from Job.settings, which configure detection: these change after the analysis
    (positions, quarters, attacking direction, event corrections), and each change reruns
    only stage 2. `inputs` holds backend.analytics.inputs.AnalyticsInputs fields except the
    homography (from the job's calibration) and team names (from its settings).
    """

    job_id: str = Field(foreign_key="job.id", primary_key=True, ondelete="CASCADE")
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)
    # Last stage-2 run: when, how long, and its error when it failed (outputs then unchanged).
    analysed_at: datetime | None = None
    analysis_s: float | None = None
    error: str | None = None


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]


class WorkerProcess(SQLModel, table=True):
    """One running (or stopped) `huey_worker.py` consumer: the registry every host reads.

    The consumer beats `heartbeat_at` every couple of seconds; a row whose beat is old means
    the consumer is gone, wherever it ran, and its running jobs can be recovered by any other.
    """

    __tablename__ = "worker"

    id: str = Field(default_factory=new_worker_id, primary_key=True, max_length=32)
    host: str = Field(index=True)
    pid: int
    processes: int
    queue: str = ""
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow, index=True)
    # Set when the consumer stopped cleanly (SIGTERM, Ctrl-C) or was found dead.
    stopped_at: datetime | None = None
