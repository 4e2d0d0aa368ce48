"""Job lifecycle through the services: uploads, listing, cancel, retry, delete, labels."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from backend.config import get_settings
from backend.models import FileRole, Job, JobFile, JobStatus
from backend.services import jobs as job_service
from backend.services.errors import (
    InvalidArgument,
    JobNotFound,
    JobStateError,
    StorageError,
    UploadRejected,
)
from backend.services.files import job_dir
from jobs.queue import get_queue
from tests.platform.factories import OUTPUT_FILES, make_job
from tests.synthetic import make_corrupt_file, make_plain_clip


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_plain_clip(tmp_path / "clip.mp4", frames=12, size=(320, 180))


def _nothing_stored(session) -> bool:
    rows = session.exec(select(Job)).all()
    return not rows and not any(get_settings().jobs_dir.iterdir())


@pytest.mark.parametrize(
    ("name", "size", "expected"),
    [
        ("match.mp4", 10, "match.mp4"),
        ("Game Day (final).MOV", 10, "Game Day _final_.mov"),
        ("..hidden.mkv", 10, "hidden.mkv"),
        ("ÉquipeA.mp4", 10, "ÉquipeA.mp4"),
        ("q.mp4", None, "q.mp4"),
    ],
)
def test_check_upload_returns_a_safe_name(data_dir, name, size, expected):
    assert job_service.check_upload(original_name=name, size_bytes=size) == expected


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("notes.txt", 10, "unsupported file type ('.txt')"),
        ("video", 10, "unsupported file type (no extension)"),
        ("../../x.mp4", 10, "contains a folder path"),
        ("..\\x.mp4", 10, "contains a folder path"),
        ("", 10, "has no name"),
        ("match.mp4", 0, "is empty (0 bytes)"),
        ("match.mp4", 3 * 1024**3, "larger than the upload limit of 2048 MB"),
    ],
)
def test_check_upload_refuses_with_a_reason(data_dir, name, size, message):
    with pytest.raises(UploadRejected, match=r".*") as caught:
        job_service.check_upload(original_name=name, size_bytes=size)
    assert message in str(caught.value)


def _truncated(tmp_path: Path) -> tuple[str, bytes]:
    full = make_plain_clip(tmp_path / "full.mp4", frames=25).read_bytes()
    return "truncated.mp4", full[: len(full) // 2]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("zero_bytes", "empty (0 bytes)"),
        ("text_as_mp4", "not a readable video"),
        ("random_bytes", "not a readable video"),
        ("truncated", "truncated.mp4"),
        ("unknown_extension", "unsupported file type"),
        ("path_traversal", "contains a folder path"),
        ("over_limit", "larger than the upload limit of 1 MB"),
    ],
)
def test_bad_uploads_leave_no_job_and_no_files(session, tmp_path, monkeypatch, case, message):
    monkeypatch.setenv("NETBALL_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    name, content = {
        "zero_bytes": ("empty.mp4", b""),
        "text_as_mp4": ("notes.mp4", b"these are my match notes\n" * 20),
        "random_bytes": ("noise.mp4", make_corrupt_file(tmp_path / "n.mp4").read_bytes()),
        "truncated": _truncated(tmp_path),
        "unknown_extension": ("match.exe", b"MZ" * 100),
        "path_traversal": ("../../x.mp4", b"\x00" * 100),
        "over_limit": ("big.mp4", b"\x00" * (1024 * 1024 + 1)),
    }[case]
    with pytest.raises(UploadRejected) as caught:
        job_service.submit_upload(session=session, stream=io.BytesIO(content), original_name=name)
    assert message in str(caught.value)
    assert _nothing_stored(session)
    assert get_queue().depth() == 0


def test_upload_is_stored_probed_registered_and_queued(session, clip):
    job = job_service.submit_upload(
        session=session,
        stream=clip.open("rb"),
        original_name="Round 3 vs Thunder.mp4",
        priority="high",
        settings={
            "imgsz": 320,
            "team_names": {"A": "Lightning"},
            "match": {"home": " Lightning ", "away": "Thunderbirds", "date": "2026-11-21"},
        },
    )
    assert job.settings["match"] == {
        "home": "Lightning",
        "away": "Thunderbirds",
        "date": "2026-11-21",
    }
    assert job.status == "queued" and job.priority == "high"
    assert job.input_name == "Round 3 vs Thunder.mp4"
    assert job.frames_total == 12
    assert job.video_info["width"] == 320 and job.video_info["height"] == 180
    stored = job_dir(job.id) / "input" / job.input_name
    assert stored.read_bytes() == clip.read_bytes()
    (row,) = session.exec(select(JobFile).where(JobFile.job_id == job.id)).all()
    assert (row.role, row.kind, row.relpath) == ("input", "video", f"input/{job.input_name}")
    assert row.sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert row.size_bytes == clip.stat().st_size and row.mime == "video/mp4"
    assert get_queue().pending_task_ids() == {job.queue_task_id}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"priority": "urgent"}, "unknown priority 'urgent'"),
        ({"settings": {"imgsz": 333}}, "imgsz must be a multiple of 32"),
        ({"settings": {"frame_stride": 0}}, "frame_stride must be between"),
        ({"settings": {"team_names": {"C": "x"}}}, "team_names keys"),
        ({"settings": {"calibration": {"image_points": []}}}, "missing court_points_m"),
        ({"settings": {"calibration": "corners"}}, "invalid court calibration"),
        ({"settings": {"match": {"home": "X", "score": 3}}}, "match details must be a mapping"),
    ],
)
def test_bad_priority_or_settings_are_refused_before_storing(session, clip, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        job_service.submit_upload(
            session=session, stream=clip.open("rb"), original_name="m.mp4", **kwargs
        )
    assert _nothing_stored(session)


def test_submit_path_copies_and_keeps_the_source(session, clip):
    job = job_service.submit_path(session=session, source_path=clip)
    assert clip.is_file()
    assert (job_dir(job.id) / "input" / "clip.mp4").read_bytes() == clip.read_bytes()


def test_submit_path_move_gives_a_refused_file_back(session, tmp_path):
    bad = make_corrupt_file(tmp_path / "inbox_game.mp4")
    original = bad.read_bytes()
    with pytest.raises(UploadRejected, match="not a readable video"):
        job_service.submit_path(session=session, source_path=bad, move=True)
    assert bad.read_bytes() == original
    assert _nothing_stored(session)


def test_a_move_that_fails_half_way_keeps_the_original_video(session, clip, monkeypatch):
    """Inbox on another disk: shutil.move copies, and the copy ran out of space."""
    import errno
    import shutil

    from backend.services import uploads

    original = clip.read_bytes()
    real_move = shutil.move
    calls = []

    def move_across_a_full_disk(src, dst):
        calls.append((Path(src), Path(dst)))
        if len(calls) > 1:
            return real_move(src, dst)
        Path(dst).write_bytes(original[:100])  # the partial copy; the source is not removed
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(uploads.shutil, "move", move_across_a_full_disk)
    with pytest.raises(StorageError, match="the disk is full"):
        job_service.submit_path(session=session, source_path=clip, move=True)
    assert clip.read_bytes() == original
    assert len(calls) == 1
    assert _nothing_stored(session)


def test_submit_path_move_takes_the_file(session, clip):
    job = job_service.submit_path(session=session, source_path=clip, move=True)
    assert not clip.exists()
    assert (job_dir(job.id) / "input" / "clip.mp4").is_file()


def test_submit_path_missing_file(session, tmp_path):
    with pytest.raises(UploadRejected, match="file not found"):
        job_service.submit_path(session=session, source_path=tmp_path / "nope.mp4")


def test_list_inbox_shows_only_videos(data_dir, clip):
    inbox = get_settings().inbox_dir
    (inbox / "b_game.mp4").write_bytes(clip.read_bytes())
    (inbox / "A_game.MOV").write_bytes(b"x" * 10)
    (inbox / "notes.txt").write_text("no")
    videos = job_service.list_inbox()
    assert [v.name for v in videos] == ["A_game.MOV", "b_game.mp4"]
    assert videos[1].size_bytes == clip.stat().st_size


def test_list_jobs_filters_and_pages(session):
    for i in range(5):
        make_job(session, name=f"round{i}.mp4", age=timedelta(hours=5 - i))
    make_job(session, status=JobStatus.failed, name="final.mp4")
    rows, total = job_service.list_jobs(session=session, page=1, page_size=4)
    assert total == 6 and [j.original_name for j in rows][:2] == ["final.mp4", "round4.mp4"]
    rows, total = job_service.list_jobs(session=session, page=2, page_size=4)
    assert total == 6 and len(rows) == 2
    rows, total = job_service.list_jobs(session=session, status="failed")
    assert total == 1 and rows[0].original_name == "final.mp4"
    rows, total = job_service.list_jobs(session=session, search="ROUND3")
    assert [j.original_name for j in rows] == ["round3.mp4"]
    created_to = rows[0].created_at + timedelta(seconds=1)
    _, total = job_service.list_jobs(session=session, created_to=created_to)
    assert total == 4
    with pytest.raises(InvalidArgument, match="unknown status 'done'"):
        job_service.list_jobs(session=session, status="done")


def test_list_jobs_can_leave_the_summaries_unloaded(data_dir):
    from backend.db import session_scope

    with session_scope() as session:
        summary = {"counts": {"keyframes": 90}, "timings": {"main_pass_s": 12.5}}
        job_id = make_job(session, status=JobStatus.completed, summary=summary).id
        make_job(session, status=JobStatus.completed, summary=summary, settings={"imgsz": 640})
    with session_scope() as session:
        rows, total = job_service.list_jobs(session=session, include_summary=False)
        assert total == 2
        # Not read from the database: no summary JSON parsed for a page of the API's list.
        assert all("summary" not in row.__dict__ for row in rows)
        assert {row.settings.get("imgsz") for row in rows} == {None, 640}
        # Asked for anyway, it is still there.
        assert next(row for row in rows if row.id == job_id).summary == summary
    with session_scope() as session:
        rows, _ = job_service.list_jobs(session=session)
        assert all(row.__dict__["summary"] == summary for row in rows)


def test_count_jobs_by_status(session):
    make_job(session)
    make_job(session, status=JobStatus.completed)
    make_job(session, status=JobStatus.completed)
    counts = job_service.count_jobs_by_status(session=session)
    assert counts == {"queued": 1, "running": 0, "completed": 2, "failed": 0, "cancelled": 0}


@pytest.mark.parametrize(
    "call",
    [
        job_service.get_job,
        job_service.cancel_job,
        job_service.retry_job,
        job_service.delete_job,
    ],
)
def test_unknown_job_ids_say_job_not_found(session, call):
    with pytest.raises(JobNotFound, match="job not found: 'missing1'"):
        call(session=session, job_id="missing1")


def test_cancel_queued_job_revokes_its_task(session, clip):
    job = job_service.submit_path(session=session, source_path=clip)
    job_service.cancel_job(session=session, job_id=job.id)
    assert job.status == "cancelled" and job.finished_at is not None
    task = get_queue().huey.dequeue()
    assert task.id == job.queue_task_id
    assert get_queue().huey.is_revoked(task)


def test_cancel_running_job_sets_the_flag(session):
    job = make_job(session, status=JobStatus.running)
    job_service.cancel_job(session=session, job_id=job.id)
    assert job.status == "running" and job.cancel_requested


def test_cancel_of_a_job_that_just_finished_is_refused(session, monkeypatch):
    """The worker completes the job between the status read and the flag being written."""
    from backend.db import session_scope

    job = make_job(session, status=JobStatus.running)
    read_job = job_service.get_job

    def read_then_worker_finishes(*, session, job_id):
        seen = read_job(session=session, job_id=job_id)
        with session_scope() as worker:
            worker.get(Job, job_id).status = JobStatus.completed.value
        return seen

    monkeypatch.setattr(job_service, "get_job", read_then_worker_finishes)
    with pytest.raises(JobStateError, match="already completed"):
        job_service.cancel_job(session=session, job_id=job.id)
    stored = read_job(session=session, job_id=job.id)
    assert (stored.status, stored.cancel_requested) == ("completed", False)


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (JobStatus.completed, "cancel", "already completed; only queued or running"),
        (JobStatus.failed, "cancel", "already failed"),
        (JobStatus.running, "retry", "is running; only failed or cancelled jobs can be retried"),
        (JobStatus.completed, "retry", "is completed; only failed or cancelled"),
        (JobStatus.queued, "retry", "is queued"),
        (JobStatus.running, "delete", "is running; cancel it first"),
    ],
)
def test_refused_transitions_say_why(session, status, action, message):
    job = make_job(session, status=status)
    call = getattr(job_service, f"{action}_job")
    with pytest.raises(JobStateError, match=message):
        call(session=session, job_id=job.id)
    assert job_service.get_job(session=session, job_id=job.id).status == status.value


@pytest.mark.parametrize("status", [JobStatus.failed, JobStatus.cancelled])
def test_retry_clears_outputs_and_queues_again(session, status):
    job = make_job(
        session, status=status, with_input=True, outputs=OUTPUT_FILES, error="boom", attempts=1
    )
    job_service.retry_job(session=session, job_id=job.id)
    assert (job.status, job.error, job.progress, job.started_at) == ("queued", None, 0.0, None)
    assert not (job_dir(job.id) / "outputs").exists()
    roles = {f.role for f in session.exec(select(JobFile).where(JobFile.job_id == job.id))}
    assert roles == {FileRole.input.value}
    assert get_queue().pending_task_ids() == {job.queue_task_id}


def test_retry_without_input_video_is_refused(session):
    job = make_job(session, status=JobStatus.failed)
    with pytest.raises(Exception, match="input video is missing"):
        job_service.retry_job(session=session, job_id=job.id)


@pytest.mark.parametrize("status", [JobStatus.queued, JobStatus.completed, JobStatus.failed])
def test_delete_removes_row_files_and_folder(session, status):
    job = make_job(session, status=status, with_input=True, outputs=OUTPUT_FILES)
    job_service.delete_job(session=session, job_id=job.id)
    assert session.get(Job, job.id) is None
    assert not session.exec(select(JobFile).where(JobFile.job_id == job.id)).all()
    assert not job_dir(job.id).exists()


def test_update_job_labels(session):
    job = make_job(session, settings={"imgsz": 320})
    job_service.update_job_labels(
        session=session, job_id=job.id, team_names={"A": " Lightning ", "B": "Firebirds"}
    )
    stored = job_service.get_job(session=session, job_id=job.id)
    assert stored.settings == {"imgsz": 320, "team_names": {"A": "Lightning", "B": "Firebirds"}}
    with pytest.raises(InvalidArgument, match="is empty"):
        job_service.update_job_labels(session=session, job_id=job.id, team_names={"A": " "})
    with pytest.raises(InvalidArgument, match="team_names keys"):
        job_service.update_job_labels(session=session, job_id=job.id, team_names={"Z": "x"})


def test_read_job_log_returns_the_tail(session):
    job = make_job(session, status=JobStatus.failed, outputs={"run.log": b"a" * 100 + b"END"})
    assert job_service.read_job_log(job_id=job.id, tail_bytes=10) == "a" * 7 + "END"
    other = make_job(session, with_input=True)
    assert job_service.read_job_log(job_id=other.id) == ""
    with pytest.raises(JobNotFound):
        job_service.read_job_log(job_id="nope")


@pytest.mark.parametrize(
    ("original_name", "expected"),
    [
        ("phone-export.mp4", "phone-export.mp4 is not a readable video"),
        # The stored name is sanitised; the message names the file the analyst chose.
        ("Match: Day 1?.mp4", "Match: Day 1?.mp4 is not a readable video"),
    ],
)
def test_refused_upload_names_the_file_once(session, tmp_path, original_name, expected):
    bad = make_corrupt_file(tmp_path / "upload.mp4")
    with pytest.raises(UploadRejected) as refused:
        job_service.submit_upload(
            session=session, stream=bad.open("rb"), original_name=original_name
        )
    assert str(refused.value).startswith(expected)
    assert _nothing_stored(session)


def test_a_full_disk_during_upload_says_so_and_keeps_nothing(session, clip, monkeypatch):
    from backend.services import uploads

    def store_on_full_disk(stream, target, *, name):
        target.write_bytes(b"partial")  # what an interrupted copy leaves behind
        with open("/dev/full", "wb", buffering=0) as full:  # the kernel answers ENOSPC
            full.write(stream.read(1 << 16))

    monkeypatch.setattr(uploads, "_store_stream", store_on_full_disk)
    with pytest.raises(StorageError, match=r"clip\.mp4 could not be stored: the disk is full"):
        job_service.submit_upload(session=session, stream=clip.open("rb"), original_name="clip.mp4")
    assert _nothing_stored(session)


def test_an_unusable_jobs_folder_is_a_storage_error(session, clip):
    """A raw OSError from creating the job folder reached the dashboard as a traceback."""
    jobs_dir = get_settings().jobs_dir
    jobs_dir.rmdir()
    jobs_dir.write_text("not a folder")  # a mistyped NETBALL_DATA_DIR, a botched restore
    with pytest.raises(StorageError, match=r"^clip\.mp4 could not be stored \(Not a directory\)"):
        job_service.submit_path(session=session, source_path=clip)
    assert session.exec(select(Job)).all() == []
