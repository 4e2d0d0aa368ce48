"""The New analysis page: upload checks, settings, calibration, server inbox.

Each runs the real app under AppTest on jobs made through the services.
"""

from __future__ import annotations

import pytest

from backend.config import get_settings
from backend.db import session_scope
from backend.pipeline.settings import PipelineSettings
from backend.services import competitions as competition_service
from tests.dashboard.apptest import all_jobs, open_page, shown, texts
from tests.synthetic import make_corrupt_file, make_plain_clip


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


def test_an_unreadable_video_is_refused_on_drop_next_to_its_name(data_dir, tmp_path):
    """Checked as soon as it is dropped: before, the refusal came only after pressing the
    button, below it and out of sight."""
    broken = make_corrupt_file(tmp_path / "broken.mp4")
    good = make_plain_clip(tmp_path / "good.mp4", frames=6, size=(180, 320))
    app = open_page("new_analysis.py")
    app.file_uploader[0].set_value(
        [
            ("broken.mp4", broken.read_bytes(), "video/mp4"),
            ("good.mp4", good.read_bytes(), "video/mp4"),
        ]
    ).run()
    [error] = app.error
    assert "broken.mp4" in shown(error.value) and "not a readable video" in shown(error.value)
    # The verdict sits in the file's own row, right under its name.
    rows = file_rows(app)
    assert len(rows) == 2
    broken_row = next(t for t in rows if "**broken.mp4**" in t)
    good_row = next(t for t in rows if "**good.mp4**" in t)
    assert "not a readable video" in broken_row and "ready" not in broken_row
    assert "180×320 portrait" in good_row and "ready to analyse" in good_row
    assert "not a readable" not in good_row
    assert app.button(key="new_submit").label == "Analyse 1 video"
    assert all_jobs() == []
    assert list(get_settings().jobs_dir.iterdir()) == []


def _texts_under(node) -> list[str]:
    value = getattr(node, "value", None)
    found = [shown(value)] if isinstance(value, str) else []
    for child in getattr(node, "children", {}).values():
        found += _texts_under(child)
    return found


def file_rows(app) -> list[str]:
    """The text of each block that holds exactly one file's row (name, size, verdict)."""
    rows = []

    def walk(node) -> None:
        text = " ".join(_texts_under(node))
        if text.count(":material/movie:") == 1 and hasattr(node, "children"):
            rows.append(text)
            return
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app.main)
    return rows


def test_upload_queues_each_video_with_the_chosen_settings(data_dir, tmp_path):
    clips = [make_plain_clip(tmp_path / f"clip{i}.mp4", frames=6) for i in range(2)]
    with session_scope() as session:
        competition_service.create_competition(session=session, name="Super Netball")
    app = open_page("new_analysis.py")
    app.number_input(key="new_stride").set_value(2)
    app.selectbox(key="new_imgsz").set_value(320)
    app.selectbox(key="new_priority").set_value("high")
    app.text_input(key="new_team_a").input("Lightning")
    app.selectbox(key="new_competition").set_value("Super Netball")
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


def test_a_partly_failed_upload_never_queues_a_video_twice(data_dir, tmp_path, monkeypatch):
    clips = [make_plain_clip(tmp_path / f"clip{i}.mp4", frames=6) for i in range(2)]
    from backend.services import jobs as job_service
    from backend.services.errors import StorageError

    real_submit = job_service.submit_upload

    def disk_full_for_clip1(**kwargs):
        if kwargs["original_name"] == "clip1.mp4":
            raise StorageError("the disk is full")
        return real_submit(**kwargs)

    monkeypatch.setattr(job_service, "submit_upload", disk_full_for_clip1)
    app = open_page("new_analysis.py")
    app.file_uploader[0].set_value(
        [(clip.name, clip.read_bytes(), "video/mp4") for clip in clips]
    ).run()
    app.button(key="new_submit").click().run()
    [job] = all_jobs()
    assert job.original_name == "clip0.mp4"
    # Each file's outcome is in its own row, not below the button.
    rows = file_rows(app)
    assert len(rows) == 2
    assert any(f"clip0.mp4** is already queued as `{job.id}`" in row for row in rows)
    assert any("clip1.mp4" in row and "the disk is full" in row for row in rows)
    assert app.button(key="new_submit").label == "Analyse 1 video"  # only the failed one again
    monkeypatch.setattr(job_service, "submit_upload", real_submit)
    app.button(key="new_submit").click().run()
    assert sorted(j.original_name for j in all_jobs()) == ["clip0.mp4", "clip1.mp4"]


def test_bad_calibration_blocks_queuing_and_a_good_one_is_stored(data_dir, tmp_path):
    # Corners are clicked on the frame: they lie inside its 640x360 pixels.
    clip = make_plain_clip(tmp_path / "calibrated.mp4", frames=6, size=(640, 360))
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
    # The input size was left on Automatic: the job does not pin it, so the pipeline may
    # raise it for far-away players.
    assert "imgsz" not in job.settings
    assert PipelineSettings.from_dict(job.settings).imgsz_auto_player_px > 0


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


def test_team_name_help_says_the_colours_are_decided_later(data_dir):
    app = open_page("new_analysis.py")
    for key in ("new_team_a", "new_team_b"):
        help_text = app.text_input(key=key).help
        assert "decided during the analysis" in help_text
        assert "Results page" in help_text


def test_inbox_selection_empties_after_queuing_so_nothing_is_queued_twice(data_dir):
    inbox = get_settings().inbox_dir
    make_plain_clip(inbox / "final.mp4", frames=6)
    make_corrupt_file(inbox / "broken.mp4")
    app = open_page("new_analysis.py")
    app.multiselect(key="new_inbox_pick").set_value(["broken.mp4", "final.mp4"]).run()
    app.button(key="new_inbox_submit").click().run()
    [job] = all_jobs()
    assert job.original_name == "final.mp4"
    assert any(f"Queued **final.mp4** as job `{job.id}`" in t for t in texts(app, "success"))
    assert any("broken.mp4" in t and "not a readable video" in t for t in texts(app, "error"))
    assert app.multiselect(key="new_inbox_pick").value == []
    assert app.button(key="new_inbox_submit").disabled
    app.run()  # the outcome was said once; the files are still in the inbox to pick again
    assert not app.error
    assert len(app.multiselect(key="new_inbox_pick").options) == 2
    assert [j.id for j in all_jobs()] == [job.id]


def test_match_details_pick_stored_teams_name_team_a_and_link_the_job(data_dir, tmp_path):
    clip = make_plain_clip(tmp_path / "round3.mp4", frames=6)
    with session_scope() as session:
        league = competition_service.create_competition(session=session, name="Super Netball")
        competition_service.enter_score(
            session=session,
            competition=league,
            round="1",
            home="Giants",
            away="Swifts",
            home_quarters=[1, 1, 1, 1],
            away_quarters=[0, 0, 0, 0],
        )
    app = open_page("new_analysis.py")
    app.text_input(key="new_team_a").input("typed, replaced by the match's teams")
    app.selectbox(key="new_competition").set_value("Super Netball").run()
    assert app.selectbox(key="new_home").options == ["Giants", "Swifts"]
    app.selectbox(key="new_home").set_value("Swifts")
    app.selectbox(key="new_away").set_value("Giants")
    app.radio(key="new_team_a_side").set_value("Away")
    app.file_uploader[0].set_value([(clip.name, clip.read_bytes(), "video/mp4")]).run()
    assert "Give the round of the match" in app.warning[0].value
    assert app.button(key="new_submit").disabled
    app.text_input(key="new_round").input("3").run()
    assert any("Team A: **Giants**, Team B: **Swifts**." in t for t in texts(app, "caption"))
    app.button(key="new_submit").click().run()
    assert not app.exception and not app.error
    [job] = all_jobs()
    assert job.settings["team_names"] == {"A": "Giants", "B": "Swifts"}
    assert job.settings["match"] == {
        "competition": "Super Netball",
        "round": "3",
        "home": "Swifts",
        "away": "Giants",
    }
    with session_scope() as session:
        match = competition_service.match_for_job(session=session, job_id=job.id)
        assert (match.round, match.has_score) == ("3", False)


def test_home_and_away_must_differ(data_dir):
    with session_scope() as session:
        league = competition_service.create_competition(session=session, name="League")
        competition_service.enter_score(
            session=session,
            competition=league,
            round="1",
            home="Giants",
            away="Swifts",
            home_quarters=[1, 1, 1, 1],
            away_quarters=[0, 0, 0, 0],
        )
    app = open_page("new_analysis.py")
    app.selectbox(key="new_competition").set_value("League").run()
    app.selectbox(key="new_home").set_value("Giants")
    app.selectbox(key="new_away").set_value("Giants").run()
    assert not app.exception
    app.file_uploader[0].set_value([("x.mp4", b"0" * 10, "video/mp4")]).run()
    assert "Home and away are both Giants" in app.warning[0].value
    assert app.button(key="new_submit").disabled
