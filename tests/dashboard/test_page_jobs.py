"""The Jobs page: filters, pagination, live progress, cancel / retry / delete.

Each runs the real app under AppTest on jobs made through the services.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from backend.config import get_settings
from backend.db import session_scope
from backend.services import jobs as job_service
from backend.services import runner
from tests.dashboard.apptest import all_jobs, job_status, open_page, texts
from tests.dashboard.factories import (
    complete,
    default_summary,
    fail,
    sample_track_rows,
    start,
    submit_clip,
)


def test_jobs_empty_state(data_dir):
    app = open_page("jobs.py")
    assert any("No analyses yet" in text for text in texts(app, "info"))


def test_jobs_filters_by_status_and_name(data_dir, tmp_path):
    submit_clip(tmp_path, "semi-final.mp4")
    done = submit_clip(tmp_path, "grand-final.mp4")
    complete(done, tracks=sample_track_rows())
    app = open_page("jobs.py")
    assert len(app.dataframe[0].value) == 2
    app.selectbox(key="jobs_status").set_value("completed").run()
    assert list(app.dataframe[0].value["Job ID"]) == [done]
    app.selectbox(key="jobs_status").set_value("all").run()
    app.text_input(key="jobs_search").input("semi").run()
    assert list(app.dataframe[0].value["Video"]) == ["semi-final.mp4"]
    app.text_input(key="jobs_search").input("nothing-like-this").run()
    assert any("No job matches" in text for text in texts(app, "info"))


def test_jobs_filter_by_creation_date(data_dir, tmp_path):
    submit_clip(tmp_path, "today.mp4")
    app = open_page("jobs.py")
    app.date_input(key="jobs_days").set_value((date(2020, 1, 1), date(2020, 1, 31))).run()
    assert any("No job matches" in text for text in texts(app, "info"))
    today = datetime.now(UTC).date()
    app.date_input(key="jobs_days").set_value((today, today)).run()
    assert list(app.dataframe[0].value["Video"]) == ["today.mp4"]


def test_cancel_a_running_job_asks_the_worker_to_stop(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "long.mp4")
    start(job_id, frames_done=10, frames_total=1000, fps=9.0)
    app = open_page("jobs.py")
    assert f"jobs_delete_{job_id}" not in [button.key for button in app.button]  # runs: no delete
    app.button(key=f"jobs_cancel_{job_id}").click().run()
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
    assert job.cancel_requested and job.status == "running"
    assert "stopping at the next frame batch" in app.get("progress")[0].proto.text


def test_jobs_are_paginated(data_dir, tmp_path):
    ids = [submit_clip(tmp_path, f"round-{index:02d}.mp4") for index in range(22)]
    app = open_page("jobs.py")
    assert len(app.dataframe[0].value) == 20
    assert "22 jobs" in " ".join(texts(app, "caption"))
    app.get("pagination")[0].set_value(2).run()
    assert set(app.dataframe[0].value["Job ID"]) == set(ids[:2])  # the oldest two


def test_jobs_shows_live_progress_of_a_running_job(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "live.mp4")
    start(job_id, frames_done=250, frames_total=1000, fps=12.5)
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
        job.started_at = datetime.now(UTC) - timedelta(seconds=75)
        session.add(job)
        session.commit()
    app = open_page("jobs.py")
    [bar] = app.get("progress")
    assert bar.value == 25  # percent
    assert "250 / 1,000 frames · 12.5 fps · about 12 s left" in bar.proto.text
    [run_time] = app.dataframe[0].value["Run time"]
    assert run_time in {"1 min 15 s so far", "1 min 16 s so far"}  # the page took a second


def test_a_starting_job_says_what_it_waits_for_instead_of_zero_frames(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "slow-start.mp4")
    start(job_id, frames_total=240, phase="loading_model")
    app = open_page("jobs.py")
    [bar] = app.get("progress")
    assert bar.proto.text == "0% · loading the detector (once per worker)"
    runner.ProgressRecorder(job_id).record(0, 240, None, None, phase="learning_teams")
    app.run()
    [bar] = app.get("progress")
    assert "learning the team colours" in bar.proto.text


def test_the_end_message_says_which_time_is_which(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "done.mp4")
    summary = {
        **default_summary(),
        "timings": {"main_pass_s": 8.6, "finalize_s": 0.7},
        "analytics": {"timings": {"total_s": 0.5}},  # stage 2 counts as writing, not start-up
    }
    complete(job_id, tracks=sample_track_rows(), summary=summary)
    # The run of the issue: 12 s in the queue, 38 s from claim to finish.
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
        job.started_at = job.queued_at + timedelta(seconds=12)
        job.finished_at = job.started_at + timedelta(seconds=38)
        job.fps = 27.9
        session.add(job)
        session.commit()
    app = open_page("jobs.py")
    [message] = [text for text in texts(app, "success") if text.startswith("Finished")]
    assert message == (
        "Finished in 38 s: start-up 28 s (loading the detector, learning the team colours), "
        "analysis 9 s for 50 frames at 27.9 frames per second, writing the outputs and "
        "statistics 1 s. "
        "Waited 12 s in the queue before that."
    )


def test_cancel_then_retry_a_queued_job(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "queued.mp4")
    app = open_page("jobs.py")
    app.button(key=f"jobs_cancel_{job_id}").click().run()
    assert job_status(job_id) == "cancelled"
    assert any("Cancel requested" in text for text in texts(app, "success"))
    app.button(key=f"jobs_retry_{job_id}").click().run()
    assert job_status(job_id) == "queued"


def test_delete_asks_for_confirmation(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "old.mp4")
    app = open_page("jobs.py")
    app.button(key=f"jobs_delete_{job_id}").click().run()
    assert job_status(job_id) == "queued"
    assert any("cannot be undone" in text for text in texts(app, "warning"))
    app.button(key=f"jobs_keep_{job_id}").click().run()
    assert job_status(job_id) == "queued"
    app.button(key=f"jobs_delete_{job_id}").click().run()
    app.button(key=f"jobs_confirm_{job_id}").click().run()
    assert all_jobs() == []
    assert not (get_settings().jobs_dir / job_id).exists()


def test_failed_job_shows_its_reason_and_log(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "bad.mp4")
    fail(job_id, "the detector ran out of memory", log="frame 120: allocation failed\n")
    app = open_page("jobs.py")
    assert "the detector ran out of memory" in texts(app, "error")
    assert any("allocation failed" in text for text in texts(app, "code"))
    assert app.button(key=f"jobs_retry_{job_id}")


def test_refused_action_shows_the_service_message(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "lost.mp4")
    fail(job_id, "worker died")
    for video in (get_settings().job_dir(job_id) / "input").iterdir():
        video.unlink()
    app = open_page("jobs.py")
    app.button(key=f"jobs_retry_{job_id}").click().run()
    assert not app.exception
    assert any("its input video is missing from storage" in t for t in texts(app, "error"))
    assert job_status(job_id) == "failed"
