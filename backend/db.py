"""Engine and sessions for the job store.

SQLite (the default) runs in WAL mode with a busy timeout so the dashboard, the CLI and several
worker processes can read and write the same file at once. The schema is versioned: `init_db()`
creates missing tables and applies the numbered upgrades in `MIGRATIONS` exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlmodel import Session, SQLModel, create_engine

from backend.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _add_job_phase(session: Session) -> None:
    """Version 2: Job.phase (what a running job waits for). Finished rows are done, running
    ones were analysing as far as anyone can tell now."""
    session.execute(text("ALTER TABLE job ADD COLUMN phase VARCHAR NOT NULL DEFAULT 'queued'"))
    session.execute(
        text(
            "UPDATE job SET phase = CASE status WHEN 'queued' THEN 'queued' "
            "WHEN 'running' THEN 'analysing' ELSE 'done' END"
        )
    )


# Target version -> upgrade run once on databases created at an older version. Version 1 is the
# schema `SQLModel.metadata.create_all` builds from backend.models; a later change that needs
# more than a new table adds its upgrade here (e.g. `ALTER TABLE job ADD COLUMN ...`).
MIGRATIONS: dict[int, Callable[[Session], None]] = {2: _add_job_phase}
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


def _create_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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
    SQLModel.metadata.create_all(engine)
    insert = text("INSERT INTO schema_version (version) VALUES (:version)")
    with Session(engine) as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)"))
        current = session.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
        if current is None:
            # A fresh database: create_all just built the latest schema.
            current = SCHEMA_VERSION
            session.execute(insert, {"version": current})
        for version in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](session)
            session.execute(insert, {"version": version})
        session.commit()
    return SCHEMA_VERSION


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
