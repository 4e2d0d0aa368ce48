"""What the Admin page and `health` show: workers, queue, throughput, and plain-language checks."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from backend.config import get_settings
from backend.models import Job, JobStatus, Priority, utcnow
from backend.services import queue as job_queue
from backend.services.workers import WorkerStatus, list_workers

DISK_WARN_USED_FRACTION = 0.85
DISK_ERROR_USED_FRACTION = 0.95
# Queued jobs older than this with a live worker suggest the workers are saturated.
QUEUE_WAIT_WARN_S = 600.0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class RunningJob:
    job_id: str
    original_name: str
    progress: float
    fps: float | None
    eta_s: float | None
    started_at: datetime | None
    heartbeat_at: datetime | None
    worker_pid: int | None
    worker_host: str | None = None
    worker_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"], data["heartbeat_at"] = _iso(self.started_at), _iso(self.heartbeat_at)
        return data


@dataclass(frozen=True)
class ProcessorStatus:
    """The queue and every registered worker. The consumer_* fields summarise the live ones
    (kept from the one-machine days: alive = any worker alive, pid = the first one's)."""

    configured_workers: int
    consumer_alive: bool
    consumer_pid: int | None
    last_heartbeat_at: datetime | None
    heartbeat_age_s: float | None
    queue_depth: dict[str, int]
    queued_total: int
    running: list[RunningJob]
    workers: list[WorkerStatus] = field(default_factory=list)
    queue: str = ""

    @property
    def live_workers(self) -> list[WorkerStatus]:
        return [w for w in self.workers if w.alive]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_heartbeat_at"] = _iso(self.last_heartbeat_at)
        data["running"] = [job.to_dict() for job in self.running]
        data["workers"] = [worker.to_dict() for worker in self.workers]
        return data


def _queue_location() -> str:
    try:
        return job_queue.describe()
    except Exception as exc:
        return f"unavailable ({exc})"


def processor_status(*, session: Session) -> ProcessorStatus:
    workers = list_workers(session=session)
    live = [w for w in workers if w.alive]
    # The freshest beat says most about the pool; with none alive, the last one ever seen.
    latest = max(workers, key=lambda w: w.heartbeat_at, default=None)
    depth = {p.value: 0 for p in Priority}
    for priority, count in session.exec(
        select(Job.priority, func.count())
        .where(Job.status == JobStatus.queued.value)
        .group_by(Job.priority)
    ).all():
        depth[priority] = int(count)
    running = [
        RunningJob(
            j.id,
            j.original_name,
            j.progress,
            j.fps,
            j.eta_s,
            j.started_at,
            j.heartbeat_at,
            j.worker_pid,
            j.worker_host,
            j.worker_id,
        )
        for j in session.exec(
            select(Job).where(Job.status == JobStatus.running.value).order_by(col(Job.started_at))
        ).all()
    ]
    return ProcessorStatus(
        configured_workers=sum(w.processes for w in live) if live else get_settings().workers,
        consumer_alive=bool(live),
        consumer_pid=live[0].pid if live else (latest.pid if latest else None),
        last_heartbeat_at=latest.heartbeat_at if latest else None,
        heartbeat_age_s=latest.heartbeat_age_s if latest else None,
        queue_depth=depth,
        queued_total=sum(depth.values()),
        running=running,
        workers=workers,
        queue=_queue_location(),
    )


@dataclass(frozen=True)
class JobMetrics:
    completed_last_hour: int
    failed_last_hour: int
    completed_last_day: int
    failed_last_day: int
    mean_fps: float | None
    mean_wait_s: float | None
    mean_run_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def job_metrics(*, session: Session) -> JobMetrics:
    now = utcnow()
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    finished = session.exec(
        select(Job).where(
            col(Job.finished_at) >= day_ago,
            col(Job.status).in_([JobStatus.completed.value, JobStatus.failed.value]),
        )
    ).all()

    def count(status: JobStatus, since: datetime) -> int:
        return sum(
            1
            for j in finished
            if j.status == status.value and j.finished_at and j.finished_at >= since
        )

    completed = [j for j in finished if j.status == JobStatus.completed.value]
    started = session.exec(select(Job).where(col(Job.started_at) >= day_ago)).all()
    return JobMetrics(
        completed_last_hour=count(JobStatus.completed, hour_ago),
        failed_last_hour=count(JobStatus.failed, hour_ago),
        completed_last_day=count(JobStatus.completed, day_ago),
        failed_last_day=count(JobStatus.failed, day_ago),
        mean_fps=_mean([j.fps for j in completed if j.fps]),
        mean_wait_s=_mean([j.wait_s for j in started if j.wait_s is not None]),
        mean_run_s=_mean([j.run_s for j in completed if j.run_s is not None]),
    )


def throughput_series(*, session: Session, hours: int = 24) -> list[dict[str, Any]]:
    """One row per hour (oldest first) with the jobs completed and failed in that hour."""
    if hours < 1:
        hours = 1
    now = utcnow()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    buckets = {start + timedelta(hours=i): {"completed": 0, "failed": 0} for i in range(hours)}
    rows = session.exec(
        select(Job.status, Job.finished_at).where(
            col(Job.finished_at) >= start,
            col(Job.status).in_([JobStatus.completed.value, JobStatus.failed.value]),
        )
    ).all()
    for status, finished_at in rows:
        hour = finished_at.replace(minute=0, second=0, microsecond=0)
        if hour in buckets:
            buckets[hour][status] += 1
    return [{"hour": _iso(hour), **counts} for hour, counts in buckets.items()]


@dataclass(frozen=True)
class HealthCheck:
    name: str
    status: str  # "ok" | "warn" | "error"
    detail: str


@dataclass
class HealthReport:
    checks: list[HealthCheck] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    # backend.pipeline.model.ModelDescription.to_dict() when the weights could be resolved.
    model: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        states = {c.status for c in self.checks}
        return "error" if "error" in states else "warn" if "warn" in states else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": [asdict(c) for c in self.checks],
            "recommendations": list(self.recommendations),
            "model": self.model,
        }


def health(*, session: Session) -> HealthReport:
    report = HealthReport()
    settings = get_settings()

    def add(name: str, status: str, detail: str, advice: str | None = None) -> None:
        report.checks.append(HealthCheck(name, status, detail))
        if advice:
            report.recommendations.append(advice)

    try:
        started = time.perf_counter()
        session.execute(text("SELECT 1"))
        jobs = session.exec(select(func.count()).select_from(Job)).one()
        add("database", "ok", f"{jobs} job(s), answered in {time.perf_counter() - started:.3f} s")
    except Exception as exc:
        add(
            "database",
            "error",
            f"cannot query the job store: {exc}",
            "check DATABASE_URL and run: python -m backend init",
        )

    try:
        queued = session.exec(
            select(Job.id, Job.queue_task_id).where(Job.status == JobStatus.queued.value)
        ).all()
        # Checked first: reading a deleted SQLite queue would create an empty file in its place.
        problem = job_queue.current().verify()
        pending = job_queue.pending_task_ids() if problem is None else set()
        lost = [job_id for job_id, task_id in queued if task_id not in pending]
        detail = f"{len(pending)} task(s) waiting in {job_queue.describe()}"
        if problem is not None:
            add(
                "queue",
                "error",
                f"{problem.reason}; {len(queued)} queued job(s) in the job table",
                "a running worker rebuilds a damaged queue from the job table within seconds; "
                "start one if none runs: python huey_worker.py"
                if problem.rebuildable
                else "start the queue server or fix NETBALL_QUEUE_URL",
            )
        elif lost:
            add(
                "queue",
                "warn",
                f"{detail}; {len(lost)} queued job(s) have no queue message",
                "the worker sends lost queue messages again within seconds; start one if "
                "none runs: python huey_worker.py",
            )
        else:
            add("queue", "ok", detail)
    except Exception as exc:
        add(
            "queue",
            "error",
            f"cannot open the queue {_queue_location()}: {exc}",
            "check NETBALL_QUEUE_URL (Redis) or that NETBALL_QUEUE_PATH is on a writable disk",
        )

    status = processor_status(session=session)
    if status.consumer_alive:
        hosts = ", ".join(f"{w.host} pid {w.pid}" for w in status.live_workers)
        detail = (
            f"{len(status.live_workers)} worker(s) alive ({hosts}) with "
            f"{status.configured_workers} process(es), {len(status.running)} running, "
            f"{status.queued_total} queued"
        )
        oldest = session.exec(
            select(func.min(Job.queued_at)).where(Job.status == JobStatus.queued.value)
        ).one()
        if oldest is not None and (utcnow() - oldest).total_seconds() > QUEUE_WAIT_WARN_S:
            add(
                "workers",
                "warn",
                detail + f"; oldest queued job waits over {QUEUE_WAIT_WARN_S / 60:.0f} min",
                "jobs wait long: start more workers (NETBALL_WORKERS) or lower imgsz",
            )
        else:
            add("workers", "ok", detail)
    else:
        seen = (
            f"last heartbeat {status.heartbeat_age_s:.0f} s ago"
            if status.heartbeat_age_s is not None
            else "not running"
        )
        level = "error" if status.queued_total or status.running else "warn"
        add(
            "workers",
            level,
            f"no live worker ({seen}); {status.queued_total} job(s) queued",
            "start the worker: python huey_worker.py (./run.sh starts it)",
        )
    stale_before = utcnow() - timedelta(seconds=settings.heartbeat_timeout_s)
    stuck = [
        r.job_id for r in status.running if not r.heartbeat_at or r.heartbeat_at < stale_before
    ]
    if stuck:
        add(
            "jobs",
            "warn",
            f"running job(s) without a heartbeat: {', '.join(stuck)}",
            "restart the worker; it re-queues or fails jobs whose worker died",
        )

    try:
        from backend.pipeline.model import describe_model

        model = describe_model(settings.model_path)
        report.model = model.to_dict()
        check = "sha256 verified" if model.verified else "custom weights, sha256"
        add(
            "model",
            "ok",
            f"{model.name}, {model.size_bytes / 1e6:.1f} MB, {check} {model.sha256[:12]}…",
        )
    except Exception as exc:
        add("model", "error", str(exc), "reinstall the weights: ./run.sh")

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        disk = shutil.disk_usage(settings.data_dir)
        used = 1 - disk.free / disk.total
        detail = f"{used:.0%} of {disk.total / 1e9:.1f} GB used, {disk.free / 1e9:.1f} GB free"
        if used >= DISK_ERROR_USED_FRACTION:
            add("disk", "error", detail, f"disk {used:.0%} full: run storage cleanup now")
        elif used >= DISK_WARN_USED_FRACTION:
            add("disk", "warn", detail, f"disk {used:.0%} full: run storage cleanup")
        else:
            add("disk", "ok", detail)
    except OSError as exc:
        add(
            "disk",
            "error",
            f"cannot read disk usage of {settings.data_dir}: {exc}",
            "check NETBALL_DATA_DIR exists and is readable",
        )
    return report
