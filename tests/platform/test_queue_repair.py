"""The job table is the truth: a lost, deleted or corrupted queue is refilled from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backend.config import get_settings
from backend.services import queue as job_queue
from backend.services import queue_repair
from backend.services.errors import StorageError
from backend.services.jobs import submit_path
from jobs.queue import get_queue
from tests.synthetic import make_plain_clip

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queued_jobs(session, tmp_path):
    clip = make_plain_clip(tmp_path / "a.mp4", frames=5)
    return [submit_path(session=session, source_path=clip) for _ in range(3)]


@pytest.fixture
def sqlite_queue(data_dir):
    if get_settings().queue_url:
        pytest.skip("about the SQLite queue file; Redis losses are covered by the watch test")


def _pending_jobs(session, jobs) -> set[str]:
    pending = get_queue().pending_task_ids()
    for job in jobs:
        session.refresh(job)
    return {job.id for job in jobs if job.queue_task_id in pending}


def test_a_sound_queue_needs_no_repair(session, queued_jobs):
    assert get_queue().verify() is None
    assert queue_repair.repair_queue(session=session) is None


def test_deleted_queue_file_is_rebuilt_from_the_job_table(session, queued_jobs, sqlite_queue):
    path = get_settings().queue_path
    get_queue().huey.storage.close()
    path.unlink()
    repair = queue_repair.repair_queue(session=session)
    assert repair is not None and repair.rebuilt
    assert repair.problem == f"the queue database {path} is missing (deleted?)"
    assert sorted(repair.requeued) == sorted(job.id for job in queued_jobs)
    assert f"{len(queued_jobs)} queued job(s) queued again" in repair.message
    assert _pending_jobs(session, queued_jobs) == {job.id for job in queued_jobs}
    assert get_queue().depth() == len(queued_jobs)
    assert queue_repair.repair_queue(session=session) is None


def test_corrupted_queue_file_is_kept_aside_and_rebuilt(session, queued_jobs, sqlite_queue):
    path = get_settings().queue_path
    get_queue().huey.storage.close()
    path.write_bytes(b"this is not a database" * 200)
    repair = queue_repair.repair_queue(session=session)
    assert repair is not None and repair.rebuilt
    assert "unreadable" in repair.problem and "file is not a database" in repair.problem
    kept = list(path.parent.glob(f"{path.name}.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not a database")
    assert "the damaged file was kept as" in repair.message
    assert _pending_jobs(session, queued_jobs) == {job.id for job in queued_jobs}


def test_a_replaced_queue_file_makes_connections_reopen(session, queued_jobs, sqlite_queue):
    queue = get_queue()
    path = get_settings().queue_path
    queue.huey.storage.close()
    path.unlink()
    assert queue.refresh_connection() is False  # gone: do not dequeue from a ghost
    repair = queue_repair.repair_queue(session=session)
    assert repair is not None
    assert queue.refresh_connection() is True
    assert queue.huey.dequeue() is not None


def test_messages_lost_from_a_working_queue_are_sent_again_on_the_second_check(
    session, queued_jobs
):
    watch = queue_repair.LostMessageWatch()
    assert watch.check(session=session) == []
    get_queue().huey.flush()  # e.g. a Redis server restarted without persistence
    assert watch.check(session=session) == []  # a message may be in a worker's hands
    actions = watch.check(session=session)
    assert sorted(a.job_id for a in actions) == sorted(job.id for job in queued_jobs)
    assert {a.reason for a in actions} == {"its queue message was lost"}
    assert _pending_jobs(session, queued_jobs) == {job.id for job in queued_jobs}
    assert watch.check(session=session) == [] and watch.suspects == set()


def test_health_reports_a_damaged_queue_plainly(session, queued_jobs, sqlite_queue):
    from backend.services import metrics

    get_queue().huey.storage.close()
    get_settings().queue_path.unlink()
    queue = next(c for c in metrics.health(session=session).checks if c.name == "queue")
    assert queue.status == "error" and "is missing (deleted?)" in queue.detail
    assert "3 queued job(s) in the job table" in queue.detail


def test_without_a_registered_queue_submitting_says_what_is_missing(session, tmp_path):
    job_queue.register(None)
    clip = make_plain_clip(tmp_path / "a.mp4", frames=5)
    with pytest.raises(StorageError, match=r"could not queue the job \(no job queue is conf"):
        submit_path(session=session, source_path=clip)
    with pytest.raises(job_queue.QueueNotConfigured, match=r"call jobs.queue.install\(\)"):
        job_queue.depth()


def test_a_non_redis_queue_url_is_refused(data_dir, monkeypatch):
    from jobs import queue as huey_queue

    monkeypatch.setenv("NETBALL_QUEUE_URL", "amqp://broker:5672")
    get_settings.cache_clear()
    huey_queue.use_queue(None)
    with pytest.raises(ValueError, match="NETBALL_QUEUE_URL must be a redis:// URL"):
        huey_queue.get_queue()


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    sorted((PROJECT_ROOT / "backend" / "services").glob("*.py")),
    ids=lambda p: p.name,
)
def test_services_never_import_jobs_or_huey(path):
    for module in _imports(path):
        assert module.split(".")[0] not in {"jobs", "huey"}, f"{path.name} imports {module}"
