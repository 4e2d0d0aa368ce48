"""Worker-side state changes: claiming, throttled progress, cancel flag, recovery of dead jobs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest

from backend.config import get_settings
from backend.models import Job, JobStatus, utcnow
from backend.services import jobs as job_service
from backend.services import recovery, runner
from backend.services.files import job_dir
from jobs.queue import get_queue
from tests.platform.factories import OUTPUT_FILES, make_job


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _fresh(session, job_id: str) -> Job:
    return job_service.get_job(session=session, job_id=job_id)


def test_claim_moves_a_queued_job_to_running_once(session):
    job = make_job(session, with_input=True, outputs={"stale.csv": b"old attempt"})
    claimed = runner.claim_job(session=session, job_id=job.id)
    assert claimed is not None and claimed.status == "running"
    assert (claimed.attempts, claimed.worker_pid) == (1, os.getpid())
    assert claimed.worker_host == socket.gethostname()
    assert claimed.started_at is not None and claimed.heartbeat_at is not None
    assert list((job_dir(job.id) / "outputs").iterdir()) == []  # old attempt's files gone
    assert runner.claim_job(session=session, job_id=job.id) is None


@pytest.mark.parametrize(
    "prepare",
    ["cancelled", "deleted", "cancel_requested"],
)
def test_claim_skips_jobs_that_should_not_run(session, prepare):
    job = make_job(session, with_input=True)
    if prepare == "cancelled":
        job_service.cancel_job(session=session, job_id=job.id)
    elif prepare == "deleted":
        job_service.delete_job(session=session, job_id=job.id)
    else:
        job.cancel_requested = True
        session.add(job)
        session.commit()
    assert runner.claim_job(session=session, job_id=job.id) is None


def test_progress_is_written_at_most_once_a_second(session):
    job = make_job(session, status=JobStatus.running)
    clock = FakeClock()
    recorder = runner.ProgressRecorder(job.id, clock=clock)
    writes = []
    for frame in range(1, 31):
        clock.now += 0.1  # 30 updates over 3 s of fake time
        writes.append(recorder.record(frame, 100, 25.0, 3.0))
    assert sum(writes) == 3
    stored = _fresh(session, job.id)
    assert (stored.frames_done, stored.frames_total, stored.fps) == (21, 100, 25.0)
    assert stored.progress == pytest.approx(0.21)
    assert recorder.record(30, 100, 25.0, 0.0, force=True)
    assert _fresh(session, job.id).frames_done == 30


def test_the_phase_is_recorded_as_soon_as_it_changes(session):
    job = make_job(session, with_input=True)
    assert job.phase == "queued"
    assert runner.claim_job(session=session, job_id=job.id).phase == "starting"
    clock = FakeClock()
    recorder = runner.ProgressRecorder(job.id, clock=clock)
    assert recorder.record(0, 240, 0.0, None, phase="loading_model")
    clock.now += 0.1  # well inside the once-a-second limit, but a new phase
    assert recorder.record(0, 240, 0.0, None, phase="learning_teams")
    assert _fresh(session, job.id).phase == "learning_teams"
    clock.now += 0.1
    assert not recorder.record(0, 240, 0.0, None, phase="learning_teams")
    assert recorder.record(0, 240, 0.0, None, phase="analysing")
    clock.now += 0.1
    assert not recorder.record(5, 240, 30.0, 8.0, phase="analysing")
    assert _fresh(session, job.id).phase == "analysing"
    with pytest.raises(ValueError):
        recorder.record(0, 240, 0.0, None, phase="dreaming")
    runner.complete_job(session=session, job_id=job.id, summary={})
    assert _fresh(session, job.id).phase == "done"


@pytest.mark.parametrize("ending", ["fail", "cancel", "return_to_queue"])
def test_a_job_that_stops_leaves_its_phase_where_its_status_says(session, ending):
    job = make_job(session, with_input=True)
    runner.claim_job(session=session, job_id=job.id)
    runner.ProgressRecorder(job.id).record(3, 10, 1.0, 7.0, phase="analysing")
    if ending == "fail":
        runner.fail_job(session=session, job_id=job.id, reason="boom")
        assert _fresh(session, job.id).phase == "done"
        job_service.retry_job(session=session, job_id=job.id)
        assert _fresh(session, job.id).phase == "queued"
    elif ending == "cancel":
        runner.cancel_running_job(session=session, job_id=job.id)
        assert _fresh(session, job.id).phase == "done"
    else:
        runner.return_to_queue(session=session, job_id=job.id, note="worker stopped")
        assert _fresh(session, job.id).phase == "queued"


def test_cancel_flag_is_read_at_most_once_a_second(session):
    job = make_job(
        session, status=JobStatus.running, worker_pid=os.getpid(), worker_host=runner.this_host()
    )
    clock = FakeClock()
    recorder = runner.ProgressRecorder(job.id, clock=clock)
    assert recorder.cancel_requested() is False
    job_service.cancel_job(session=session, job_id=job.id)
    clock.now += 0.5
    assert recorder.cancel_requested() is False  # not re-read yet
    clock.now += 0.6
    assert recorder.cancel_requested() is True


@pytest.mark.parametrize(
    ("finish", "status", "error"),
    [
        (
            lambda s, j: runner.complete_job(
                session=s, job_id=j, summary={"timings": {"processing_fps": 42.5}}
            ),
            "completed",
            None,
        ),
        (lambda s, j: runner.fail_job(session=s, job_id=j, reason="x" * 900), "failed", "x" * 500),
        (lambda s, j: runner.cancel_running_job(session=s, job_id=j), "cancelled", None),
    ],
)
def test_finishing_registers_outputs(session, finish, status, error):
    job = make_job(session, status=JobStatus.running, frames_total=50)
    out = job_dir(job.id) / "outputs"
    out.mkdir(parents=True)
    for name, content in OUTPUT_FILES.items():
        (out / name).write_bytes(content)
    finish(session, job.id)
    stored = _fresh(session, job.id)
    assert (stored.status, stored.error) == (status, error)
    assert stored.finished_at is not None
    names = sorted(f.name for f in job_service_files(session, job.id))
    assert names == sorted(OUTPUT_FILES)
    if status == "completed":
        assert (stored.progress, stored.frames_done, stored.fps) == (1.0, 50, 42.5)


def test_completed_status_and_summary_are_written_together(session):
    """A reader between two commits saw 'completed' with no summary and frames_done behind."""
    from sqlalchemy import event

    job = make_job(session, status=JobStatus.running, frames_total=50)
    seen = []

    def on_update(_mapper, _connection, target):
        seen.append((target.status, target.summary, target.frames_done))

    event.listen(Job, "after_update", on_update)
    try:
        runner.complete_job(session=session, job_id=job.id, summary={"counts": {"frames": 50}})
    finally:
        event.remove(Job, "after_update", on_update)
    assert seen == [("completed", {"counts": {"frames": 50}}, 50)]


def job_service_files(session, job_id):
    from backend.services.files import list_job_files

    return list_job_files(session=session, job_id=job_id)


@pytest.mark.parametrize(
    ("crash_count", "cancel", "pid_alive", "heartbeat_age_s", "expected"),
    [
        (0, False, False, 1, "requeued"),  # pid gone, heartbeat fresh
        (0, False, True, 600, "requeued"),  # pid alive (reused) but silent too long
        (1, False, False, 1, "failed"),  # second crash with NETBALL_MAX_ATTEMPTS=2
        (0, True, False, 1, "cancelled"),  # the analyst had asked to stop it
        (0, False, True, 1, None),  # healthy: left alone
    ],
)
def test_recover_stale_jobs(session, crash_count, cancel, pid_alive, heartbeat_age_s, expected):
    job = make_job(
        session,
        status=JobStatus.running,
        with_input=True,
        attempts=crash_count + 1,
        crash_count=crash_count,
        cancel_requested=cancel,
        worker_pid=os.getpid() if pid_alive else _dead_pid(),
        worker_host=socket.gethostname(),
    )
    job.heartbeat_at = utcnow() - timedelta(seconds=heartbeat_age_s)
    session.add(job)
    session.commit()
    (job_dir(job.id) / "outputs").mkdir(parents=True)
    actions = recovery.recover_stale_jobs(session=session)
    stored = _fresh(session, job.id)
    if expected is None:
        assert actions == [] and stored.status == "running"
        return
    assert [(a.job_id, a.action) for a in actions] == [(job.id, expected)]
    status = {"requeued": "queued"}.get(expected, expected)
    assert stored.status == status
    if expected == "requeued":
        assert "re-queued automatically" in stored.error
        assert get_queue().pending_task_ids() == {stored.queue_task_id}
    if expected == "failed":
        assert "gave up after 2 interrupted attempt(s)" in stored.error
        log = (job_dir(job.id) / "outputs" / "run.log").read_text()
        assert "RECOVERY: job failed" in log


def test_recovery_ignores_live_jobs_of_other_hosts_until_silent(session):
    job = make_job(session, status=JobStatus.running, worker_pid=1, worker_host="other-host")
    assert recovery.recover_stale_jobs(session=session) == []
    job.heartbeat_at = utcnow() - timedelta(seconds=get_settings().heartbeat_timeout_s + 5)
    session.add(job)
    session.commit()
    actions = recovery.recover_stale_jobs(session=session)
    assert [a.action for a in actions] == ["requeued"]
    assert "no heartbeat for over 60 s" in actions[0].reason


def test_requeue_lost_jobs_restores_missing_queue_messages(session, tmp_path):
    kept = job_service.submit_path(session=session, source_path=_clip(tmp_path, "a.mp4"))
    lost = job_service.submit_path(session=session, source_path=_clip(tmp_path, "b.mp4"))
    queue = get_queue()
    pending = queue.pending_task_ids() - {lost.queue_task_id}
    actions = recovery.requeue_lost_jobs(session=session, pending_task_ids=pending)
    assert [a.job_id for a in actions] == [lost.id]
    assert kept.queue_task_id in queue.pending_task_ids()


def test_return_to_queue_after_shutdown(session):
    job = make_job(
        session,
        status=JobStatus.running,
        with_input=True,
        progress=0.63,
        frames_done=63,
        frames_total=100,
        fps=9.5,
        eta_s=12.0,
    )
    runner.return_to_queue(session=session, job_id=job.id, note="worker stopped; re-queued")
    stored = _fresh(session, job.id)
    assert (stored.status, stored.error, stored.started_at) == (
        "queued",
        "worker stopped; re-queued",
        None,
    )
    assert get_queue().pending_task_ids() == {stored.queue_task_id}
    assert (stored.progress, stored.frames_done, stored.fps, stored.eta_s) == (0.0, 0, None, None)
    assert stored.frames_total == 100


def _clip(tmp_path, name):
    from tests.synthetic import make_plain_clip

    return make_plain_clip(tmp_path / name, frames=5)


def test_silent_but_live_worker_process_is_not_taken_over(session):
    """After a laptop sleep every heartbeat is old; a live worker must not get a twin."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "huey_worker"])
    try:
        job = make_job(
            session,
            status=JobStatus.running,
            worker_pid=sleeper.pid,
            worker_host=socket.gethostname(),
        )
        job.heartbeat_at = utcnow() - timedelta(hours=3)
        session.add(job)
        session.commit()
        assert recovery.recover_stale_jobs(session=session) == []
        assert _fresh(session, job.id).status == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [a.action for a in recovery.recover_stale_jobs(session=session)] == ["requeued"]


@pytest.mark.parametrize(
    ("status", "pid", "host", "owned"),
    [
        (JobStatus.running, "self", "self", True),
        (JobStatus.running, 1, "self", False),  # recovered and claimed by another process
        (JobStatus.running, "self", "elsewhere", False),
        (JobStatus.queued, "self", "self", False),  # recovered, waiting for the next worker
    ],
)
def test_still_owned(session, status, pid, host, owned):
    job = make_job(
        session,
        status=status,
        worker_pid=os.getpid() if pid == "self" else pid,
        worker_host=socket.gethostname() if host == "self" else host,
    )
    assert runner.still_owned(session=session, job_id=job.id) is owned


def test_a_job_taken_over_by_another_host_stops_its_old_process(session):
    """After a long pause this process's job was recovered and claimed elsewhere: stop."""
    job = make_job(
        session, status=JobStatus.running, worker_pid=os.getpid(), worker_host=runner.this_host()
    )
    clock = FakeClock()
    recorder = runner.ProgressRecorder(job.id, clock=clock)
    assert recorder.cancel_requested() is False
    job.worker_host, job.worker_pid = "analysis-2", 4321
    session.add(job)
    session.commit()
    clock.now += 1.1
    assert recorder.cancel_requested() is True
    assert not runner.still_owned(session=session, job_id=job.id)


def _registered(session, host, *, beat_age_s=0.0, stopped=False):
    from backend.models import WorkerProcess

    worker = WorkerProcess(host=host, pid=77, processes=1, queue="q")
    worker.heartbeat_at = utcnow() - timedelta(seconds=beat_age_s)
    worker.stopped_at = utcnow() if stopped else None
    session.add(worker)
    session.commit()
    return worker


@pytest.mark.parametrize(
    ("beat_age_s", "stopped", "job_silent", "expected_reason"),
    [
        (0.5, False, False, None),  # its worker beats: left alone
        (0.5, False, True, None),  # the worker lives; only its own host can judge the process
        (60.0, False, False, "worker analysis-2 pid 77 sent no heartbeat for 60 s"),
        (0.5, True, False, "worker analysis-2 pid 77 stopped"),
    ],
)
def test_jobs_of_another_host_are_judged_by_their_workers_heartbeat(
    session, beat_age_s, stopped, job_silent, expected_reason
):
    worker = _registered(session, "analysis-2", beat_age_s=beat_age_s, stopped=stopped)
    job = make_job(
        session,
        status=JobStatus.running,
        with_input=True,
        attempts=1,
        worker_pid=_dead_pid(),  # a pid that means nothing here: never looked up
        worker_host="analysis-2",
        worker_id=worker.id,
    )
    if job_silent:
        job.heartbeat_at = utcnow() - timedelta(seconds=get_settings().heartbeat_timeout_s + 5)
        session.add(job)
        session.commit()
    actions = recovery.recover_stale_jobs(session=session)
    if expected_reason is None:
        assert actions == [] and _fresh(session, job.id).status == "running"
        return
    assert [a.action for a in actions] == ["requeued"]
    assert actions[0].reason.startswith(expected_reason)
    stored = _fresh(session, job.id)
    assert (stored.status, stored.crash_count, stored.worker_id) == ("queued", 1, None)
    assert recovery.recover_stale_jobs(session=session) == []  # a second host finds nothing


def test_an_unregistered_worker_id_means_the_job_is_orphaned(session):
    job = make_job(
        session, status=JobStatus.running, with_input=True, attempts=1,
        worker_host="analysis-3", worker_id="gone0000gone0000",
    )  # fmt: skip
    actions = recovery.recover_stale_jobs(session=session)
    assert [(a.job_id, a.action) for a in actions] == [(job.id, "requeued")]
    assert "no longer registered" in actions[0].reason
