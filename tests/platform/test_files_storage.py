"""Archive building, storage statistics and clean-up."""

from __future__ import annotations

import os
import time
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import select

from backend.config import get_settings
from backend.models import JobFile, JobStatus
from backend.services.errors import InvalidArgument, JobNotFound, StorageError
from backend.services.files import build_archive, job_dir, list_job_files, register_outputs
from backend.services.storage import ORPHAN_MIN_AGE_S, cleanup_storage, storage_stats
from tests.platform.factories import OUTPUT_FILES, make_job, write_outputs


def test_archive_holds_every_output_stored_or_deflated_by_kind(session):
    job = make_job(session, status=JobStatus.completed, with_input=True, outputs=OUTPUT_FILES)
    path = build_archive(session=session, job_id=job.id)
    assert path == job_dir(job.id) / f"{job.id}.zip"
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        infos = {info.filename: info for info in archive.infolist()}
        assert sorted(infos) == sorted(OUTPUT_FILES)  # outputs only, not the input video
        for name, content in OUTPUT_FILES.items():
            assert archive.read(name) == content
    methods = {name: info.compress_type for name, info in infos.items()}
    assert methods["annotated.mp4"] == zipfile.ZIP_STORED
    assert methods["heatmap_A.png"] == zipfile.ZIP_STORED
    assert methods["tracks.csv"] == methods["summary.json"] == methods["run.log"]
    assert methods["tracks.csv"] == zipfile.ZIP_DEFLATED
    rows = [f for f in list_job_files(session=session, job_id=job.id) if f.role == "archive"]
    assert [(r.kind, r.size_bytes) for r in rows] == [("archive", path.stat().st_size)]


def test_archive_is_cached_until_outputs_change(session):
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    first = build_archive(session=session, job_id=job.id)
    stamp = first.stat().st_mtime_ns
    time.sleep(0.01)
    assert build_archive(session=session, job_id=job.id).stat().st_mtime_ns == stamp
    write_outputs(session, job.id, {"events.csv": b"frame,event\n3,pass\n"})
    rebuilt = build_archive(session=session, job_id=job.id)
    assert rebuilt.stat().st_mtime_ns != stamp
    with zipfile.ZipFile(rebuilt) as archive:
        assert archive.read("events.csv") == b"frame,event\n3,pass\n"
    assert len([f for f in list_job_files(session=session, job_id=job.id)
                if f.role == "archive"]) == 1  # fmt: skip


def test_two_archive_builds_at_once_both_give_a_whole_zip(session, monkeypatch):
    """Two downloads clicked together (Streamlit serves each in its own thread)."""
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    open_entry = zipfile.ZipFile.open
    inner: list[str] = []

    def write_while_another_builds(self, name, mode="r", *args, **kwargs):
        if mode == "w" and not inner:
            inner.append("started")  # the first build is part-way through its ZIP
            from backend.db import session_scope

            with session_scope() as other:
                inner.append(str(build_archive(session=other, job_id=job.id)))
        return open_entry(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", write_while_another_builds)
    path = build_archive(session=session, job_id=job.id)
    assert inner[1] == str(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None and sorted(archive.namelist()) == sorted(OUTPUT_FILES)
    assert not list(path.parent.glob("*.part"))


def test_archive_refuses_missing_outputs(session):
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    (job_dir(job.id) / "outputs" / "tracks.csv").unlink()
    with pytest.raises(StorageError, match=r"outputs/tracks\.csv of job \w+: missing"):
        build_archive(session=session, job_id=job.id)
    empty = make_job(session, status=JobStatus.running)
    with pytest.raises(StorageError, match="has no output files yet"):
        build_archive(session=session, job_id=empty.id)
    with pytest.raises(JobNotFound):
        build_archive(session=session, job_id="nope")


def test_register_outputs_replaces_rows(session):
    job = make_job(session, status=JobStatus.running, outputs={"a.csv": b"1", "b.json": b"{}"})
    (job_dir(job.id) / "outputs" / "a.csv").unlink()
    rows = register_outputs(session=session, job_id=job.id)
    assert [(r.name, r.kind, r.mime) for r in rows] == [("b.json", "json", "application/json")]


def test_storage_stats_by_kind_and_job(session):
    small = make_job(session, status=JobStatus.completed, outputs={"a.csv": b"x" * 100})
    big = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    stats = storage_stats(session=session)
    outputs_bytes = sum(len(v) for v in OUTPUT_FILES.values())
    assert stats.total_bytes == 100 + outputs_bytes
    assert stats.total_files == 1 + len(OUTPUT_FILES)
    assert stats.bytes_by_kind["csv"] == 100 + len(OUTPUT_FILES["tracks.csv"])
    assert stats.files_by_kind == {"csv": 2, "json": 1, "video": 1, "image": 1, "log": 1}
    assert [u.job_id for u in stats.largest_jobs] == [big.id, small.id]
    assert stats.largest_jobs[0].bytes == outputs_bytes
    assert stats.disk_total_bytes > stats.disk_free_bytes > 0
    assert stats.to_dict()["jobs"] == 2


def _age_folder(path, seconds):
    """Age the folder and everything in it (cleanup judges an orphan by its newest file)."""
    old = time.time() - seconds
    for item in [*path.rglob("*"), path]:
        os.utime(item, (old, old))


def test_cleanup_dry_run_then_real(session):
    old_done = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES,
                        age=timedelta(days=40))  # fmt: skip
    old_failed = make_job(session, status=JobStatus.failed, outputs={"run.log": b"x" * 50},
                          age=timedelta(days=40))  # fmt: skip
    recent = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    queued = make_job(session, with_input=True, age=timedelta(days=90))
    running = make_job(session, status=JobStatus.running, outputs={"run.log": b"r"},
                       age=timedelta(days=90))  # fmt: skip
    orphan = get_settings().jobs_dir / "0rphan000000"
    (orphan / "outputs").mkdir(parents=True)
    (orphan / "outputs" / "x.csv").write_bytes(b"y" * 70)
    _age_folder(orphan, ORPHAN_MIN_AGE_S + 10)
    fresh_upload = get_settings().jobs_dir / "uploading000"
    fresh_upload.mkdir()
    vanished = make_job(session, status=JobStatus.completed, outputs={"gone.csv": b"z"})
    (job_dir(vanished.id) / "outputs" / "gone.csv").unlink()

    expected_bytes = sum(len(v) for v in OUTPUT_FILES.values()) + 50 + 70
    dry = cleanup_storage(session=session, older_than_days=30, dry_run=True)
    assert sorted(j.job_id for j in dry.jobs) == sorted([old_done.id, old_failed.id])
    assert dry.orphan_dirs == ["0rphan000000"]
    assert dry.missing_files == [f"{vanished.id}/outputs/gone.csv"]
    assert dry.bytes_freed == expected_bytes
    assert job_dir(old_done.id).is_dir() and orphan.is_dir()  # nothing touched

    real = cleanup_storage(session=session, older_than_days=30, dry_run=False)
    assert real.to_dict() | {"dry_run": True} == dry.to_dict()
    for job in (old_done, old_failed):
        assert not job_dir(job.id).exists()
    assert not orphan.exists() and fresh_upload.exists()
    for job in (recent, queued, running, vanished):
        assert job_dir(job.id).exists()
    missing = session.exec(select(JobFile).where(JobFile.job_id == vanished.id)).one()
    assert missing.missing
    again = cleanup_storage(session=session, older_than_days=30, dry_run=False)
    assert (again.jobs, again.orphan_dirs, again.missing_files, again.bytes_freed) == (
        [], [], [], 0)  # fmt: skip


def test_cleanup_by_status_only(session):
    failed = make_job(session, status=JobStatus.failed, outputs={"run.log": b"x"})
    make_job(session, status=JobStatus.completed, outputs={"run.log": b"x"})
    report = cleanup_storage(session=session, statuses=["failed"], dry_run=False)
    assert [j.job_id for j in report.jobs] == [failed.id]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statuses": ["running"]}, "never removes running jobs"),
        ({"statuses": ["queued"]}, "never removes queued jobs"),
        ({"statuses": ["old"]}, "unknown status 'old'"),
        ({"older_than_days": -1}, "0 or more"),
    ],
)
def test_cleanup_refuses_bad_requests(session, kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        cleanup_storage(session=session, dry_run=False, **kwargs)


def _age_archive(session, job_id: str, days: float) -> None:
    row = session.exec(
        select(JobFile).where(JobFile.job_id == job_id, JobFile.role == "archive")
    ).one()
    row.created_at = row.created_at - timedelta(days=days)
    session.add(row)
    session.commit()


def test_built_zips_count_as_a_cache_and_old_ones_are_cleaned_without_outputs(session):
    old = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    fresh = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    old_zip = build_archive(session=session, job_id=old.id)
    fresh_zip = build_archive(session=session, job_id=fresh.id)
    _age_archive(session, old.id, days=8)
    outputs_bytes = sum(len(v) for v in OUTPUT_FILES.values())

    stats = storage_stats(session=session)
    zip_bytes = old_zip.stat().st_size + fresh_zip.stat().st_size
    assert (stats.cache_bytes, stats.cache_files) == (zip_bytes, 2)
    assert stats.bytes_by_role == {"output": 2 * outputs_bytes, "archive": zip_bytes}
    assert stats.cache_max_age_days == 7.0

    # No job rule given: only caches older than NETBALL_CACHE_MAX_AGE_DAYS (7) go.
    dry = cleanup_storage(session=session, dry_run=True)
    assert dry.caches == [f"{old.id}/{old.id}.zip"] and dry.jobs == []
    assert dry.cache_bytes_freed == dry.bytes_freed == old_zip.stat().st_size
    assert old_zip.is_file()
    real = cleanup_storage(session=session, dry_run=False)
    assert real.caches == dry.caches
    assert not old_zip.exists() and fresh_zip.is_file()
    for job in (old, fresh):
        outputs = [f for f in list_job_files(session=session, job_id=job.id) if f.role == "output"]
        assert len(outputs) == len(OUTPUT_FILES)
        assert all((job_dir(job.id) / f.relpath).is_file() for f in outputs)
    assert storage_stats(session=session).cache_files == 1
    # Asked for again, the ZIP is simply built again.
    assert build_archive(session=session, job_id=old.id).is_file()


def test_cache_age_comes_from_the_setting_or_the_call(session, monkeypatch):
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    build_archive(session=session, job_id=job.id)
    _age_archive(session, job.id, days=2)
    assert cleanup_storage(session=session, dry_run=True).caches == []
    assert len(cleanup_storage(session=session, dry_run=True, cache_older_than_days=1).caches) == 1
    monkeypatch.setenv("NETBALL_CACHE_MAX_AGE_DAYS", "1.5")
    get_settings.cache_clear()
    assert len(cleanup_storage(session=session, dry_run=True).caches) == 1
    with pytest.raises(InvalidArgument, match="cache_older_than_days must be 0 or more"):
        cleanup_storage(session=session, dry_run=True, cache_older_than_days=-1)
