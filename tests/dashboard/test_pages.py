"""Each page run by AppTest on a temporary data dir holding real jobs made through the services."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.config import get_settings
from backend.db import session_scope
from backend.services import jobs as job_service
from tests.dashboard.apptest import open_page
from tests.dashboard.factories import complete, fail, sample_track_rows, start, submit_clip
from tests.synthetic import make_corrupt_file, make_plain_clip


def texts(app, kind: str) -> list[str]:
    return [element.value for element in getattr(app, kind)]


def job_status(job_id: str) -> str:
    with session_scope() as session:
        return job_service.get_job(session=session, job_id=job_id).status


def all_jobs() -> list:
    with session_scope() as session:
        return job_service.list_jobs(session=session, page_size=100)[0]


# --- Overview -------------------------------------------------------------------------------


def test_overview_empty_state_says_how_to_start(data_dir):
    app = open_page("overview.py")
    assert not app.exception
    assert any("No analyses yet" in text for text in texts(app, "info"))
    assert app.get("plotly_chart") == []


def test_overview_counts_jobs_by_status_and_lists_recent(data_dir, tmp_path):
    queued = submit_clip(tmp_path, "queued.mp4")
    failed = submit_clip(tmp_path, "failed.mp4")
    fail(failed, "decoder crashed")
    app = open_page("overview.py")
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Queued"] == "1"
    assert metrics["Failed"] == "1"
    assert metrics["Completed"] == "0"
    table = app.dataframe[0].value
    assert set(table["Job ID"]) == {queued, failed}
    assert len(app.get("plotly_chart")) == 2
    # Health tiles name every check; with no worker running the page says what to do.
    markdown = " ".join(texts(app, "markdown"))
    for check in ("database", "queue", "workers", "model", "disk"):
        assert check in markdown.lower()
    # A job waits and no worker runs: the page says so and what to do, as an error.
    assert any("start the worker" in text for text in texts(app, "error"))


# --- New analysis ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"hello", "unsupported file type ('.txt')"),
        ("empty.mp4", b"", "empty.mp4 is empty (0 bytes)"),
    ],
)
def test_upload_rejects_bad_files_at_once(data_dir, name, content, message):
    app = open_page("new_analysis.py")
    app.file_uploader[0].set_value([(name, content, "application/octet-stream")]).run()
    assert any(message in text for text in texts(app, "error"))
    assert app.button(key="new_submit").disabled
    assert all_jobs() == []


def test_upload_of_an_unreadable_video_queues_nothing(data_dir, tmp_path):
    broken = make_corrupt_file(tmp_path / "broken.mp4")
    app = open_page("new_analysis.py")
    app.file_uploader[0].set_value([("broken.mp4", broken.read_bytes(), "video/mp4")]).run()
    assert not app.error
    app.button(key="new_submit").click().run()
    assert any(
        "broken.mp4" in text and "not a readable video" in text for text in texts(app, "error")
    )
    assert all_jobs() == []
    assert list(get_settings().jobs_dir.iterdir()) == []


def test_upload_queues_each_video_with_the_chosen_settings(data_dir, tmp_path):
    clips = [make_plain_clip(tmp_path / f"clip{i}.mp4", frames=6) for i in range(2)]
    app = open_page("new_analysis.py")
    app.number_input(key="new_stride").set_value(2)
    app.selectbox(key="new_imgsz").set_value(320)
    app.selectbox(key="new_priority").set_value("high")
    app.text_input(key="new_team_a").input("Lightning")
    app.text_input(key="new_competition").input("Super Netball")
    app.file_uploader[0].set_value(
        [(clip.name, clip.read_bytes(), "video/mp4") for clip in clips]
    ).run()
    assert app.button(key="new_submit").label == "Analyse 2 videos"
    app.button(key="new_submit").click().run()
    assert not app.exception
    jobs = all_jobs()
    assert sorted(job.original_name for job in jobs) == ["clip0.mp4", "clip1.mp4"]
    for job in jobs:
        assert job.status == "queued"
        assert job.priority == "high"
        assert job.settings["frame_stride"] == 2
        assert job.settings["imgsz"] == 320
        assert job.settings["team_names"] == {"A": "Lightning"}
        assert job.settings["match"] == {"competition": "Super Netball"}
    assert sum("Queued **clip" in text for text in texts(app, "success")) == 2
    # The uploader was emptied so a second click cannot queue the same files again.
    assert not app.file_uploader[0].value


def test_a_partly_failed_upload_never_queues_a_video_twice(data_dir, tmp_path):
    good = make_plain_clip(tmp_path / "good.mp4", frames=6)
    broken = make_corrupt_file(tmp_path / "broken.mp4")
    app = open_page("new_analysis.py")
    app.file_uploader[0].set_value(
        [
            ("good.mp4", good.read_bytes(), "video/mp4"),
            ("broken.mp4", broken.read_bytes(), "video/mp4"),
        ]
    ).run()
    app.button(key="new_submit").click().run()
    [job] = all_jobs()
    assert job.original_name == "good.mp4"
    assert any("broken.mp4" in text for text in texts(app, "error"))
    app.run()
    assert any(f"good.mp4** is already queued as `{job.id}`" in t for t in texts(app, "markdown"))
    assert app.button(key="new_submit").label == "Analyse 1 video"  # only the broken one again
    app.button(key="new_submit").click().run()
    assert [j.id for j in all_jobs()] == [job.id]


def test_bad_calibration_blocks_queuing_and_a_good_one_is_stored(data_dir, tmp_path):
    clip = make_plain_clip(tmp_path / "calibrated.mp4", frames=6)
    app = open_page("new_analysis.py")
    app.file_uploader[0].set_value([(clip.name, clip.read_bytes(), "video/mp4")])
    app.text_input(key="new_corner_0").input("90, 108").run()
    assert any("Give all four corners or none" in text for text in texts(app, "error"))
    assert app.button(key="new_submit").disabled
    for index, text in enumerate(["90, 108", "550, 108", "634, 342", "6, 342"]):
        app.text_input(key=f"new_corner_{index}").input(text)
    app.run()
    assert not app.error
    app.button(key="new_submit").click().run()
    [job] = all_jobs()
    assert job.settings["calibration"]["image_points"][1] == [550.0, 108.0]
    assert job.settings["calibration"]["court_points_m"][2] == [30.5, 15.25]


def test_inbox_lists_server_videos_and_queues_the_chosen_one(data_dir):
    inbox = get_settings().inbox_dir
    make_plain_clip(inbox / "final.mp4", frames=6)
    (inbox / "readme.txt").write_text("not a video")
    app = open_page("new_analysis.py")
    picker = app.multiselect(key="new_inbox_pick")
    [option] = picker.options
    assert option.startswith("final.mp4 · 2.")
    picker.set_value(["final.mp4"]).run()
    app.button(key="new_inbox_submit").click().run()
    assert not app.exception
    [job] = all_jobs()
    assert job.original_name == "final.mp4"
    assert (inbox / "final.mp4").is_file()  # copied, not moved, by default


def test_inbox_can_move_the_file_into_storage(data_dir):
    inbox = get_settings().inbox_dir
    make_plain_clip(inbox / "semi.mp4", frames=6)
    app = open_page("new_analysis.py")
    app.multiselect(key="new_inbox_pick").set_value(["semi.mp4"])
    app.checkbox(key="new_inbox_move").check().run()
    app.button(key="new_inbox_submit").click().run()
    [job] = all_jobs()
    assert not (inbox / "semi.mp4").exists()
    assert (get_settings().job_dir(job.id) / "input" / "semi.mp4").is_file()
    assert any(f"as job `{job.id}`" in text for text in texts(app, "success"))
    app.run()  # the moved file has left the inbox list without upsetting the page
    assert not app.exception
    assert any("holds no videos yet" in text for text in texts(app, "info"))


# --- Jobs -----------------------------------------------------------------------------------


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
    app = open_page("jobs.py")
    [bar] = app.get("progress")
    assert bar.value == 25  # percent
    assert "250 / 1,000 frames · 12.5 fps · about 12 s left" in bar.proto.text


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


# --- Results --------------------------------------------------------------------------------


def test_results_empty_state(data_dir):
    app = open_page("results.py")
    assert any("No analyses yet" in text for text in texts(app, "info"))


def test_results_of_a_completed_job(data_dir, tmp_path):
    video = make_plain_clip(tmp_path / "annotated-source.mp4", frames=6)
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows(), video_source=video)
    app = open_page("results.py", job=job_id)
    assert not app.exception
    assert not app.error
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Resolution"] == "640×360"
    assert metrics["Frames"] == "50"
    assert metrics["Team A possession"] == "50%"
    assert len(app.get("video")) == 1
    # Two team heatmaps, one player heatmap, tracks, ball path, possession timeline.
    assert len(app.get("plotly_chart")) == 6
    downloads = app.get("download_button")
    labels = [button.proto.label for button in downloads]
    assert labels[0].startswith("Download all (ZIP")
    assert len(downloads) == 1 + 4  # annotated.mp4, run.log, summary.json, tracks.csv


EVENTS_CSV = """frame,time_s,type,team,track_id,to_track_id,court_x,court_y
5,0.2,pass,A,1,3,6.0,7.0
25,1.0,possession_change,B,2,,20.0,8.0
30,1.2,pass,B,2,4,20.0,8.0
40,1.6,pass,B,4,2,18.0,9.0
"""


def test_results_events_filter_and_player_heatmap(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows(), events_csv=EVENTS_CSV)
    app = open_page("results.py", job=job_id)
    events = app.dataframe[0]
    assert len(events.value) == 4
    app.multiselect(key="results_event_types").set_value(["pass"]).run()
    assert len(app.dataframe[0].value) == 3
    app.multiselect(key="results_event_teams").set_value(["B"]).run()
    assert list(app.dataframe[0].value["frame"]) == [30, 40]
    assert "2 of 4 events" in texts(app, "caption")
    player = app.selectbox(key="results_player")
    assert player.options == [
        "Player 1 · Team A · 2 s on court",
        "Player 2 · Team B · 2 s on court",
    ]
    player.set_value(2).run()
    assert not app.exception


def test_results_switch_between_jobs(data_dir, tmp_path):
    first = submit_clip(tmp_path, "first.mp4")
    complete(first, tracks=sample_track_rows())
    second = submit_clip(tmp_path, "second.mp4")
    fail(second, "no people found")
    app = open_page("results.py")
    chooser = app.selectbox[0]
    assert chooser.value == first  # the newest completed job by default
    chooser.set_value(second).run()
    assert app.query_params["job"] in (second, [second])
    assert "This analysis failed: no people found" in texts(app, "error")
    app.run()
    assert app.selectbox[0].value == second


def test_results_rename_teams(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows())
    app = open_page("results.py", job=job_id)
    app.text_input[0].input("Lightning")
    app.text_input[1].input("Firebirds")
    [save] = [button for button in app.button if button.label == "Save names"]
    save.click().run()
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
    assert job.settings["team_names"] == {"A": "Lightning", "B": "Firebirds"}
    assert {metric.label for metric in app.metric} >= {"Lightning possession"}


def test_results_without_tracks_or_video_still_offer_the_files(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "old-version.mp4")
    complete(job_id, summary={})
    app = open_page("results.py", job=job_id)
    assert not app.exception
    infos = " ".join(texts(app, "info"))
    assert "no annotated video" in infos
    assert "no tracking data" in infos
    assert len(app.get("download_button")) == 1 + 2  # ZIP, run.log, summary.json


def test_results_of_a_running_job_show_progress(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "live.mp4")
    start(job_id, frames_done=10, frames_total=40, fps=5.0)
    app = open_page("results.py", job=job_id)
    assert any("not finished yet" in text for text in texts(app, "info"))
    assert app.get("progress")[0].value == 25  # percent


def test_results_of_an_unknown_job_say_so(data_dir, tmp_path):
    submit_clip(tmp_path, "real.mp4")
    app = open_page("results.py", job="doesnotexist")
    assert not app.exception
    assert "job not found: 'doesnotexist'" in texts(app, "error")


# --- Admin ----------------------------------------------------------------------------------


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
    assert metrics["Worker process"] == "not running"
    assert metrics["Jobs"] == "1"
    assert any("No worker is processing the queue" in text for text in texts(app, "warning"))


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
