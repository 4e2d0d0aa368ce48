"""The Calibrate page under AppTest: landmark prompts, undo, the fit's verdict, the players on
the court, saving (stage 2 reruns), the automatic guess and copying. Clicks on the frame are
the image component's; here they are put into the page's state as a click would."""

from __future__ import annotations

import csv

import cv2
import numpy as np

from backend.analytics.court_drawing import draw_court_lines
from backend.db import session_scope
from backend.services.files import job_outputs_dir
from backend.services.jobs import get_job
from tests.analytics.scenes import HOMOGRAPHY
from tests.court_views import generated_views
from tests.dashboard.apptest import open_page, texts
from tests.platform.test_calibration_service import _scene_points, _uncalibrated_job

SCENE_FRAME_SIZE = (660, 345)  # the scenes' top-down camera at 20 px a metre, 20 px margin


def _job_with_frame(image=None) -> str:
    with session_scope() as session:
        job = _uncalibrated_job(session)
    if image is None:
        blank = np.full((SCENE_FRAME_SIZE[1], SCENE_FRAME_SIZE[0], 3), (60, 120, 60), np.uint8)
        image = draw_court_lines(blank, np.array(HOMOGRAPHY), color_bgr=(240, 240, 240))
    cv2.imwrite(str(job_outputs_dir(job.id) / "background.jpg"), image)
    return job.id


def _points_key(job_id: str) -> str:
    return f"calibrate_{job_id}_points"


def test_page_asks_for_the_first_landmark(data_dir):
    job_id = _job_with_frame()
    app = open_page("calibrate.py", job=job_id)
    assert not app.exception, app.exception
    assert any("0 of at least 4 landmarks clicked" in t and "Far left corner" in t
               for t in texts(app, "info"))  # fmt: skip
    assert app.selectbox[1].value == "far_left_corner"
    save = next(b for b in app.button if b.label.startswith("Save calibration"))
    assert save.disabled


def test_four_corners_fit_show_players_and_save_reanalyses(data_dir):
    job_id = _job_with_frame()
    app = open_page("calibrate.py", job=job_id)
    app.session_state[_points_key(job_id)] = _scene_points()
    app.run()
    assert not app.exception, app.exception
    assert any(t.startswith("Calibration ok") for t in texts(app, "success"))
    assert app.selectbox[1].value == "far_left_third"  # the next landmark to click
    assert len(app.get("plotly_chart")) == 1  # players on the court diagram
    table = app.dataframe[0].value
    assert list(table["landmark"])[:2] == ["Far left corner", "Far right corner"]
    next(b for b in app.button if b.label.startswith("Save calibration")).click().run()
    assert not app.exception, app.exception
    assert any("metres, zones and speeds now follow it" in t for t in texts(app, "success"))
    with session_scope() as session:
        saved = get_job(session=session, job_id=job_id).settings["calibration"]
    assert saved["status"] == "ok" and len(saved["landmarks"]) == 4
    with (job_outputs_dir(job_id) / "players.csv").open(newline="") as handle:
        assert all(r["distance_m"] != "" for r in csv.DictReader(handle))


def test_undo_removes_the_last_point(data_dir):
    job_id = _job_with_frame()
    app = open_page("calibrate.py", job=job_id)
    app.session_state[_points_key(job_id)] = _scene_points()
    app.run()
    next(b for b in app.button if b.label == "Undo last point").click().run()
    assert list(app.session_state[_points_key(job_id)]) == [
        "far_left_corner", "far_right_corner", "near_right_corner"
    ]  # fmt: skip
    assert any("3 of at least 4" in t and "Near left corner" in t for t in texts(app, "info"))


def test_a_mirrored_fit_is_refused_on_the_page(data_dir):
    job_id = _job_with_frame()
    app = open_page("calibrate.py", job=job_id)
    points = _scene_points()
    app.session_state[_points_key(job_id)] = {
        "far_left_corner": points["far_right_corner"],
        "far_right_corner": points["far_left_corner"],
        "near_right_corner": points["near_left_corner"],
        "near_left_corner": points["near_right_corner"],
    }
    app.run()
    assert any("Calibration refused" in t and "mirrors" in t for t in texts(app, "error"))
    assert next(b for b in app.button if b.label.startswith("Save calibration")).disabled


def test_detect_court_lines_proposes_points_to_accept(data_dir):
    view = next(v for v in generated_views(1))
    job_id = _job_with_frame(view.image)
    app = open_page("calibrate.py", job=job_id)
    next(b for b in app.button if b.label == "Detect court lines").click().run()
    assert not app.exception, app.exception
    proposed = app.session_state[_points_key(job_id)]
    truth = view.landmarks_px()
    assert len(proposed) >= 6
    assert max(np.linalg.norm(np.array(p) - truth[n]) for n, p in proposed.items()) < 20
    assert any(t.startswith("Automatic guess: ok") for t in texts(app, "caption"))
    assert not next(b for b in app.button if b.label.startswith("Save calibration")).disabled
