"""Shared fixtures: every test that touches storage gets its own data directory and database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from backend.config import get_settings
from backend.db import init_db, reset_engines, session_scope
from jobs import queue as job_queue

# Env vars that would point a test at the developer's real data.
_DATA_ENV_VARS = (
    "DATABASE_URL",
    "NETBALL_QUEUE_URL",
    "NETBALL_QUEUE_PATH",
    "NETBALL_WORKER_HOST",
    "NETBALL_INBOX_DIR",
    "NETBALL_MAX_UPLOAD_MB",
    "NETBALL_HEARTBEAT_TIMEOUT_S",
    "NETBALL_MAX_ATTEMPTS",
    "NETBALL_WORKERS",
    "NETBALL_ADMIN_PASSWORD",
    "NETBALL_API_KEY",
    "NETBALL_API_KEY_READS",
    "NETBALL_API_CORS_ORIGINS",
    "NETBALL_API_PUBLIC_URL",
    "NETBALL_API_PORT",
    "NETBALL_CACHE_MAX_AGE_DAYS",
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh NETBALL_DATA_DIR with folders and schema created; settings and engines reset."""
    folder = tmp_path / "data"
    monkeypatch.setenv("NETBALL_DATA_DIR", str(folder))
    for name in _DATA_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    reset_engines()
    job_queue.use_queue(None)
    get_settings().ensure_dirs()
    init_db()
    job_queue.install()
    yield folder
    reset_engines()
    job_queue.use_queue(None)
    get_settings.cache_clear()


@pytest.fixture
def session(data_dir: Path) -> Iterator[Session]:
    with session_scope() as db_session:
        yield db_session
