"""Shared fixtures: every test that touches storage gets its own data directory and database.

With COURTSIDE_TEST_CLUSTER=1 every such test runs against real PostgreSQL and Redis servers
(started once for the session, see tests/servers.py) instead of SQLite files: the same tests
then prove the services on the scale-out parts, e.g.
`COURTSIDE_TEST_CLUSTER=1 .venv/bin/python -m pytest tests/platform -m "not e2e"`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from backend.config import get_settings
from backend.db import init_db, reset_engines, session_scope
from jobs import queue as job_queue

# Env vars that would point a test at the developer's real data, or change what it measures.
_DATA_ENV_VARS = (
    "NETBALL_DETECTOR_PRECISION",
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


CLUSTER_ENV_VAR = "COURTSIDE_TEST_CLUSTER"


@pytest.fixture(scope="session")
def cluster_servers() -> Iterator[tuple]:
    """Real Redis and PostgreSQL on loopback for the whole session; skipped (with the reason)
    where the Debian packages are not installed."""
    from tests import servers

    reason = servers.unavailable_reason()
    if reason:
        pytest.skip(f"scale-out servers unavailable: {reason}")
    redis_server = servers.start_redis()
    try:
        postgres = servers.start_postgres()
    except Exception:
        redis_server.stop()
        raise
    yield redis_server, postgres
    redis_server.stop()
    postgres.stop()


def point_at_cluster(monkeypatch: pytest.MonkeyPatch, cluster: tuple) -> None:
    """A fresh PostgreSQL database and an empty Redis for one test."""
    redis_server, postgres = cluster
    redis_server.flushall()
    monkeypatch.setenv("DATABASE_URL", postgres.create_database())
    monkeypatch.setenv("NETBALL_QUEUE_URL", redis_server.url())


@pytest.fixture(scope="session", autouse=True)
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One detector export cache for the whole session: an OpenVINO export per input shape
    costs seconds, and every test's fresh data dir would otherwise export again."""
    folder = tmp_path_factory.mktemp("model-cache")
    previous = os.environ.get("NETBALL_MODEL_CACHE_DIR")
    os.environ["NETBALL_MODEL_CACHE_DIR"] = str(folder)
    get_settings.cache_clear()
    get_settings()  # the ultralytics offline switches, before any test imports it
    yield folder
    if previous is None:
        os.environ.pop("NETBALL_MODEL_CACHE_DIR", None)
    else:
        os.environ["NETBALL_MODEL_CACHE_DIR"] = previous
    get_settings.cache_clear()


@pytest.fixture
def data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A fresh NETBALL_DATA_DIR with folders and schema created; settings and engines reset."""
    folder = tmp_path / "data"
    monkeypatch.setenv("NETBALL_DATA_DIR", str(folder))
    for name in _DATA_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    if os.environ.get(CLUSTER_ENV_VAR) == "1" or request.node.get_closest_marker("cluster"):
        point_at_cluster(monkeypatch, request.getfixturevalue("cluster_servers"))
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
