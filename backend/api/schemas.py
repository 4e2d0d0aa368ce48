"""Response models: they document the API (OpenAPI at /docs and /redoc) and the tests check
every response against them, so the documentation cannot drift from what is sent."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


def _example(**example: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class Pagination(BaseModel):
    model_config = _example(page=1, page_size=20, total=57, pages=3)
    page: int
    page_size: int
    total: int = Field(description="Items matching the filters, over all pages.")
    pages: int


class Meta(BaseModel):
    model_config = _example(
        timestamp="2025-03-01T10:15:02.120Z",
        request_id="4f1c9a2e8b7d4e0f9a1b2c3d4e5f6a7b",
        pagination={"page": 1, "page_size": 20, "total": 57, "pages": 3},
    )
    timestamp: str = Field(description="When the response was made, ISO 8601 UTC.")
    request_id: str | None = Field(description="Also in the X-Request-ID header and the log.")
    pagination: Pagination | None = None


class ErrorBody(BaseModel):
    model_config = _example(
        code="job_state_conflict",
        message="job 3f2a9c81d0e4 is running; cancel it first and delete it once it has stopped",
        details=None,
    )
    code: str = Field(description="Stable machine-readable code, e.g. job_not_found.")
    message: str = Field(description="What went wrong, written for a person.")
    details: Any = None


class Envelope(BaseModel, Generic[T]):
    """Every response body, errors included."""

    model_config = _example(
        success=True,
        data={},
        error=None,
        meta={"timestamp": "2025-03-01T10:15:02.120Z", "request_id": "4f1c9a2e8b7d"},
    )
    success: bool
    data: T | None
    error: ErrorBody | None
    meta: Meta


class Job(BaseModel):
    model_config = _example(
        id="3f2a9c81d0e4",
        original_name="round3-lightning-v-swifts.mp4",
        status="running",
        priority="normal",
        progress=0.42,
        frames_done=1890,
        frames_total=4500,
        fps=38.5,
        eta_s=67.8,
        error=None,
        attempts=1,
        cancel_requested=False,
        input_size_bytes=734003200,
        created_at="2025-03-01T10:00:00Z",
        queued_at="2025-03-01T10:00:00Z",
        started_at="2025-03-01T10:00:04Z",
        finished_at=None,
        heartbeat_at="2025-03-01T10:01:03Z",
        settings={"frame_stride": 3, "imgsz": 480, "team_names": {"A": "Lightning"}},
        video_info={"width": 1280, "height": 720, "fps": 30.0, "frames_total": 4500},
        allowed_actions=["cancel"],
    )
    id: str
    original_name: str
    status: str = Field(description="queued, running, completed, failed or cancelled.")
    priority: str = Field(description="low, normal or high.")
    progress: float = Field(description="0 to 1.")
    frames_done: int
    frames_total: int | None
    fps: float | None = Field(description="Frames analysed per second.")
    eta_s: float | None = Field(description="Seconds until done, estimated.")
    error: str | None
    attempts: int
    cancel_requested: bool
    input_size_bytes: int
    created_at: str
    queued_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    settings: dict[str, Any]
    video_info: dict[str, Any]
    allowed_actions: list[str] = Field(description="What the job's status allows now.")


class JobStatus(BaseModel):
    model_config = _example(
        id="3f2a9c81d0e4",
        status="running",
        progress=0.42,
        frames_done=1890,
        frames_total=4500,
        fps=38.5,
        eta_s=67.8,
        error=None,
        cancel_requested=False,
        attempts=1,
        started_at="2025-03-01T10:00:04Z",
        finished_at=None,
        heartbeat_at="2025-03-01T10:01:03Z",
        allowed_actions=["cancel"],
    )
    id: str
    status: str
    progress: float
    frames_done: int
    frames_total: int | None
    fps: float | None
    eta_s: float | None
    error: str | None
    cancel_requested: bool
    attempts: int
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    allowed_actions: list[str]


class Deleted(BaseModel):
    model_config = _example(job_id="3f2a9c81d0e4", deleted=True)
    job_id: str
    deleted: bool


class JobFile(BaseModel):
    model_config = _example(
        name="annotated.mp4",
        kind="video",
        role="output",
        relpath="outputs/annotated.mp4",
        size_bytes=52428800,
        sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        mime="video/mp4",
        created_at="2025-03-01T10:02:11Z",
        missing=False,
        download_url="/jobs/3f2a9c81d0e4/download/annotated.mp4",
    )
    name: str
    kind: str = Field(description="video, csv, json, image, log or archive.")
    role: str = Field(description="input, output or archive.")
    relpath: str = Field(description="Path inside the job's folder.")
    size_bytes: int
    sha256: str
    mime: str
    created_at: str
    missing: bool = Field(description="The file vanished from disk (found by storage cleanup).")
    download_url: str = Field(description="Path of the streamed, Range-capable download.")


class FileProblem(BaseModel):
    model_config = _example(
        job_id="3f2a9c81d0e4",
        relpath="outputs/tracks.csv",
        problem="sha256 changed",
        expected="9f86d081884c",
        found="2c26b46b68ff",
        message="outputs/tracks.csv of job 3f2a9c81d0e4: sha256 changed (registered ...)",
    )
    job_id: str
    relpath: str
    problem: str = Field(description="missing, size changed or sha256 changed.")
    expected: str = Field(description="As registered (bytes or sha256 prefix); empty if missing.")
    found: str = Field(description="On disk now; empty if missing.")
    message: str


class JobResult(BaseModel):
    model_config = _example(
        job_id="3f2a9c81d0e4",
        summary={"video": {"fps": 30.0, "frames_total": 4500}, "possession": {"A": 0.53}},
        players=[{"track_id": 3, "team": "A", "frames_seen": 4210, "distance_m": 812.4}],
        teams=[{"team": "A", "period": "all", "passes": 88, "goals": 11}],
        events=[{"frame": 312, "time_s": 10.4, "type": "pass", "team": "A", "track_id": 3}],
        events_total=245,
    )
    job_id: str
    summary: dict[str, Any] = Field(description="summary.json (with `analytics` after stage 2).")
    players: list[dict[str, Any]] = Field(description="players.csv rows; empty cells are null.")
    teams: list[dict[str, Any]] = Field(description="teams.csv rows (stage 2), else empty.")
    events: list[dict[str, Any]] = Field(description="One page of events; see meta.pagination.")
    events_total: int
    file_problems: list[FileProblem] = Field(
        description="Inputs and outputs missing or changed on disk since they were written."
    )


class HealthCheck(BaseModel):
    model_config = _example(name="workers", status="ok", detail="consumer pid 4242 alive")
    name: str
    status: str = Field(description="ok, warn or error.")
    detail: str


class Health(BaseModel):
    model_config = _example(
        status="warn",
        checks=[{"name": "workers", "status": "warn", "detail": "no live worker (not running)"}],
        recommendations=["start the worker: python huey_worker.py (./run.sh starts it)"],
        service="courtside",
        data_dir_id="a1b2c3d4e5f6",
    )
    status: str = Field(description="The worst of the checks: ok, warn or error.")
    checks: list[HealthCheck]
    recommendations: list[str] = Field(description="Plain advice for each problem found.")
    service: str
    data_dir_id: str = Field(description="Short hash of the data folder this API serves.")


class RunningJob(BaseModel):
    model_config = _example(
        job_id="3f2a9c81d0e4",
        original_name="match.mp4",
        progress=0.42,
        fps=38.5,
        eta_s=67.8,
        started_at="2025-03-01T10:00:04Z",
        heartbeat_at="2025-03-01T10:01:03Z",
        worker_pid=4311,
        worker_host="analysis-1",
        worker_id="9c2e4b7a1d0f3e56",
    )
    job_id: str
    original_name: str
    progress: float
    fps: float | None
    eta_s: float | None
    started_at: str | None
    heartbeat_at: str | None
    worker_pid: int | None
    worker_host: str | None = Field(description="NETBALL_WORKER_HOST of the machine running it.")
    worker_id: str | None = Field(description="The registered worker (see `workers`).")


class WorkerInfo(BaseModel):
    model_config = _example(
        id="9c2e4b7a1d0f3e56",
        host="analysis-1",
        pid=4242,
        processes=3,
        queue="redis://queue-host:6379/0",
        started_at="2025-03-01T09:00:00Z",
        heartbeat_at="2025-03-01T10:01:04Z",
        heartbeat_age_s=0.8,
        alive=True,
        stopped_at=None,
        running_jobs=["3f2a9c81d0e4"],
    )
    id: str
    host: str = Field(description="NETBALL_WORKER_HOST (default: the machine's host name).")
    pid: int = Field(description="The consumer's process id on its own host.")
    processes: int = Field(description="Jobs it analyses at once (--workers).")
    queue: str
    started_at: str
    heartbeat_at: str
    heartbeat_age_s: float
    alive: bool = Field(description="Heartbeat fresher than a few beats and not stopped.")
    stopped_at: str | None = Field(description="When it stopped or was found dead.")
    running_jobs: list[str]


class ProcessorStatus(BaseModel):
    model_config = _example(
        configured_workers=3,
        consumer_alive=True,
        consumer_pid=4242,
        last_heartbeat_at="2025-03-01T10:01:04Z",
        heartbeat_age_s=0.8,
        queue_depth={"low": 0, "normal": 2, "high": 0},
        queued_total=2,
        running=[],
        workers=[],
        queue="redis://queue-host:6379/0",
    )
    configured_workers: int = Field(description="Processes of all live workers together.")
    consumer_alive: bool = Field(description="Whether any worker is alive.")
    consumer_pid: int | None = Field(description="The first live worker's pid.")
    last_heartbeat_at: str | None = Field(description="The freshest worker heartbeat.")
    heartbeat_age_s: float | None
    queue_depth: dict[str, int]
    queued_total: int
    running: list[RunningJob]
    workers: list[WorkerInfo] = Field(
        description="Every worker seen in the last day, on any host, live ones first."
    )
    queue: str = Field(description="Where the queue lives (no credentials).")


class ThroughputHour(BaseModel):
    model_config = _example(hour="2025-03-01T10:00:00Z", completed=4, failed=0)
    hour: str
    completed: int
    failed: int


class ProcessorMetrics(BaseModel):
    model_config = _example(
        completed_last_hour=4,
        failed_last_hour=0,
        completed_last_day=31,
        failed_last_day=2,
        mean_fps=41.2,
        mean_wait_s=12.5,
        mean_run_s=188.0,
        throughput=[{"hour": "2025-03-01T10:00:00Z", "completed": 4, "failed": 0}],
    )
    completed_last_hour: int
    failed_last_hour: int
    completed_last_day: int
    failed_last_day: int
    mean_fps: float | None
    mean_wait_s: float | None
    mean_run_s: float | None
    throughput: list[ThroughputHour] = Field(description="Jobs finished per hour, oldest first.")


class JobUsage(BaseModel):
    model_config = _example(
        job_id="3f2a9c81d0e4", original_name="match.mp4", status="completed", bytes=812, files=9
    )
    job_id: str
    original_name: str
    status: str
    bytes: int
    files: int


class StorageStats(BaseModel):
    model_config = _example(
        total_bytes=9876543210,
        total_files=412,
        bytes_by_kind={"video": 9000000000, "csv": 800000000},
        files_by_kind={"video": 80, "csv": 160},
        jobs=40,
        largest_jobs=[],
        disk_total_bytes=500000000000,
        disk_free_bytes=320000000000,
        data_dir="/srv/courtside/data",
        disk_used_fraction=0.36,
    )
    total_bytes: int
    total_files: int
    bytes_by_kind: dict[str, int]
    files_by_kind: dict[str, int]
    jobs: int
    largest_jobs: list[JobUsage]
    disk_total_bytes: int
    disk_free_bytes: int
    data_dir: str
    disk_used_fraction: float
    file_problems: list[FileProblem] = Field(
        description="Inputs and outputs missing or changed on disk since they were written."
    )


class CleanupReport(BaseModel):
    model_config = _example(
        dry_run=True,
        jobs=[{"job_id": "3f2a9c81d0e4", "original_name": "a.mp4", "status": "failed",
               "bytes": 1048576, "files": 3}],
        orphan_dirs=[],
        missing_files=[],
        bytes_freed=1048576,
    )  # fmt: skip
    dry_run: bool = Field(description="True: nothing was removed, this is what would be.")
    jobs: list[JobUsage]
    orphan_dirs: list[str]
    missing_files: list[str]
    bytes_freed: int
