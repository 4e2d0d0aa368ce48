"""The analysis task in-process (no consumer): outcomes, run.log and the job row."""

from __future__ import annotations

import pytest

import backend.workflow
from backend.services import jobs as job_service
from backend.services.files import job_dir, list_job_files
from jobs.queue import get_queue
from jobs.tasks import run_analysis
from tests.synthetic import make_match_clip


@pytest.fixture
def queued_job(session, tmp_path):
    clip = make_match_clip(tmp_path / "game.mp4", seconds=0.6, size=(320, 180)).path
    return job_service.submit_path(
        session=session, source_path=clip, settings={"imgsz": 320, "frame_stride": 2}
    )


def _job(session, job_id):
    return job_service.get_job(session=session, job_id=job_id)


def test_run_analysis_completes_and_registers_files(session, queued_job):
    run_analysis(queued_job.id)
    job = _job(session, queued_job.id)
    assert (job.status, job.progress, job.attempts, job.error) == ("completed", 1.0, 1, None)
    assert job.summary["counts"]["frames"] == job.frames_total == 15
    assert job.fps and job.fps > 0
    outputs = {f.name for f in list_job_files(session=session, job_id=job.id) if f.role == "output"}
    assert {"annotated.mp4", "tracks.csv", "summary.json", "run.log"} <= outputs
    log = (job_dir(job.id) / "outputs" / "run.log").read_text()
    assert f"job {job.id}: game.mp4 (attempt 1)" in log and "completed: " in log


def test_unexpected_error_fails_the_job_with_traceback(session, queued_job, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk controller on fire")

    monkeypatch.setattr(backend.workflow, "analyze_video", broken)
    run_analysis(queued_job.id)
    job = _job(session, queued_job.id)
    assert job.status == "failed"
    assert job.error == "unexpected error: RuntimeError: disk controller on fire"
    log = (job_dir(job.id) / "outputs" / "run.log").read_text()
    assert "Traceback (most recent call last)" in log and "disk controller on fire" in log
    assert [f.name for f in list_job_files(session=session, job_id=job.id)
            if f.role == "output"] == ["run.log"]  # fmt: skip


def test_cancel_requested_before_start_skips_the_job(session, queued_job):
    job_service.cancel_job(session=session, job_id=queued_job.id)
    run_analysis(queued_job.id)
    job = _job(session, queued_job.id)
    assert (job.status, job.attempts) == ("cancelled", 0)
    assert not (job_dir(job.id) / "outputs").exists()


def test_interrupted_worker_returns_the_job_to_the_queue(session, queued_job, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(backend.workflow, "analyze_video", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_analysis(queued_job.id)
    job = _job(session, queued_job.id)
    assert (job.status, job.error) == ("queued", "worker stopped; re-queued")
    assert job.queue_task_id in get_queue().pending_task_ids()


def test_worker_error_around_the_analysis_fails_the_job(session, queued_job, monkeypatch):
    """Recovery leaves jobs of a live worker alone, so the task itself must not leave 'running'."""
    import jobs.tasks

    def unwritable(job_id):
        raise PermissionError(13, "Permission denied", "run.log")

    monkeypatch.setattr(jobs.tasks, "_open_job_log", unwritable)
    run_analysis(queued_job.id)
    job = _job(session, queued_job.id)
    assert job.status == "failed"
    assert job.error == "worker error: PermissionError: [Errno 13] Permission denied: 'run.log'"
