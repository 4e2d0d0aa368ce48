"""A job's court calibration: fit (clicked or automatic), save, copy to other jobs, reanalyse.

Saved in `job.settings["calibration"]` as
`{image_points, court_points_m, landmarks {name: [x, y]}, homography, points, mean_error_m,
status, source, frame_time_s, image_size, saved_at, coverage}`: `image_points` and
`court_points_m` (the landmarks the fit used) keep stage 1 reading it as before, and
`homography` wins in stage 2 (`analysis.homography_of`). Saving reruns stage 2 on a
completed job, so every metre-based output follows; the annotated video's minimap only
follows on a new run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlmodel import Session

from backend.analytics.calibration import LANDMARK_LABELS, CalibrationFit, fit_landmarks
from backend.analytics.calibration import apply as map_points
from backend.analytics.court_drawing import draw_court_lines
from backend.analytics.court_lines import detect_court
from backend.models import Job, JobStatus, utcnow
from backend.pipeline.camera import calibration_coverage
from backend.services.errors import InvalidArgument, JobNotFound, StorageError
from backend.services.files import job_outputs_dir, register_outputs

# The dashboard draws and maps through these (it imports services, not the analytics).
__all__ = [
    "LANDMARK_LABELS",
    "CalibrationFit",
    "auto_fit",
    "calibrate_job",
    "calibration_frame",
    "copy_calibration",
    "draw_court_lines",
    "fit_points",
    "map_points",
    "measure_coverage",
    "save_calibration",
    "saved_calibration",
]

BACKGROUND_FRAME = "background.jpg"
COVERAGE_SAMPLE_INTERVAL_S = 2.0  # one frame compared with the calibration frame this often
COVERAGE_MAX_SAMPLES = 90  # longer clips are sampled more sparsely


def _get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def _video_path(job: Job) -> Path:
    from backend.services.runner import input_path

    return input_path(job)


def video_duration_s(*, session: Session, job_id: str) -> float:
    """Length of the job's input video (0 when unknown)."""
    capture = cv2.VideoCapture(str(_video_path(_get_job(session, job_id))))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        frames = capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
        return float(frames / fps) if fps > 0 else 0.0
    finally:
        capture.release()


def calibration_frame(*, session: Session, job_id: str, time_s: float | None = None) -> np.ndarray:
    """A BGR frame to calibrate on: the video at `time_s`, else the court without players.

    Raises StorageError when neither the video nor the background frame can be read.
    """
    job = _get_job(session, job_id)
    if time_s is None:
        background = job_outputs_dir(job_id) / BACKGROUND_FRAME
        if background.exists():
            image = cv2.imread(str(background))
            if image is not None:
                return image
        time_s = 0.0
    if time_s < 0:
        raise InvalidArgument(f"time_s must be 0 or more, got {time_s}")
    path = _video_path(job)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise StorageError(f"the video of job {job_id} cannot be read ({path.name})")
        capture.set(cv2.CAP_PROP_POS_MSEC, float(time_s) * 1000.0)
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok or frame is None:
        raise InvalidArgument(
            f"no frame at {time_s:.1f} s in the video of job {job_id} (is it past the end?)"
        )
    return frame


def fit_points(points: Any) -> CalibrationFit:
    """Fit clicked landmarks (name -> [x_px, y_px]); a refusal carries its reason."""
    return fit_landmarks(points)


def auto_fit(frame: np.ndarray) -> CalibrationFit:
    """The automatic guess from the court lines of `frame`, with its status."""
    return detect_court(frame).fit


def saved_calibration(*, session: Session, job_id: str) -> dict[str, Any] | None:
    return (_get_job(session, job_id).settings or {}).get("calibration")


def _stored(fit: CalibrationFit, frame_size: tuple[int, int] | None, time_s: float | None) -> dict:
    used = [p for p in fit.points if p.used]
    return {
        "image_points": [list(map(float, p.image_px)) for p in used],
        "court_points_m": [list(map(float, p.court_m)) for p in used],
        "landmarks": fit.landmarks_px,
        "max_error_m": max((p.error_m or 0.0) for p in used) if used else None,
        "frame_time_s": time_s,
        "image_size": list(frame_size) if frame_size else None,
        "saved_at": utcnow().isoformat(),
        **fit.to_dict(),
    }


def save_calibration(
    *,
    session: Session,
    job_id: str,
    fit: CalibrationFit,
    frame_size: tuple[int, int] | None = None,
    time_s: float | None = None,
    reanalyse: bool = True,
) -> dict[str, Any]:
    """Store an `ok` fit with the job; rerun stage 2 when the job is completed.

    Raises InvalidArgument (with the fit's reason) for a fit that is not ok.
    """
    if fit.status != "ok" or fit.homography is None:
        raise InvalidArgument(f"the calibration is {fit.status}, not saved: {fit.reason}")
    job = _get_job(session, job_id)
    calibration = _stored(fit, frame_size, time_s)
    return _apply(session, job, calibration, reanalyse=reanalyse)


def _apply(session: Session, job: Job, calibration: dict, *, reanalyse: bool) -> dict[str, Any]:
    # A new dict, so the JSON column sees the change.
    job.settings = {**(job.settings or {}), "calibration": calibration}
    session.add(job)
    session.commit()
    result: dict[str, Any] = {"job_id": job.id, "saved": True, "reanalysed": False}
    if reanalyse and job.status == JobStatus.completed.value:
        from backend.services.analysis import reanalyse_job

        result["reanalysis"] = reanalyse_job(session=session, job_id=job.id).to_dict()
        result["reanalysed"] = True
        _record_in_summary(session, job, calibration)
    return result


def _record_in_summary(session: Session, job: Job, calibration: dict) -> None:
    """summary.json says which calibration the metres come from (and what it covers)."""
    path = job_outputs_dir(job.id) / "summary.json"
    summary = json.loads(path.read_text())
    keep = ("status", "source", "mean_error_m", "image_points", "court_points_m", "landmarks")
    summary["calibration"] = {k: calibration.get(k) for k in keep} | {
        "saved_at": calibration.get("saved_at"),
        "coverage": calibration.get("coverage"),
        "minimap": "the annotated video's minimap follows on a new run",
    }
    warnings = [w for w in summary.get("warnings") or [] if not w.startswith("Camera moved")]
    coverage = calibration.get("coverage") or {}
    if coverage.get("camera_moved"):
        warnings.append(coverage_warning(coverage))
    summary["warnings"] = warnings
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, default=str))
    tmp.replace(path)
    job.summary = summary
    session.add(job)
    session.commit()
    register_outputs(session=session, job_id=job.id)


def coverage_warning(coverage: dict) -> str:
    ranges = ", ".join(f"{a:.0f}-{b:.0f} s" for a, b in coverage.get("covered_s") or [])
    return (
        "Camera moved (pan or zoom): one calibration does not hold for the whole clip; it "
        f"covers {ranges or 'no sampled stretch'}."
    )


def copy_calibration(
    *, session: Session, from_job_id: str, to_job_ids: list[str], reanalyse: bool = True
) -> list[dict[str, Any]]:
    """Give other jobs (same camera position) this job's saved calibration."""
    source = saved_calibration(session=session, job_id=from_job_id)
    if not source or source.get("homography") is None:
        raise InvalidArgument(f"job {from_job_id} has no saved calibration to copy")
    results = []
    for job_id in to_job_ids:
        if job_id == from_job_id:
            continue
        job = _get_job(session, job_id)
        copied = {**source, "copied_from": from_job_id, "saved_at": utcnow().isoformat()}
        copied.pop("coverage", None)  # the other clip's camera motion is its own
        results.append(_apply(session, job, copied, reanalyse=reanalyse))
    return results


def _sampled_frames(path: Path, duration_s: float) -> Iterator[tuple[float, np.ndarray]]:
    step = max(COVERAGE_SAMPLE_INTERVAL_S, duration_s / COVERAGE_MAX_SAMPLES)
    capture = cv2.VideoCapture(str(path))
    try:
        t = 0.0
        while t < duration_s:
            capture.set(cv2.CAP_PROP_POS_MSEC, t * 1000.0)
            ok, frame = capture.read()
            if not ok:
                break
            yield t, frame
            t += step
    finally:
        capture.release()


def measure_coverage(*, session: Session, job_id: str) -> dict[str, Any]:
    """Compare sampled frames with the calibration frame; store and return the time ranges.

    The camera-motion measure is stage 1's (backend.pipeline.camera): a pan is seen, a zoom
    without a pan is not.
    """
    job = _get_job(session, job_id)
    calibration = (job.settings or {}).get("calibration")
    if not calibration or calibration.get("homography") is None:
        raise InvalidArgument(f"job {job_id} has no saved calibration")
    reference = calibration_frame(
        session=session, job_id=job_id, time_s=calibration.get("frame_time_s")
    )
    duration = video_duration_s(session=session, job_id=job_id)
    coverage = calibration_coverage(
        reference, _sampled_frames(_video_path(job), duration), duration_s=duration
    ).to_dict()
    job.settings = {**job.settings, "calibration": {**calibration, "coverage": coverage}}
    session.add(job)
    session.commit()
    return coverage


def calibrate_job(
    *,
    session: Session,
    job_id: str,
    points: Any = None,
    auto: bool = False,
    time_s: float | None = None,
    coverage: bool = True,
) -> dict[str, Any]:
    """Fit (clicked `points`, or `auto`), save when ok, measure coverage, reanalyse.

    Returns the fit's `to_dict()` (status, reason, homography, points, mean_error_m, source)
    plus `saved`, and when saved `reanalysed`, `reanalysis` and `coverage`.
    """
    if (points is None) == (not auto):
        raise InvalidArgument("give either the clicked points or auto, not both or neither")
    _get_job(session, job_id)
    frame_size = None
    if auto:
        frame = calibration_frame(session=session, job_id=job_id, time_s=time_s)
        frame_size = (frame.shape[1], frame.shape[0])
        fit = auto_fit(frame)
    else:
        fit = fit_points(points)
    result: dict[str, Any] = fit.to_dict() | {"job_id": job_id, "saved": False}
    if fit.status != "ok":
        return result
    if coverage:
        # Coverage is measured before the reanalysis, so summary.json can say it.
        save_calibration(
            session=session, job_id=job_id, fit=fit, frame_size=frame_size, time_s=time_s,
            reanalyse=False,
        )  # fmt: skip
        try:
            result["coverage"] = measure_coverage(session=session, job_id=job_id)
        except (StorageError, InvalidArgument) as exc:
            result["coverage"] = None
            result["coverage_error"] = str(exc)
        job = _get_job(session, job_id)
        result |= _apply(session, job, job.settings["calibration"], reanalyse=True)
    else:
        result |= save_calibration(
            session=session, job_id=job_id, fit=fit, frame_size=frame_size, time_s=time_s
        )
    return result
