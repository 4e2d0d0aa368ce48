"""A job's files: list, metadata, and streamed downloads that honour HTTP Range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response

from backend.api import schemas
from backend.api.envelope import ok
from backend.api.errors import ApiError
from backend.api.payloads import file_payload
from backend.api.security import require_read_key
from backend.db import session_scope
from backend.services import files as file_service

router = APIRouter(tags=["files"], dependencies=[Depends(require_read_key)])
JobId = Annotated[str, Path(description="The job's id.", examples=["3f2a9c81d0e4"])]
FileType = Annotated[
    str,
    Path(
        description="An alias (video, tracks, ball, events, players, teams, possession, summary, "
        "timeline, log, input, archive) or an output's file name, e.g. heatmap_A.png.",
        examples=["video"],
    ),
]


@router.get(
    "/jobs/{job_id}/files",
    summary="Every file of the job: input, outputs, archive",
    response_model=schemas.Envelope[list[schemas.JobFile]],
)
def list_files(job_id: JobId) -> Response:
    with session_scope() as session:
        rows = file_service.list_job_files(session=session, job_id=job_id)
        return ok([file_payload(row) for row in rows])


@router.get(
    "/jobs/{job_id}/files/{file_type}",
    summary="Metadata of one file (archive: built on demand)",
    response_model=schemas.Envelope[schemas.JobFile],
)
def file_metadata(job_id: JobId, file_type: FileType) -> Response:
    with session_scope() as session:
        row = file_service.resolve_job_file(session=session, job_id=job_id, file_type=file_type)
        return ok(file_payload(row))


def _check_range(request: Request, size: int) -> None:
    """Refuse a bad Range with the envelope; FileResponse would answer in plain text."""
    header = request.headers.get("range")
    if header is None:
        return
    try:
        # Starlette's own parser (pinned version), so the check and the response agree.
        FileResponse._parse_range_header(header, size)
    except MalformedRangeHeader as exc:
        raise ApiError(400, "bad_request", f"malformed Range header: {exc.content}") from None
    except RangeNotSatisfiable:
        raise ApiError(
            416,
            "range_not_satisfiable",
            f"the Range {header!r} lies outside the file ({size} bytes)",
            {"Content-Range": f"bytes */{size}"},
        ) from None


@router.head("/jobs/{job_id}/download/{file_type}", include_in_schema=False)
@router.get(
    "/jobs/{job_id}/download/{file_type}",
    summary="Download one file, streamed from disk; honours Range (206) for seeking",
    response_class=FileResponse,
    responses={
        200: {"description": "The file", "content": {"application/octet-stream": {}}},
        206: {"description": "The requested byte range"},
        416: {"description": "Range outside the file"},
    },
)
def download(job_id: JobId, file_type: FileType, request: Request) -> Response:
    with session_scope() as session:
        row = file_service.resolve_job_file(session=session, job_id=job_id, file_type=file_type)
        path = file_service.job_file_path(row)
        name = f"courtside-{job_id}.zip" if row.role == "archive" else row.name
        mime = row.mime
    _check_range(request, path.stat().st_size)
    return FileResponse(path, media_type=mime, filename=name)
