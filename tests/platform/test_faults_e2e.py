"""Faults with a real worker process: a locked database, a full disk, killed and stopped
workers, and the API or CLI restarted while jobs run. Nothing may be lost or left running."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import select

from backend.config import get_settings
from backend.db import init_db, reset_engines, session_scope
from backend.models import JobFile
from backend.services import jobs as job_service
from backend.services.errors import OutputNotFound
from backend.services.files import job_dir, resolve_job_file
from backend.services.storage import ORPHAN_MIN_AGE_S, cleanup_storage
from tests.platform.test_worker_e2e import (
    JOB_TIMEOUT_S,
    PROJECT_ROOT,
    SLOW,
    job_now,
    submit,
    wait_for,
    wait_status,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOCK_HELD_S = 10.0
SMALL_DISK_MB = 48


def assert_database_intact() -> None:
    """Whatever a fault did, the job database must pass SQLite's own integrity check."""
    with session_scope() as session:
        result = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
    assert result == "ok", f"PRAGMA integrity_check: {result}"


def _output_rows(job_id: str) -> list[JobFile]:
    with session_scope() as session:
        return list(
            session.exec(
                select(JobFile).where(JobFile.job_id == job_id, JobFile.role == "output")
            ).all()
        )


def _assert_no_results_offered(job_id: str) -> None:
    """Only the attempt's log may be registered: no partial output is ever offered."""
    assert {row.name for row in _output_rows(job_id)} <= {"run.log"}
    with session_scope() as session, pytest.raises(OutputNotFound):
        resolve_job_file(session=session, job_id=job_id, file_type="tracks")


def _hold_write_lock(db_path: Path, seconds: float, held: threading.Event) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    conn.execute("BEGIN IMMEDIATE")  # the write lock: what a long backup or a shell holds
    held.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_a_locked_database_drops_progress_never_the_job(start_worker, clips, monkeypatch):
    monkeypatch.setenv("NETBALL_DB_BUSY_TIMEOUT_S", "0.5")
    get_settings.cache_clear()
    reset_engines()
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    queued = submit(clips["short"])
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    held = threading.Event()
    locker = threading.Thread(
        target=_hold_write_lock, args=(get_settings().data_dir / "app.db", LOCK_HELD_S, held)
    )
    locker.start()
    held.wait(10)
    cli = [sys.executable, "-m", "backend"]
    reader = subprocess.Popen(
        [*cli, "status", job.id, "--json"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = subprocess.Popen(
        [*cli, "cancel", queued.id],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    read_out, read_err = reader.communicate(timeout=60)
    _, write_err = writer.communicate(timeout=60)
    assert locker.is_alive(), "the lock ended before the CLI ran: the test proved nothing"
    locker.join()
    assert reader.returncode == 0, read_err  # WAL: readers never wait for a writer
    assert '"status": "running"' in read_out
    assert writer.returncode == 1
    assert "the job database is busy" in write_err
    assert "database is locked" not in write_err + read_err
    done = wait_status(job.id, {"completed", "failed"}, worker)
    assert (done.status, done.attempts, done.crash_count) == ("completed", 1, 0), done.error
    assert wait_status(queued.id, {"completed", "failed"}, worker).status == "completed"
    log = worker.log_tail()
    assert "dropped" in log, "no progress write met the lock: the test proved nothing"
    assert "Traceback" not in log
    assert_database_intact()


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """NETBALL_DATA_DIR on a real SMALL_DISK_MB tmpfs (database, queue, jobs and all)."""
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_MB}m", "tmpfs", str(folder)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    monkeypatch.setenv("NETBALL_DATA_DIR", str(folder))
    for name in ("DATABASE_URL", "NETBALL_QUEUE_PATH", "NETBALL_INBOX_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    reset_engines()
    get_settings().ensure_dirs()
    init_db()
    yield folder
    reset_engines()
    get_settings.cache_clear()
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave_free_bytes: int) -> Path:
    """An old orphan folder (what cleanup may remove) taking all but `leave_free_bytes`."""
    ballast = folder / "jobs" / "0ld0rphan000" / "ballast.bin"
    ballast.parent.mkdir(parents=True)
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with ballast.open("wb") as out:
        out.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = free - leave_free_bytes
        while remaining > 0:
            out.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)
    old = time.time() - ORPHAN_MIN_AGE_S - 60
    for item in (ballast, ballast.parent):
        os.utime(item, (old, old))
    return ballast


def test_disk_full_fails_the_job_plainly_then_cleanup_and_retry_succeed(
    small_disk, start_worker, clips
):
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    free_before_outputs = 600 * 1024  # the input is stored; the annotated video needs more
    _fill(small_disk, free_before_outputs)
    # The whole disk is full, the database's too: the worker waits to record the failure.
    wait_for(lambda: "DatabaseFull; retrying" in worker.log_tail() or job_now(job.id).status
             == "failed", JOB_TIMEOUT_S, "the disk to fill")  # fmt: skip
    _assert_no_results_offered(job.id)
    with session_scope() as session:
        report = cleanup_storage(session=session, dry_run=False)
    assert report.orphan_dirs == ["0ld0rphan000"] and report.bytes_freed > 30 * 1024**2
    failed = wait_status(job.id, {"failed", "completed"}, worker)
    assert failed.status == "failed"
    assert failed.error.startswith("disk full while writing the outputs: "), failed.error
    assert " MB free on " in failed.error and "it needs about " in failed.error
    _assert_no_results_offered(job.id)
    with session_scope() as session:
        integrity = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
    assert integrity == "ok"
    with session_scope() as session:
        job_service.retry_job(session=session, job_id=job.id)
    done = wait_status(job.id, {"completed", "failed"}, worker)
    assert (done.status, done.error) == ("completed", None)
    assert {row.name for row in _output_rows(job.id)} >= {"annotated.mp4", "summary.json"}
    assert_database_intact()


def test_sigkill_mid_job_offers_no_partial_results_and_spares_other_jobs(start_worker, clips):
    worker = start_worker(2)
    victim = submit(clips["long"], settings=SLOW)
    neighbour = submit(clips["long"], settings=SLOW)
    wait_for(
        lambda: job_now(victim.id).frames_done > 0 and job_now(neighbour.id).frames_done > 0,
        JOB_TIMEOUT_S, "both jobs running",
    )  # fmt: skip
    os.kill(job_now(victim.id).worker_pid, signal.SIGKILL)  # one analysis process alone
    _assert_no_results_offered(victim.id)
    survivor = wait_status(neighbour.id, {"completed", "failed"}, worker)
    assert (survivor.status, survivor.attempts, survivor.crash_count) == ("completed", 1, 0)
    redone = wait_status(victim.id, {"completed", "failed"}, worker)
    assert (redone.status, redone.attempts, redone.crash_count) == ("completed", 2, 1)
    assert_database_intact()


def test_sigterm_requeues_within_bounds_and_registers_nothing(start_worker, clips):
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    asked = time.monotonic()
    os.kill(worker.proc.pid, signal.SIGTERM)
    assert worker.proc.wait(timeout=30) == 0
    took = time.monotonic() - asked
    assert job_now(job.id).status == "queued"
    _assert_no_results_offered(job.id)
    assert sorted(p.name for p in (job_dir(job.id) / "outputs").iterdir()) == ["run.log"]
    assert took < 15, f"graceful shutdown took {took:.1f} s"
    assert_database_intact()


def _serve(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_api_and_cli_restarted_while_jobs_run_change_nothing(start_worker, clips):
    import httpx

    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    port = 18000 + os.getpid() % 1000
    for _ in range(2):  # start, kill -9, start again
        api = _serve(port)

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/jobs/{job.id}/status").is_success
            except httpx.HTTPError:
                return False

        wait_for(answers, 60, "the API")
        api.kill()
        api.wait(timeout=10)
        cli = subprocess.Popen(
            [sys.executable, "-m", "backend", "status", job.id], cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.3)
        cli.kill()
        cli.wait(timeout=10)
    # With a fast detector the clip may already be done: either way, untouched by the restarts.
    assert job_now(job.id).status in ("running", "completed")
    done = wait_status(job.id, {"completed", "failed"}, worker)
    assert (done.status, done.attempts, done.crash_count) == ("completed", 1, 0)
    assert_database_intact()
