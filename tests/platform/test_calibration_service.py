"""Calibrating a finished job after the run: clicked points or the automatic guess, checked,
saved with the job, copied to other jobs; stage 2 reruns so the metres appear; the CLI and
the REST API say the same; a moving camera is reported with the time ranges covered."""

from __future__ import annotations

import csv
import io
import json

import cv2
import numpy as np
import pytest

from backend.analytics.court import DEFAULT_COURT
from backend.cli import main as cli_main
from backend.models import JobStatus
from backend.services import calibration as service
from backend.services.errors import InvalidArgument
from backend.services.files import job_dir, job_outputs_dir, register_outputs
from tests.analytics.scenes import Scene, court_to_px
from tests.court_views import generated_views
from tests.platform.factories import make_job

CORNERS = ("far_left_corner", "far_right_corner", "near_right_corner", "near_left_corner")
LANDMARKS = DEFAULT_COURT.landmarks_m()


def _scene_points(names=CORNERS) -> dict[str, list[float]]:
    """Landmark pixels in the scenes' top-down camera (tests/analytics/scenes.py)."""
    return {n: court_to_px([LANDMARKS[n]])[0].tolist() for n in names}


def _scene() -> Scene:
    scene = Scene(n_frames=120)
    walk = np.linspace((8.0, 7.0), (12.0, 7.0), scene.n_frames)  # 4 m along the court
    scene.add(1, "A", walk).add(2, "A", (14.0, 6.0)).add(3, "B", (20.0, 9.0))
    return scene.hold(0.2, 1.6, 1).hold(2.2, 3.6, 2)


def _uncalibrated_job(session):
    job = make_job(session, status=JobStatus.completed, settings={})
    _scene().write(job_outputs_dir(job.id), court_columns=False)
    register_outputs(session=session, job_id=job.id)
    return job


@pytest.fixture
def finished_job(session):
    return _uncalibrated_job(session)


def _distances(job_id: str) -> dict[int, str]:
    with (job_outputs_dir(job_id) / "players.csv").open(newline="") as handle:
        return {int(r["track_id"]): r["distance_m"] for r in csv.DictReader(handle)}


def test_saving_clicked_points_reruns_stage_two_and_the_metres_appear(session, finished_job):
    from backend.services.analysis import reanalyse_job

    reanalyse_job(session=session, job_id=finished_job.id)
    assert set(_distances(finished_job.id).values()) == {""}  # uncalibrated: no metres
    result = service.calibrate_job(
        session=session, job_id=finished_job.id, points=_scene_points(), coverage=False
    )
    assert (result["status"], result["saved"], result["reanalysed"]) == ("ok", True, True)
    session.refresh(finished_job)
    saved = finished_job.settings["calibration"]
    assert saved["landmarks"]["near_right_corner"] == court_to_px([(30.5, 15.25)])[0].tolist()
    assert saved["court_points_m"][2] == [30.5, 15.25] and len(saved["image_points"]) == 4
    assert np.allclose(np.array(saved["homography"]) @ [620, 325, 1], [30.0, 15.25, 1], atol=1e-6)
    distances = _distances(finished_job.id)
    assert float(distances[1]) == pytest.approx(4.0, abs=0.3)  # walked 8 m -> 12 m
    summary = json.loads((job_outputs_dir(finished_job.id) / "summary.json").read_text())
    assert summary["analytics"]["calibrated"] is True
    assert summary["calibration"]["status"] == "ok" and summary["calibration"]["source"] == "manual"


def test_refused_points_are_not_saved_and_say_why(session, finished_job):
    points = _scene_points(CORNERS[:3])
    result = service.calibrate_job(session=session, job_id=finished_job.id, points=points)
    assert result["status"] == "refused" and result["saved"] is False
    assert "at least 4" in result["reason"]
    session.refresh(finished_job)
    assert "calibration" not in finished_job.settings
    with pytest.raises(InvalidArgument, match="either the clicked points or auto"):
        service.calibrate_job(session=session, job_id=finished_job.id, points=points, auto=True)


def test_copy_to_other_jobs_of_the_same_camera(session, finished_job):
    service.calibrate_job(
        session=session, job_id=finished_job.id, points=_scene_points(), coverage=False
    )
    other = _uncalibrated_job(session)
    results = service.copy_calibration(
        session=session, from_job_id=finished_job.id, to_job_ids=[other.id]
    )
    assert [r["reanalysed"] for r in results] == [True]
    session.refresh(other)
    assert other.settings["calibration"]["copied_from"] == finished_job.id
    assert _distances(other.id)[1] != ""
    with pytest.raises(InvalidArgument, match="no saved calibration"):
        service.copy_calibration(
            session=session, from_job_id=_uncalibrated_job(session).id, to_job_ids=[other.id]
        )


def test_cli_calibrate_json_contract_and_exit_codes(session, finished_job, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_scene_points((*CORNERS, "centre"))))
    bad.write_text(json.dumps({**_scene_points(CORNERS), "left_circle_far": [1, 2, 3]}))
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(
        ["calibrate", finished_job.id, "--points", str(good), "--no-coverage", "--json"],
        out=out, err=err,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    document = json.loads(out.getvalue())
    assert {"status", "reason", "homography", "points", "mean_error_m"} <= set(document)
    assert document["status"] == "ok" and document["saved"] is True
    assert np.array(document["homography"]).shape == (3, 3)
    centre = next(p for p in document["points"] if p["name"] == "centre")
    assert centre["court_m"] == [15.25, 7.625] and centre["error_m"] < 0.01
    out = io.StringIO()
    code = cli_main(["calibrate", finished_job.id, "--points", str(bad), "--json"], out=out)
    document = json.loads(out.getvalue())
    assert code == 1 and document["status"] == "refused" and document["saved"] is False
    assert "left_circle_far: expected [x_px, y_px]" in document["reason"]
    out = io.StringIO()
    assert (
        cli_main(["calibrate", finished_job.id, "--points", str(good), "--no-coverage"], out=out)
        == 0
    )
    assert out.getvalue().startswith("ok: 5 landmarks") and "saved and reanalysed" in out.getvalue()


@pytest.fixture
def view_job(session):
    """A finished job whose frame is a generated camera view the automatic guess solves."""
    view = next(v for v in generated_views(3) if v.seed == 0)
    job = make_job(session, status=JobStatus.completed, settings={})
    _scene().write(job_outputs_dir(job.id), court_columns=False)
    cv2.imwrite(str(job_outputs_dir(job.id) / "background.jpg"), view.image)
    register_outputs(session=session, job_id=job.id)
    return job, view


def test_cli_auto_detects_the_court_on_the_background_frame(session, view_job):
    job, view = view_job
    out = io.StringIO()
    code = cli_main(["calibrate", job.id, "--auto", "--no-coverage", "--json"], out=out)
    document = json.loads(out.getvalue())
    assert code == 0 and document["status"] == "ok" and document["source"] == "auto"
    truth = view.landmarks_px()
    for point in document["points"]:
        assert np.linalg.norm(np.array(point["image_px"]) - truth[point["name"]]) < 20


def _write_panning_clip(path, view, still_s=4.0, panned_s=4.0, fps=5):
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = view.image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    panned = np.roll(view.image, 60, axis=1)
    for i in range(int((still_s + panned_s) * fps)):
        writer.write(view.image if i < still_s * fps else panned)
    writer.release()


def test_a_panning_camera_is_reported_with_the_time_ranges_covered(session, view_job):
    job, view = view_job
    job.input_name = "clip.avi"
    session.add(job)
    session.commit()
    _write_panning_clip(job_dir(job.id) / "input" / "clip.avi", view)
    result = service.calibrate_job(session=session, job_id=job.id, auto=True)
    coverage = result["coverage"]
    assert coverage["camera_moved"] is True
    # Sampled every 2 s: 0 and 2 s still, 4 and 6 s panned -> the edge is put halfway.
    assert coverage["covered_s"] == [[0.0, 3.0]] and coverage["moved_s"] == [[3.0, 8.0]]
    summary = json.loads((job_outputs_dir(job.id) / "summary.json").read_text())
    assert summary["calibration"]["coverage"]["camera_moved"] is True
    assert any(w.startswith("Camera moved") and "0-3 s" in w for w in summary["warnings"])
