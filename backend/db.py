"""Engine and sessions for the job store: SQLite by default, PostgreSQL by DATABASE_URL.

SQLite (the default) runs in WAL mode with a busy timeout so the dashboard, the CLI and several
worker processes can read and write the same file at once. PostgreSQL serves workers on several
machines. The schema is versioned: `init_db()` creates missing tables and applies each numbered
upgrade in `MIGRATIONS` exactly once, on either database.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from backend.config import get_settings
from backend.services.errors import DatabaseBusy, DatabaseFull

# Any fixed number: PostgreSQL serialises init_db() of workers starting at once on this lock.
SCHEMA_LOCK_KEY = 0x436F7572  # "Cour"


def _has_column(session: Session, table: str, column: str) -> bool:
    """Upgrades check first, so one whose column a newer create_all already made is a no-op."""
    return column in {c["name"] for c in inspect(session.connection()).get_columns(table)}


# Retrying a whole unit of work when SQLite's own wait (busy timeout) was not enough: first
# pause, growth factor and longest pause between attempts, in seconds.
LOCK_RETRY_FIRST_PAUSE_S = 0.05
LOCK_RETRY_BACKOFF = 2.0
LOCK_RETRY_MAX_PAUSE_S = 2.0
# How long the worker keeps retrying the writes a job cannot lose (claim, final status): an
# admin freeing a full disk or ending a stuck lock within this time loses nothing.
WORKER_WRITE_DEADLINE_S = 1800.0
_LOCKED_MESSAGES = ("database is locked", "database table is locked", "database is busy")
_FULL_MESSAGE = "database or disk is full"

log = logging.getLogger(__name__)
T = TypeVar("T")


def _add_job_phase(session: Session) -> None:
    """Version 2: Job.phase (what a running job waits for). Finished rows are done, running
    ones were analysing as far as anyone can tell now."""
    if _has_column(session, "job", "phase"):
        return
    session.execute(text("ALTER TABLE job ADD COLUMN phase VARCHAR NOT NULL DEFAULT 'queued'"))
    session.execute(
        text(
            "UPDATE job SET phase = CASE status WHEN 'queued' THEN 'queued' "
            "WHEN 'running' THEN 'analysing' ELSE 'done' END"
        )
    )


def _add_job_worker_id(session: Session) -> None:
    """Version 3: Job.worker_id, the registered consumer (table `worker`) running the job.

    Jobs running under an older worker have none; recovery then judges them by their own
    heartbeat as before."""
    if _has_column(session, "job", "worker_id"):
        return
    session.execute(text("ALTER TABLE job ADD COLUMN worker_id VARCHAR(32)"))
    session.execute(text("CREATE INDEX IF NOT EXISTS ix_job_worker_id ON job (worker_id)"))


def _add_job_status_created_index(session: Session) -> None:
    """Version 4: an index on (status, created_at) for the job list filtered by status."""
    from backend.models import JOB_STATUS_CREATED_INDEX

    session.execute(
        text(f"CREATE INDEX IF NOT EXISTS {JOB_STATUS_CREATED_INDEX} ON job (status, created_at)")
    )


# Version -> upgrade run once on databases that have not had it. Version 1 is the schema
# `SQLModel.metadata.create_all` builds from backend.models; an upgrade is needed for more than
# a new table (e.g. `ALTER TABLE job ADD COLUMN ...`). Each applied version is recorded, so
# versions merged from branches in any order are each applied once (version 2 is Job.phase).
# The SQL must run on SQLite and PostgreSQL alike.
MIGRATIONS: dict[int, Callable[[Session], None]] = {
    2: _add_job_phase,
    3: _add_job_worker_id,
    4: _add_job_status_created_index,
}
SCHEMA_VERSION = max(MIGRATIONS, default=1)

# Keyed by (url, pid): a process forked by the worker must not reuse its parent's connections.
_engines: dict[tuple[str, int], Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: settings.database_url), created once per process."""
    url = url or get_settings().database_url
    key = (url, os.getpid())
    engine = _engines.get(key)
    if engine is None:
        engine = _create_engine(url)
        _engines[key] = engine
    return engine


# SQLite connections kept open for reuse. The API runs its endpoints on anyio's 40 worker
# threads; with SQLAlchemy's default of 5 (+10 overflow) every request beyond the fifth at
# once opened a new connection and ran the four PRAGMAs below: about 15% of a status
# request's CPU under 20 clients (benchmarks/README.md). An idle SQLite connection costs
# a file handle and a little memory.
SQLITE_POOL_SIZE = 40


def _create_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    busy_timeout_s = get_settings().db_busy_timeout_s
    pool = {"pool_size": SQLITE_POOL_SIZE} if path and path != ":memory:" else {}
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def reset_engines() -> None:
    """Forget cached engines (tests switch data directories between cases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def init_db(engine: Engine | None = None) -> int:
    """Create missing tables and apply pending upgrades; safe to call on every start.

    Returns the schema version now in place.
    """
    import backend.models
    import backend.models_competition  # noqa: F401

    engine = engine or get_engine()
    insert = text("INSERT INTO schema_version (version) VALUES (:version)")
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # Two hosts starting at once would both create tables; the second waits here.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        session.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)"))
        applied = {
            int(v) for v in session.execute(text("SELECT version FROM schema_version")).scalars()
        }
        # On the same connection, so the lock covers it (and SQLite sees one writer).
        SQLModel.metadata.create_all(session.connection())
        if not applied:
            # A fresh database: create_all just built the latest schema.
            for version in sorted({1, *MIGRATIONS}):
                session.execute(insert, {"version": version})
        else:
            for version in sorted(v for v in MIGRATIONS if v not in applied):
                MIGRATIONS[version](session)
                session.execute(insert, {"version": version})
        session.commit()
    return SCHEMA_VERSION


def is_locked_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and any(
        text in str(exc.orig).lower() for text in _LOCKED_MESSAGES
    )


def _busy(waited_s: float) -> DatabaseBusy:
    return DatabaseBusy(
        "the job database is busy: another program has held its write lock for "
        f"{waited_s:.0f} s or more. Nothing was changed; try again in a moment (a long "
        "backup or a stuck sqlite3 shell are the usual causes)."
    )


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises.

    A write lock held by another program past the busy timeout surfaces as DatabaseBusy (a
    ServiceError with a plain message), never as SQLAlchemy's "database is locked".
    """
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        if is_locked_error(exc):
            raise _busy(get_settings().db_busy_timeout_s) from exc
        if _FULL_MESSAGE in str(exc.orig).lower():
            raise DatabaseFull(
                "the disk holding the job database is full; nothing was changed. Free space "
                "(Admin clean-up or `python -m backend storage cleanup`) and try again."
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def retry_when_locked(
    work: Callable[[Session], T], *, deadline_s: float, what: str = "database write"
) -> T:
    """Run `work(session)` in its own session, again with growing pauses while the database
    stays locked or its disk full, until `deadline_s` has passed (then DatabaseBusy or
    DatabaseFull). `work` must be safe to repeat: each attempt is rolled back whole first."""
    started = time.monotonic()
    pause = LOCK_RETRY_FIRST_PAUSE_S
    while True:
        try:
            with session_scope() as session:
                return work(session)
        except (DatabaseBusy, DatabaseFull) as exc:
            waited = time.monotonic() - started
            if waited + pause > deadline_s:
                if isinstance(exc, DatabaseFull):
                    raise
                raise _busy(waited + get_settings().db_busy_timeout_s) from None
            log.warning("%s: %s; retrying in %.2f s", what, type(exc).__name__, pause)
            time.sleep(pause)
            pause = min(pause * LOCK_RETRY_BACKOFF, LOCK_RETRY_MAX_PAUSE_S)
