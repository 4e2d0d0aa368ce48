"""Jobs: upload and queue, list, status, results, cancel, retry, delete."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from backend.api import schemas
from backend.api.envelope import ok, pagination
from backend.api.payloads import job_payload, status_payload
from backend.api.security import require_read_key, require_write_key
from backend.api.uploads import (
    MATCH_FIELD_PREFIX,
    MATCH_FIELDS,
    MULTIPART_OVERHEAD_BYTES,
    VIDEO_FIELD,
    VideoPartStream,
    analysis_settings,
    multipart_boundary,
)
from backend.config import get_settings
from backend.db import session_scope
from backend.services import jobs as job_service
from backend.services import results as results_service
from backend.services.errors import UploadTooLarge
from backend.services.jobs import JOB_STATUSES, PAGE_SIZE_MAX

router = APIRouter(tags=["jobs"])
JobId = Annotated[str, Path(description="The job's id.", examples=["3f2a9c81d0e4"])]
EVENTS_PAGE_SIZE_DEFAULT = 100
# The services' statuses as an enum, so /docs lists them and a wrong one is a 422.
StatusFilter = StrEnum("StatusFilter", {status: status for status in JOB_STATUSES})

_ANALYZE_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [VIDEO_FIELD],
                    "properties": {
                        "priority": {"type": "string", "enum": ["low", "normal", "high"]},
                        "stride": {"type": "integer", "description": "Detect every Nth frame."},
                        "imgsz": {
                            "type": "integer",
                            "description": "Detector input, px, kept as given; left out, it "
                            "starts at 480 and grows for small, distant players.",
                        },
                        "team_a": {"type": "string", "example": "Lightning"},
                        "team_b": {"type": "string", "example": "Swifts"},
                        **{MATCH_FIELD_PREFIX + key: {"type": "string"} for key in MATCH_FIELDS},
                        "calibration": {
                            "type": "string",
                            "description": "JSON: {image_points: [[x,y]x4], court_points_m: "
                            "[[x,y]x4]}",
                        },
                        VIDEO_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The video; send it after the other fields.",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/analyze",
    status_code=202,
    summary="Upload a video and queue its analysis",
    response_model=schemas.Envelope[schemas.Job],
    dependencies=[Depends(require_write_key)],
    openapi_extra=_ANALYZE_FORM,
    responses={
        413: {"description": "Over NETBALL_MAX_UPLOAD_MB"},
        415: {"description": "Not a video"},
    },
)
async def analyze(request: Request) -> Response:
    """Streamed to the job's folder in chunks, checked like a dashboard upload, then queued."""
    limit = get_settings().max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(
            f"the upload is {int(declared) / 1024**2:.0f} MB, larger than the upload limit of "
            f"{get_settings().max_upload_mb} MB (NETBALL_MAX_UPLOAD_MB)"
        )
    upload = VideoPartStream(
        multipart_boundary(request.headers.get("content-type")),
        request.stream().__aiter__(),
        max_body_bytes=limit,
    )
    priority, settings = analysis_settings(await upload.read_fields())

    def submit() -> dict:
        with session_scope() as session:
            job = job_service.submit_upload(
                session=session,
                stream=upload,  # type: ignore[arg-type]
                original_name=upload.filename or "",
                priority=priority,
                settings=settings,
            )
            return job_payload(job)

    return ok(await anyio.to_thread.run_sync(submit), status_code=202)


@router.get(
    "/jobs",
    summary="List jobs, newest first",
    response_model=schemas.Envelope[list[schemas.Job]],
    dependencies=[Depends(require_read_key)],
)
def list_jobs(
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = 20,
    status: StatusFilter | None = None,
    search: Annotated[str | None, Query(description="Part of a file name or job id.")] = None,
) -> Response:
    with session_scope() as session:
        rows, total = job_service.list_jobs(
            session=session,
            status=status.value if status else None,
            search=search,
            page=page,
            page_size=page_size,
            include_summary=False,
        )
        data = [job_payload(job) for job in rows]
    return ok(data, page=pagination(page=page, page_size=page_size, total=total))


@router.get(
    "/jobs/{job_id}/status",
    summary="Status, progress, frames, fps, ETA and error of one job",
    response_model=schemas.Envelope[schemas.JobStatus],
    dependencies=[Depends(require_read_key)],
)
def job_status(job_id: JobId) -> Response:
    with session_scope() as session:
        return ok(status_payload(job_service.get_job(session=session, job_id=job_id)))


@router.get(
    "/jobs/{job_id}/result",
    summary="Summary, player and team statistics and the events of a completed job",
    response_model=schemas.Envelope[schemas.JobResult],
    dependencies=[Depends(require_read_key)],
)
def job_result(
    job_id: JobId,
    page: Annotated[int, Query(ge=1, description="Page of events.")] = 1,
    page_size: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = EVENTS_PAGE_SIZE_DEFAULT,
    event_type: Annotated[str | None, Query(description="Only events of this type.")] = None,
) -> Response:
    with session_scope() as session:
        result = results_service.read_result(
            session=session,
            job_id=job_id,
            events_page=page,
            events_page_size=page_size,
            event_type=event_type,
        )
    events_page = pagination(page=page, page_size=page_size, total=result["events_total"])
    return ok(result, page=events_page)


def _transition(action: str, job_id: str) -> Response:
    services = {"cancel": job_service.cancel_job, "retry": job_service.retry_job}
    with session_scope() as session:
        return ok(job_payload(services[action](session=session, job_id=job_id)))


@router.post(
    "/jobs/{job_id}/cancel",
    summary="Cancel a queued or running job (a running one stops within seconds)",
    response_model=schemas.Envelope[schemas.Job],
    dependencies=[Depends(require_write_key)],
)
def cancel_job(job_id: JobId) -> Response:
    return _transition("cancel", job_id)


@router.post(
    "/jobs/{job_id}/retry",
    summary="Queue a failed or cancelled job again",
    response_model=schemas.Envelope[schemas.Job],
    dependencies=[Depends(require_write_key)],
)
def retry_job(job_id: JobId) -> Response:
    return _transition("retry", job_id)


@router.delete(
    "/jobs/{job_id}",
    summary="Delete a job that is not running, with all its files",
    response_model=schemas.Envelope[schemas.Deleted],
    dependencies=[Depends(require_write_key)],
)
def delete_job(job_id: JobId) -> Response:
    with session_scope() as session:
        job_service.delete_job(session=session, job_id=job_id)
    return ok({"job_id": job_id, "deleted": True})
