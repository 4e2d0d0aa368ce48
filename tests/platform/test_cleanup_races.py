"""Cleanup and delete racing the jobs they could touch: a queued or running job's files are
never removed, and two cleanups at once remove each finished job exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from backend.db import session_scope
from backend.models import Job, JobFile, JobStatus
from backend.services import jobs as job_service
from backend.services import runner, storage
from backend.services.errors import JobStateError
from backend.services.files import job_dir
from backend.services.storage import ORPHAN_MIN_AGE_S, cleanup_storage
from tests.platform.factories import OUTPUT_FILES, make_job

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONCURRENT_CLEANUP_JOBS = 40


def test_a_job_retried_while_cleanup_runs_keeps_its_files(session, monkeypatch):
    failed = make_job(session, status=JobStatus.failed, with_input=True, outputs={"run.log": b"x"})
    other = make_job(session, status=JobStatus.failed, outputs={"run.log": b"y"})
    measure = storage._job_usage

    def retry_in_between(store, job_id: str) -> tuple[int, int]:
        # Runs after cleanup chose its jobs and before it removes them: the analyst retries.
        if job_id == failed.id:
            with session_scope() as other_session:
                job_service.retry_job(session=other_session, job_id=failed.id)
        return measure(store, job_id)

    monkeypatch.setattr(storage, "_job_usage", retry_in_between)
    report = cleanup_storage(session=session, statuses=["failed"], dry_run=False)
    assert [j.job_id for j in report.jobs] == [other.id]
    assert job_service.get_job(session=session, job_id=failed.id).status == "queued"
    assert (job_dir(failed.id) / "input" / failed.input_name).is_file()
    assert not job_dir(other.id).exists()


def test_a_queued_job_claimed_while_it_is_deleted_is_left_running(session, monkeypatch):
    queued = make_job(session, with_input=True)
    allowed = job_service.allowed_actions

    def claim_in_between(job):
        # A worker claims the job between the delete's status check and its removal.
        with session_scope() as worker_session:
            assert runner.claim_job(session=worker_session, job_id=queued.id) is not None
        return allowed(job)

    monkeypatch.setattr(job_service, "allowed_actions", claim_in_between)
    with pytest.raises(JobStateError, match="started running meanwhile; cancel it first"):
        job_service.delete_job(session=session, job_id=queued.id)
    assert job_service.get_job(session=session, job_id=queued.id).status == "running"
    assert (job_dir(queued.id) / "input" / queued.input_name).is_file()


def test_an_orphan_folder_still_being_written_is_kept(session, data_dir):
    upload = data_dir / "jobs" / "uploading123"
    (upload / "input").mkdir(parents=True)
    old = time.time() - ORPHAN_MIN_AGE_S - 60
    os.utime(upload / "input", (old, old))
    os.utime(upload, (old, old))
    (upload / "input" / "match.mp4").write_bytes(b"streaming...")  # written just now
    report = cleanup_storage(session=session, dry_run=False)
    assert report.orphan_dirs == [] and (upload / "input" / "match.mp4").is_file()


def _cleanup_cli() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "backend", "storage", "cleanup", "--status", "failed", "--json"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_cleanups_at_once_remove_each_job_once_and_nothing_active(session, data_dir):
    finished = [
        make_job(session, status=JobStatus.failed, outputs=OUTPUT_FILES)
        for _ in range(CONCURRENT_CLEANUP_JOBS)
    ]
    queued = make_job(session, with_input=True)
    running = make_job(session, status=JobStatus.running, outputs={"run.log": b"r"})
    orphans = []
    for index in range(5):
        orphan = data_dir / "jobs" / f"orphan{index:06d}"
        (orphan / "outputs").mkdir(parents=True)
        (orphan / "outputs" / "x.csv").write_bytes(b"x" * 100)
        old = time.time() - ORPHAN_MIN_AGE_S - 60
        for item in (orphan / "outputs" / "x.csv", orphan / "outputs", orphan):
            os.utime(item, (old, old))
        orphans.append(orphan.name)

    first, second = _cleanup_cli(), _cleanup_cli()
    results = [proc.communicate(timeout=120) for proc in (first, second)]
    for proc, (_out, err) in zip((first, second), results, strict=True):
        assert proc.returncode == 0, err
    reports = [json.loads(out) for out, _ in results]
    removed = [[j["job_id"] for j in r["jobs"]] for r in reports]
    assert sorted(removed[0] + removed[1]) == sorted(j.id for j in finished)
    assert not set(removed[0]) & set(removed[1]), "a job was removed twice"
    assert sorted(reports[0]["orphan_dirs"] + reports[1]["orphan_dirs"]) == orphans
    with session_scope() as check:
        left = {job.id: job.status for job in check.exec(select(Job)).all()}
        files = check.exec(select(JobFile.job_id)).all()
    assert left == {queued.id: "queued", running.id: "running"}
    assert set(files) <= {queued.id, running.id}
    assert (job_dir(queued.id) / "input" / queued.input_name).is_file()
    assert (job_dir(running.id) / "outputs" / "run.log").is_file()
    assert sorted(p.name for p in (data_dir / "jobs").iterdir()) == sorted([queued.id, running.id])
