"""The Admin page: password gate, processing and storage, cleanup.

Each runs the real app under AppTest on jobs made through the services.
"""

from __future__ import annotations

from backend.config import get_settings
from tests.dashboard.apptest import all_jobs, job_status, open_page, texts
from tests.dashboard.factories import complete, fail, sample_track_rows, submit_clip


def test_admin_asks_for_the_password_when_set(data_dir, monkeypatch):
    monkeypatch.setenv("NETBALL_ADMIN_PASSWORD", "s3cret")
    get_settings.cache_clear()
    app = open_page("admin.py")
    assert len(app.tabs) == 0  # nothing behind the gate is drawn
    assert len(app.metric) == 0
    app.text_input(key="admin_password").input("wrong")
    app.button[0].click().run()
    assert "That password is not correct." in texts(app, "error")
    assert len(app.tabs) == 0
    app.text_input(key="admin_password").input("s3cret")
    app.button[0].click().run()
    assert [tab.label for tab in app.tabs] == ["Processing", "Storage", "Cleanup"]
    app.run()  # unlocked for the rest of the session
    assert len(app.tabs) == 3


def test_admin_open_without_password_shows_processing_and_storage(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "stored.mp4")
    complete(job_id, tracks=sample_track_rows())
    app = open_page("admin.py")
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Workers alive"] == "0"
    registered = {metric.label: metric.delta for metric in app.metric}["Workers alive"]
    assert registered == "of 0 registered"
    assert metrics["Jobs"] == "1"
    assert any("No worker is processing the queue" in text for text in texts(app, "warning"))


def test_admin_lists_every_registered_worker_with_its_host(data_dir, monkeypatch):
    from backend.db import session_scope
    from backend.services.workers import register_worker, stop_worker

    ids = {}
    for host in ("analysis-1", "analysis-2"):
        monkeypatch.setenv("NETBALL_WORKER_HOST", host)
        get_settings.cache_clear()
        with session_scope() as session:
            ids[host] = register_worker(session=session, processes=2, queue="q").id
    with session_scope() as session:
        stop_worker(session=session, worker_id=ids["analysis-2"])
    app = open_page("admin.py")
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Workers alive"] == "1"
    registered = {metric.label: metric.delta for metric in app.metric}["Workers alive"]
    assert registered == "of 2 registered"
    assert metrics["Worker processes"] == "2"
    table = app.dataframe[0].value
    assert dict(zip(table["Host"], table["State"], strict=True)) == {
        "analysis-1": "alive",
        "analysis-2": "stopped",
    }


def test_admin_cleanup_previews_then_deletes(data_dir, tmp_path):
    keep = submit_clip(tmp_path, "keep.mp4")
    complete(keep, tracks=sample_track_rows())
    drop = submit_clip(tmp_path, "drop.mp4")
    fail(drop, "broken")
    app = open_page("admin.py")
    app.number_input(key="admin_older_days").set_value(0.0)
    app.multiselect(key="admin_statuses").set_value(["failed"])
    [preview] = [b for b in app.button if b.label == "Preview cleanup"]
    preview.click().run()
    assert any(
        "1 job(s) and 0 stray folder(s) would be removed" in t for t in texts(app, "markdown")
    )
    assert job_status(drop) == "failed"  # a preview changes nothing
    app.button(key="admin_cleanup_confirm").click().run()
    assert [job.id for job in all_jobs()] == [keep]
    assert any("Removed 1 job(s)" in text for text in texts(app, "success"))


def test_admin_shows_built_zips_apart_and_cleans_them_without_the_outputs(data_dir, tmp_path):
    from backend.db import session_scope
    from backend.services.files import build_archive, list_job_files

    job_id = submit_clip(tmp_path, "zipped.mp4")
    complete(job_id, tracks=sample_track_rows())
    with session_scope() as session:
        archive = build_archive(session=session, job_id=job_id)
    app = open_page("admin.py")
    cache = next(metric for metric in app.metric if metric.label == "Cache (built ZIPs)")
    assert cache.value.endswith(("B", "KB")) and cache.value != "0 B"
    assert "1 file(s)" in str(cache.proto.delta)
    app.number_input(key="admin_cache_days").set_value(0.0)
    app.multiselect(key="admin_statuses").set_value([])
    [preview] = [b for b in app.button if b.label == "Preview cleanup"]
    preview.click().run()
    assert any("1 cached ZIP(s) would be removed" in t for t in texts(app, "caption"))
    app.button(key="admin_cleanup_confirm").click().run()
    assert not archive.exists()
    assert job_status(job_id) == "completed"
    with session_scope() as session:
        kinds = {row.role for row in list_job_files(session=session, job_id=job_id)}
    assert "output" in kinds and "archive" not in kinds
