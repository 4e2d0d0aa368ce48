"""Court calibration of a job: read it, fit and save it (clicked or automatic), copy it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from backend.analytics.calibration import LANDMARK_LABELS
from backend.analytics.court import DEFAULT_COURT
from backend.api.envelope import ok
from backend.api.security import require_read_key, require_write_key
from backend.db import session_scope
from backend.services import calibration as calibration_service
from backend.services.jobs import get_job

router = APIRouter(tags=["calibration"])
JobId = Annotated[str, Path(description="The job's id.", examples=["3f2a9c81d0e4"])]


_CORNERS_EXAMPLE = {
    "far_left_corner": [40, 50],
    "far_right_corner": [280, 50],
    "near_right_corner": [316, 170],
    "near_left_corner": [4, 170],
}


class CalibrationRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"points": _CORNERS_EXAMPLE}, {"auto": True, "time_s": 12.5}]
        }
    )
    points: dict[str, list[float]] | None = Field(
        default=None,
        description="Landmark name -> [x_px, y_px] on the video frame (names: GET calibration).",
        examples=[_CORNERS_EXAMPLE],
    )
    auto: bool = Field(default=False, description="Detect the court lines instead of points.")
    time_s: float | None = Field(
        default=None, ge=0, description="Frame time for auto (default: the court without players)."
    )
    coverage: bool = Field(default=True, description="Check the clip for camera motion.")


class CopyRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to": ["3f2a9c81d0e4"]}]})
    to: list[str] = Field(min_length=1, description="Jobs filmed from the same camera position.")


@router.get(
    "/jobs/{job_id}/calibration",
    summary="The job's saved court calibration (null when none) and the landmark names",
    dependencies=[Depends(require_read_key)],
)
def read_calibration(job_id: JobId) -> Response:
    with session_scope() as session:
        get_job(session=session, job_id=job_id)
        saved = calibration_service.saved_calibration(session=session, job_id=job_id)
    landmarks = {
        name: {"court_m": list(xy), "label": LANDMARK_LABELS[name]}
        for name, xy in DEFAULT_COURT.landmarks_m().items()
    }
    return ok({"job_id": job_id, "calibration": saved, "landmarks": landmarks})


@router.post(
    "/jobs/{job_id}/calibration",
    summary="Fit and check a calibration; an ok one is saved and the analytics rerun",
    description="`status` is ok, unsure or refused (with `reason`); only ok is saved. A "
    "refused fit is an answer, not an error: HTTP 200 with `saved: false`.",
    dependencies=[Depends(require_write_key)],
)
def post_calibration(job_id: JobId, body: CalibrationRequest) -> Response:
    with session_scope() as session:
        result: dict[str, Any] = calibration_service.calibrate_job(
            session=session,
            job_id=job_id,
            points=body.points,
            auto=body.auto,
            time_s=body.time_s,
            coverage=body.coverage,
        )
    return ok(result)


@router.post(
    "/jobs/{job_id}/calibration/copy",
    summary="Give other jobs (same camera position) this job's saved calibration",
    dependencies=[Depends(require_write_key)],
)
def copy_calibration(job_id: JobId, body: CopyRequest) -> Response:
    with session_scope() as session:
        results = calibration_service.copy_calibration(
            session=session, from_job_id=job_id, to_job_ids=body.to
        )
    return ok({"from": job_id, "copied": results})
