"""Choices made on one page are still there after a visit to another page."""

from __future__ import annotations

from backend.services.jobs import default_analysis_settings
from dashboard.components.analysis_form import AUTOMATIC_IMGSZ
from tests.dashboard.apptest import open_page
from tests.dashboard.factories import complete, sample_track_rows, submit_clip


def visit(app, page: str) -> None:
    app.switch_page(f"dashboard/pages/{page}")
    app.run()


def test_new_analysis_form_survives_a_look_at_the_jobs_page(data_dir):
    app = open_page("new_analysis.py")
    app.number_input(key="new_stride").set_value(2)
    app.selectbox(key="new_imgsz").set_value(320)
    app.text_input(key="new_team_a").input("Lightning")
    app.text_input(key="new_corner_0").input("90, 108")
    app.run()
    visit(app, "jobs.py")
    visit(app, "new_analysis.py")
    assert app.number_input(key="new_stride").value == 2
    assert app.selectbox(key="new_imgsz").value == 320
    assert app.text_input(key="new_team_a").value == "Lightning"
    assert app.text_input(key="new_corner_0").value == "90, 108"
    # The half-entered calibration is still checked, so it still blocks queuing.
    assert any("Give all four corners or none" in error.value for error in app.error)


def test_new_analysis_starts_from_the_services_defaults(data_dir):
    defaults = default_analysis_settings()
    app = open_page("new_analysis.py")
    assert app.number_input(key="new_stride").value == defaults["frame_stride"]
    # Automatic: the job's settings leave imgsz out, so far players can raise it.
    assert app.selectbox(key="new_imgsz").value == AUTOMATIC_IMGSZ
    assert f"Automatic ({defaults['imgsz']}" in app.selectbox(key="new_imgsz").options[0]
    assert app.selectbox(key="new_priority").value == "normal"
    assert app.text_input(key="new_team_a").value == ""


def test_jobs_filter_and_results_choice_survive_page_changes(data_dir, tmp_path):
    older = submit_clip(tmp_path, "older.mp4")
    complete(older, tracks=sample_track_rows())
    newer = submit_clip(tmp_path, "newer.mp4")
    complete(newer, tracks=sample_track_rows())
    app = open_page("jobs.py")
    app.selectbox(key="jobs_status").set_value("completed").run()
    app.text_input(key="jobs_search").input("older").run()
    visit(app, "results.py")
    app.selectbox(key="results_job").set_value(older).run()
    visit(app, "overview.py")
    visit(app, "jobs.py")
    assert app.selectbox(key="jobs_status").value == "completed"
    assert app.text_input(key="jobs_search").value == "older"
    assert list(app.dataframe[0].value["Video"]) == ["older.mp4"]
    visit(app, "results.py")
    assert app.selectbox(key="results_job").value == older  # not the newest completed one
