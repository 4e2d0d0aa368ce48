"""End to end: a real `huey_worker.py` subprocess on a temporary data dir, real detector.

The test process submits, cancels, retries and deletes through the services (as the dashboard
does) while the worker analyses tiny generated clips with the real pipeline.
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
from sqlmodel import select

from backend.db import session_scope
from backend.models import Job, JobFile, WorkerProcess
from backend.services import jobs as job_service
from backend.services.files import build_archive, job_dir, job_file_path, sha256_file
from backend.services.storage import cleanup_storage
from backend.services.workers import worker_is_alive
from huey_worker import torch_threads_per_worker
from tests.synthetic import make_match_clip

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT_S = 60
JOB_TIMEOUT_S = 120
FAST = {"imgsz": 320, "frame_stride": 3}
SLOW = {"imgsz": 320, "frame_stride": 1}  # every frame detected: a job that runs for a while
EXPECTED_OUTPUTS = {"annotated.mp4", "tracks.csv", "events.csv", "events.json", "players.csv",
                    "summary.json", "run.log"}  # fmt: skip


class Worker:
    def __init__(self, workers: int, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "huey_worker.py", "--workers", str(workers), "-v"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown can end all of it
        )
        wait_for(
            lambda: (row := registered_worker(self.proc.pid)) is not None and worker_is_alive(row),
            WORKER_START_TIMEOUT_S,
            f"worker heartbeat\n{self.log_tail()}",
        )

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def kill_consumer(self) -> None:
        """kill -9 of the consumer process only, as an OOM killer or a crash would."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_worker(data_dir: Path, tmp_path: Path) -> Iterator[Callable[[int], Worker]]:
    started: list[Worker] = []

    def start(workers: int = 1) -> Worker:
        worker = Worker(workers, tmp_path / f"worker{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def registered_worker(pid: int) -> WorkerProcess | None:
    """The newest registry row of the consumer with this pid (on this host)."""
    with session_scope() as session:
        rows = session.exec(select(WorkerProcess).where(WorkerProcess.pid == pid)).all()
    return max(rows, key=lambda row: row.started_at, default=None)


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def job_now(job_id: str) -> Job:
    with session_scope() as session:
        return job_service.get_job(session=session, job_id=job_id)


def submit(clip: Path, *, priority: str = "normal", settings: dict | None = None) -> Job:
    with session_scope() as session:
        return job_service.submit_path(
            session=session, source_path=clip, priority=priority, settings=settings or FAST
        )


def wait_status(job_id: str, statuses: set[str], worker: Worker, timeout_s=JOB_TIMEOUT_S) -> Job:
    def check() -> Job | None:
        job = job_now(job_id)
        return job if job.status in statuses else None

    try:
        return wait_for(check, timeout_s, f"job {job_id} to be {statuses}")  # type: ignore[return-value]
    except AssertionError as exc:
        raise AssertionError(f"{exc}; now {job_now(job_id).status}\n{worker.log_tail()}") from None


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "short": make_match_clip(folder / "short.mp4", seconds=1.2, size=(320, 180)).path,
        "medium": make_match_clip(folder / "medium.mp4", seconds=3, size=(480, 270)).path,
        "long": make_match_clip(folder / "long.mp4", seconds=10, size=(640, 360)).path,
    }


def test_submit_progress_complete_files_zip_and_cleanup(start_worker, clips, capsys):
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    seen: list[tuple[float, int, float | None, float | None]] = []

    def finished() -> bool:
        now = job_now(job.id)
        if now.status == "running" and now.frames_done:
            seen.append((now.progress, now.frames_done, now.fps, now.eta_s))
        return now.status in {"completed", "failed"}

    wait_for(finished, JOB_TIMEOUT_S, "the job to finish")
    done = job_now(job.id)
    assert done.status == "completed", f"{done.error}\n{worker.log_tail()}"
    assert seen, "no progress was reported while running"
    progress, frames_done, fps, eta_s = seen[0]
    assert 0 < progress < 1 and 0 < frames_done < 250 and fps > 0 and eta_s is not None
    assert [p for p, *_ in seen] == sorted(p for p, *_ in seen)
    assert (done.progress, done.frames_done, done.frames_total, done.attempts) == (1.0, 250, 250, 1)
    assert done.summary["counts"]["frames"] == 250
    assert done.summary["settings"]["torch_threads"] == torch_threads_per_worker(1)
    wait_s = (done.started_at - done.queued_at).total_seconds()

    with session_scope() as session:
        rows = session.exec(select(JobFile).where(JobFile.job_id == job.id)).all()
    outputs = {r.name: r for r in rows if r.role == "output"}
    assert set(outputs) >= EXPECTED_OUTPUTS
    for row in rows:
        path = job_file_path(row)
        assert (path.stat().st_size, sha256_file(path)) == (row.size_bytes, row.sha256)
    assert outputs["annotated.mp4"].kind == "video" and outputs["tracks.csv"].kind == "csv"
    assert "completed: " in (job_dir(job.id) / "outputs" / "run.log").read_text()

    with session_scope() as session:
        archive = build_archive(session=session, job_id=job.id)
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert names == set(outputs)
        assert zipped.getinfo("annotated.mp4").compress_type == zipfile.ZIP_STORED
        assert zipped.getinfo("tracks.csv").compress_type == zipfile.ZIP_DEFLATED
        assert zipped.read("tracks.csv") == (job_dir(job.id) / "outputs/tracks.csv").read_bytes()

    with session_scope() as session:
        dry = cleanup_storage(session=session, statuses=["completed"], dry_run=True)
        assert [j.job_id for j in dry.jobs] == [job.id] and job_dir(job.id).is_dir()
        real = cleanup_storage(session=session, statuses=["completed"], dry_run=False)
    assert real.bytes_freed == dry.bytes_freed > 0
    assert not job_dir(job.id).exists()
    # An idle worker polls at most every QUEUE_MAX_POLL_DELAY_S (1 s); the rest is slack for a
    # busy shared CI machine.
    assert wait_s < 3, f"an idle worker took {wait_s:.2f} s to pick up the job"
    with capsys.disabled():
        print(f"\nqueued job picked up by an idle worker after {wait_s:.2f} s")


def test_priority_order_with_one_worker(start_worker, clips, capsys):
    worker = start_worker(1)
    # The long clip: the three jobs must all be queued before the blocker ends, and the medium
    # one's main pass takes under 2 s now.
    blocker = submit(clips["long"], settings=SLOW)
    wait_status(blocker.id, {"running"}, worker)
    low = submit(clips["short"], priority="low")
    normal = submit(clips["short"], priority="normal")
    high = submit(clips["short"], priority="high")
    finished = [wait_status(j.id, {"completed"}, worker) for j in (blocker, low, normal, high)]
    order = sorted(finished[1:], key=lambda j: j.started_at)
    assert [j.priority for j in order] == ["high", "normal", "low"]
    assert all(j.started_at >= finished[0].finished_at for j in order)
    # The worker takes the next job as soon as it is free: no polling gap between jobs.
    handover_s = (order[0].started_at - finished[0].finished_at).total_seconds()
    assert handover_s < 2, f"the next job started {handover_s:.2f} s after the worker was free"
    with capsys.disabled():
        print(f"\nnext queued job started {handover_s:.2f} s after the busy worker was free")


def test_two_workers_run_two_jobs_at_once(start_worker, clips):
    worker = start_worker(2)
    first = submit(clips["medium"], settings=SLOW)
    second = submit(clips["medium"], settings=SLOW)

    def both_running() -> bool:
        return {job_now(first.id).status, job_now(second.id).status} == {"running"}

    wait_for(both_running, JOB_TIMEOUT_S, f"both jobs running\n{worker.log_tail()}")
    second_consumer = subprocess.run(
        [sys.executable, "huey_worker.py"], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert second_consumer.returncode == 1
    assert f"a worker (pid {worker.proc.pid}) is already serving" in second_consumer.stderr
    pids = {job_now(first.id).worker_pid, job_now(second.id).worker_pid}
    assert len(pids) == 2 and worker.proc.pid not in pids
    for job in (first, second):
        done = wait_status(job.id, {"completed"}, worker)
        # The cores are split: two workers on a 2-core machine get one torch thread each.
        assert done.summary["settings"]["torch_threads"] == torch_threads_per_worker(2)


def test_cancel_running_job_then_delete(start_worker, clips, capsys):
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    with session_scope() as session, pytest.raises(Exception, match="cancel it first"):
        job_service.delete_job(session=session, job_id=job.id)
    asked = time.monotonic()
    with session_scope() as session:
        job_service.cancel_job(session=session, job_id=job.id)
    stopped = wait_status(job.id, {"cancelled", "completed"}, worker, timeout_s=30)
    took = time.monotonic() - asked
    assert stopped.status == "cancelled" and stopped.frames_done < 250
    assert took < 5, f"cancel took {took:.1f} s"
    with capsys.disabled():
        print(f"\nrunning job cancelled {took:.2f} s after the request")
    outputs = sorted(p.name for p in (job_dir(job.id) / "outputs").iterdir())
    assert outputs == ["run.log"]  # partial results removed, the log kept
    assert "cancelled by request" in (job_dir(job.id) / "outputs" / "run.log").read_text()
    with session_scope() as session:
        job_service.delete_job(session=session, job_id=job.id)
    assert not job_dir(job.id).exists()


def test_failed_job_is_explained_and_retry_succeeds(start_worker, clips, data_dir):
    job = submit(clips["short"])
    stored = job_dir(job.id) / "input" / job.input_name
    good = stored.read_bytes()
    stored.write_bytes(good[: len(good) // 3])  # the disk copy got damaged after upload
    worker = start_worker(1)
    failed = wait_status(job.id, {"failed", "completed"}, worker)
    assert failed.status == "failed"
    assert "short.mp4" in failed.error and "\n" not in failed.error
    log = (job_dir(job.id) / "outputs" / "run.log").read_text()
    assert "Traceback (most recent call last)" in log and "VideoError" in log
    other = submit(clips["short"])  # the worker keeps serving after a failure
    assert wait_status(other.id, {"completed"}, worker).status == "completed"
    stored.write_bytes(good)
    with session_scope() as session:
        job_service.retry_job(session=session, job_id=job.id)
    retried = wait_status(job.id, {"completed", "failed"}, worker)
    assert (retried.status, retried.error, retried.attempts) == ("completed", None, 2)


def test_killed_worker_job_is_recovered_on_restart(start_worker, clips):
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    child = job_now(job.id).worker_pid
    worker.kill_consumer()

    def child_gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(child_gone, 10, "the worker's child process to die with it")
    assert job_now(job.id).status == "running"  # nobody left to update it
    restarted = start_worker(1)
    done = wait_status(job.id, {"completed", "failed"}, restarted)
    assert (done.status, done.attempts, done.crash_count) == ("completed", 2, 1)


def test_stopping_the_worker_returns_its_job_to_the_queue(start_worker, clips):
    """run.sh stops the worker with SIGTERM: the running job goes back to the queue."""
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    os.kill(worker.proc.pid, signal.SIGTERM)
    assert worker.proc.wait(timeout=30) == 0
    stopped = job_now(job.id)
    assert (stopped.status, stopped.error) == ("queued", "worker stopped; re-queued")
    stopped_row = registered_worker(worker.proc.pid)
    assert stopped_row is not None and stopped_row.stopped_at is not None
    restarted = start_worker(1)
    done = wait_status(job.id, {"completed", "failed"}, restarted)
    assert (done.status, done.attempts, done.crash_count) == ("completed", 2, 0)


def test_killed_job_process_is_recovered_by_the_running_consumer(start_worker, clips):
    """The OOM killer takes one analysis process; the consumer replaces it and re-queues."""
    worker = start_worker(1)
    job = submit(clips["long"], settings=SLOW)
    wait_for(lambda: job_now(job.id).frames_done > 0, JOB_TIMEOUT_S, "first progress")
    os.kill(job_now(job.id).worker_pid, signal.SIGKILL)
    done = wait_status(job.id, {"completed", "failed"}, worker)
    assert (done.status, done.attempts, done.crash_count) == ("completed", 2, 1)
    assert worker.proc.poll() is None
