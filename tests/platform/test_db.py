"""The job store: SQLite pragmas, versioned schema upgrades, sessions, DATABASE_URL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, inspect, text
from sqlmodel import select

from backend import db
from backend.config import get_settings
from backend.models import JOB_STATUS_CREATED_INDEX, Job


def test_sqlite_runs_in_wal_mode_with_busy_timeout(data_dir):
    if db.get_engine().dialect.name != "sqlite":
        pytest.skip("SQLite pragmas (COURTSIDE_TEST_CLUSTER runs this suite on PostgreSQL)")
    with db.get_engine().connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000  # the default
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (data_dir / "app.db").is_file()


def test_engine_is_created_once_per_url(data_dir, tmp_path):
    assert db.get_engine() is db.get_engine()
    other = db.get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    assert other is not db.get_engine()


def test_init_db_is_idempotent(data_dir):
    assert db.init_db() == db.init_db() == db.SCHEMA_VERSION
    with db.get_engine().connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
    # A fresh database records every version create_all already includes, once.
    assert sorted(versions) == sorted({1, *db.MIGRATIONS})
    assert {"job", "jobfile", "schema_version", "worker"} <= set(
        inspect(db.get_engine()).get_table_names()
    )


def test_upgrades_run_once_in_order(data_dir, monkeypatch):
    calls = []

    def add_notes(session):
        calls.append(99)  # once, although init_db runs twice
        session.execute(text("ALTER TABLE job ADD COLUMN notes TEXT"))

    # A version merged later (from another branch) than the ones this database has had.
    monkeypatch.setattr(db, "MIGRATIONS", {**db.MIGRATIONS, 99: add_notes})
    monkeypatch.setattr(db, "SCHEMA_VERSION", 99)
    assert db.init_db() == 99
    assert db.init_db() == 99
    assert calls == [99]
    columns = {c["name"] for c in inspect(db.get_engine()).get_columns("job")}
    assert "notes" in columns


def test_session_scope_commits_or_rolls_back(data_dir):
    with db.session_scope() as session:
        session.add(Job(original_name="kept.mp4"))
    with pytest.raises(RuntimeError), db.session_scope() as session:
        session.add(Job(original_name="dropped.mp4"))
        session.flush()
        raise RuntimeError("boom")
    with db.session_scope() as session:
        names = session.exec(select(Job.original_name)).all()
    assert names == ["kept.mp4"]


def test_database_url_selects_another_database(data_dir, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'jobs.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db.init_db()
    with db.session_scope() as session:
        session.add(Job(original_name="x.mp4"))
    assert (tmp_path / "elsewhere" / "jobs.db").is_file()
    with db.get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM job")).scalar() == 1


def test_version_2_adds_the_job_phase_to_an_older_database(data_dir):
    from backend.models import JobStatus
    from tests.platform.factories import make_job

    with db.session_scope() as session:
        ids = {
            status: make_job(session, status=status).id
            for status in (JobStatus.queued, JobStatus.running, JobStatus.completed)
        }
    # What a database made before Job.phase existed looks like.
    with db.get_engine().begin() as conn:
        conn.execute(text("ALTER TABLE job DROP COLUMN phase"))
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version (version) VALUES (1)"))
    assert db.init_db() == db.SCHEMA_VERSION
    with db.get_engine().connect() as conn:
        phases = dict(conn.execute(text("SELECT id, phase FROM job")).all())
    assert phases == {
        ids[JobStatus.queued]: "queued",
        ids[JobStatus.running]: "analysing",
        ids[JobStatus.completed]: "done",
    }


def test_a_version_1_database_gets_the_worker_id_column_once(data_dir):
    engine = db.get_engine()
    with engine.begin() as conn:  # what a database made before version 3 looks like
        conn.execute(text("DROP INDEX ix_job_worker_id"))
        conn.execute(text("ALTER TABLE job DROP COLUMN worker_id"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 3"))
    assert "worker_id" not in {c["name"] for c in inspect(engine).get_columns("job")}
    db.init_db()
    db.init_db()
    assert "worker_id" in {c["name"] for c in inspect(engine).get_columns("job")}
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
    assert sorted(versions) == sorted({1, *db.MIGRATIONS})


def test_an_older_database_gets_the_status_list_index_and_the_page_query_uses_it(data_dir):
    engine = db.get_engine()
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan (the PostgreSQL run checks the migration elsewhere)")
    with engine.begin() as conn:  # what a database made before version 4 looks like
        conn.execute(text(f"DROP INDEX {JOB_STATUS_CREATED_INDEX}"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 4"))
    assert JOB_STATUS_CREATED_INDEX not in {i["name"] for i in inspect(engine).get_indexes("job")}
    db.init_db()
    assert JOB_STATUS_CREATED_INDEX in {i["name"] for i in inspect(engine).get_indexes("job")}
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM job WHERE status = 'completed' "
                    "ORDER BY created_at DESC, id LIMIT 20 OFFSET 120"
                )
            )
        )
    # Newest first straight from the index: no sort of every completed job for each page.
    assert JOB_STATUS_CREATED_INDEX in plan and "TEMP B-TREE FOR ORDER BY" not in plan


def test_sqlite_connections_are_reused_by_many_threads_at_once(data_dir):
    engine = db.get_engine()
    if engine.dialect.name != "sqlite":
        pytest.skip("the SQLite pool (PostgreSQL keeps SQLAlchemy's default)")
    opened: list[object] = []
    event.listen(engine, "connect", lambda conn, _record: opened.append(conn))
    barrier = threading.Barrier(20)

    def read() -> None:
        with engine.connect() as conn:
            barrier.wait(timeout=10)  # 20 connections checked out at the same moment
            conn.execute(text("SELECT count(*) FROM job")).one()

    def round_of_reads() -> None:
        threads = [threading.Thread(target=read) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    round_of_reads()
    opened_by_first_round = len(opened)
    assert opened_by_first_round >= 19  # at most one was already open from init_db
    round_of_reads()
    round_of_reads()
    # Later rounds reuse them (the default pool of 5 closed every connection past the fifth
    # and opened it again next time, PRAGMAs and all).
    assert len(opened) == opened_by_first_round


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgres://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:////srv/app.db", "sqlite:////srv/app.db"),
    ],
)
def test_database_url_schemes(data_dir, monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    get_settings.cache_clear()
    assert get_settings().database_url == expected


def test_database_url_without_a_scheme_is_refused(data_dir, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "/srv/app.db")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="DATABASE_URL must look like sqlite:///"):
        get_settings()
