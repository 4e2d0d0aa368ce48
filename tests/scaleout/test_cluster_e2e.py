"""Scale-out end to end: real PostgreSQL and Redis servers on loopback, two worker processes
started separately as if on two machines (different NETBALL_WORKER_HOST), one shared data
folder, the real pipeline on tiny generated clips.

The servers come from the Debian packages (tests/servers.py); without them every test here is
skipped with the reason. ./test.sh installs them where it runs as root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from backend import db
from backend.config import get_settings
from backend.db import session_scope
from backend.models import JobFile, WorkerProcess
from backend.services import jobs as job_service
from backend.services import metrics
from backend.services.files import build_archive
from backend.services.workers import worker_is_alive
from tests.platform.test_worker_e2e import (
    FAST,
    JOB_TIMEOUT_S,
    PROJECT_ROOT,
    SLOW,
    WORKER_START_TIMEOUT_S,
    job_now,
    submit,
    wait_for,
)
from tests.synthetic import make_match_clip

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]


class HostWorker:
    """`python huey_worker.py` as the worker of one (pretend) machine."""

    def __init__(self, host: str, log_path: Path, processes: int = 1) -> None:
        self.host = host
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "huey_worker.py", "--workers", str(processes), "-v"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "NETBALL_WORKER_HOST": host},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: (row := self.row()) is not None and worker_is_alive(row),
            WORKER_START_TIMEOUT_S,
            f"worker {host} to register\n{self.log_tail()}",
        )

    def row(self) -> WorkerProcess | None:
        with session_scope() as session:
            return session.exec(
                select(WorkerProcess).where(
                    WorkerProcess.host == self.host, WorkerProcess.pid == self.proc.pid
                )
            ).first()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """kill -9 of the whole worker (consumer and its analysis process), as a power cut."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_host(data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., HostWorker]]:
    assert get_settings().queue_url and get_settings().database_url.startswith("postgresql")
    started: list[HostWorker] = []

    def start(host: str, processes: int = 1) -> HostWorker:
        worker = HostWorker(host, tmp_path / f"{host}-{len(started)}.log", processes)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "short": make_match_clip(folder / "short.mp4", seconds=1.2, size=(320, 180)).path,
        "long": make_match_clip(folder / "long.mp4", seconds=6, size=(480, 270)).path,
        # Cancelled mid-way, so its length costs nothing; the 6 s clip's main pass (3 s here)
        # once ended before the cancel, sent after two submits, reached it.
        "to_cancel": make_match_clip(folder / "to_cancel.mp4", seconds=30, size=(480, 270)).path,
    }


def wait_done(job_id: str, *workers: HostWorker, timeout_s: float = JOB_TIMEOUT_S * 2):
    def finished():
        job = job_now(job_id)
        return job if job.status in {"completed", "failed", "cancelled"} else None

    try:
        return wait_for(finished, timeout_s, f"job {job_id} to finish")
    except AssertionError as exc:
        logs = "\n".join(f"--- {w.host}\n{w.log_tail()}" for w in workers)
        raise AssertionError(f"{exc}; now {job_now(job_id).status}\n{logs}") from None


def test_two_hosts_share_the_queue_and_one_survives_the_others_kill(start_host, clips, capsys):
    a = start_host("analysis-a")
    b = start_host("analysis-b")
    first = submit(clips["long"], settings=SLOW)
    second = submit(clips["long"], settings=SLOW)

    def both_running() -> bool:
        jobs = [job_now(first.id), job_now(second.id)]
        return all(j.status == "running" and j.frames_done > 0 for j in jobs)

    wait_for(both_running, JOB_TIMEOUT_S, f"both jobs running\n{a.log_tail()}\n{b.log_tail()}")
    hosts = {job_now(j.id).worker_host: j.id for j in (first, second)}
    assert set(hosts) == {"analysis-a", "analysis-b"}, "each host takes one job from Redis"

    with session_scope() as session:
        status = metrics.processor_status(session=session)
    listed = {w.host: w for w in status.workers}
    assert set(listed) == {"analysis-a", "analysis-b"} and status.consumer_alive
    assert listed["analysis-a"].running_jobs == [hosts["analysis-a"]]
    assert listed["analysis-b"].running_jobs == [hosts["analysis-b"]]
    assert status.queue.startswith("redis://127.0.0.1:")

    victim = hosts["analysis-b"]
    b.kill()
    killed_at = time.monotonic()
    # Host a cannot see host b's processes: it must tell from b's registry heartbeat alone.
    wait_for(
        lambda: job_now(victim).status != "running" or job_now(victim).attempts > 1,
        60,
        f"host a to recover host b's job\n{a.log_tail()}",
    )
    recovered_after_s = time.monotonic() - killed_at
    survivor = wait_done(hosts["analysis-a"], a)
    assert (survivor.status, survivor.attempts, survivor.crash_count) == ("completed", 1, 0)
    done = wait_done(victim, a)
    assert (done.status, done.attempts, done.crash_count) == ("completed", 2, 1)
    assert done.worker_host == "analysis-a"
    said = a.log_tail() if victim in a.log_tail() else a.log_path.read_text()
    assert f"job {victim} requeued: worker analysis-b pid {b.proc.pid} sent no heartbeat" in said

    with session_scope() as session:
        rows = session.exec(select(JobFile).where(JobFile.job_id == victim)).all()
        archive = build_archive(session=session, job_id=victim)
        status = metrics.processor_status(session=session)
    assert {"annotated.mp4", "tracks.csv", "summary.json"} <= {r.name for r in rows}
    with zipfile.ZipFile(archive) as zipped:
        assert "tracks.csv" in zipped.namelist()
    alive = {w.host: w.alive for w in status.workers}
    assert alive == {"analysis-a": True, "analysis-b": False}
    with capsys.disabled():
        print(f"\nhost b killed: its job was re-queued by host a after {recovered_after_s:.1f} s")


def test_cancel_a_job_running_on_another_host_and_priority_order(start_host, clips):
    a = start_host("analysis-a")
    blocker = submit(clips["to_cancel"], settings=SLOW)
    wait_for(
        lambda: job_now(blocker.id).frames_done > 0, JOB_TIMEOUT_S, f"progress\n{a.log_tail()}"
    )
    low = submit(clips["short"], priority="low", settings=FAST)
    high = submit(clips["short"], priority="high", settings=FAST)
    with session_scope() as session:
        job_service.cancel_job(session=session, job_id=blocker.id)
    assert wait_done(blocker.id, a, timeout_s=30).status == "cancelled"
    finished = [wait_done(j.id, a) for j in (low, high)]
    assert [j.status for j in finished] == ["completed", "completed"]
    assert finished[1].started_at < finished[0].started_at, "Redis kept the priorities"


def test_a_flushed_redis_queue_is_refilled_from_the_job_table(start_host, clips, cluster_servers):
    a = start_host("analysis-a")
    blocker = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(blocker.id).status == "running", JOB_TIMEOUT_S, a.log_tail())
    waiting = [submit(clips["short"], settings=FAST) for _ in range(2)]
    redis_server, _ = cluster_servers
    redis_server.flushall()  # a Redis restart without persistence loses every message
    for job in waiting:
        assert wait_done(job.id, a).status == "completed"
    assert "its queue message was lost" in a.log_tail()
    assert wait_done(blocker.id, a).status == "completed"


def test_second_worker_on_the_same_host_is_refused_but_another_host_is_welcome(start_host):
    a = start_host("analysis-a")
    env = {**os.environ, "NETBALL_WORKER_HOST": "analysis-a"}
    again = subprocess.run(
        [sys.executable, "huey_worker.py"], cwd=PROJECT_ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 1
    assert f"a worker (pid {a.proc.pid}) is already serving host analysis-a" in again.stderr
    start_host("analysis-b")  # no "one worker per data folder" rule across hosts


def test_postgres_schema_upgrades_and_concurrent_init(data_dir):
    engine = db.get_engine()
    assert engine.dialect.name == "postgresql"
    with engine.begin() as conn:  # a database made before version 3
        conn.execute(text("ALTER TABLE job DROP COLUMN worker_id"))
        conn.execute(text("DELETE FROM schema_version WHERE version > 1"))
    env = {**os.environ}
    inits = [
        subprocess.Popen(
            [sys.executable, "-m", "backend", "init", "--json"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in inits:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert "worker_id" in {c["name"] for c in inspect(engine).get_columns("job")}
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
    assert sorted(versions) == sorted({1, *db.MIGRATIONS}), "each upgrade applied exactly once"
