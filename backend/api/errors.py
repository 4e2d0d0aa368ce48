"""Service errors and framework errors -> the envelope with the right status code."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from backend.api.envelope import fail
from backend.services.errors import (
    DatabaseBusy,
    InvalidArgument,
    JobNotFound,
    JobStateError,
    NotAVideo,
    OutputNotFound,
    ServiceError,
    StorageError,
    UploadRejected,
    UploadTooLarge,
)

# Most specific first: the first class an error is an instance of decides.
SERVICE_ERROR_STATUS: tuple[tuple[type[ServiceError], int, str], ...] = (
    (JobNotFound, 404, "job_not_found"),
    (OutputNotFound, 404, "file_not_found"),
    (JobStateError, 409, "job_state_conflict"),
    (UploadTooLarge, 413, "payload_too_large"),
    (NotAVideo, 415, "unsupported_media_type"),
    (UploadRejected, 422, "upload_rejected"),
    (InvalidArgument, 422, "invalid_argument"),
    (StorageError, 409, "storage_conflict"),
    (DatabaseBusy, 503, "database_busy"),
    (ServiceError, 422, "request_refused"),
)
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    503: "database_busy",
}


class ApiError(Exception):
    """A refusal decided by the HTTP layer itself (missing key, wrong content type)."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message, self.headers = (
            status_code,
            code,
            message,
            headers,
        )


def service_error_response(exc: ServiceError) -> Response:
    for cls, status_code, code in SERVICE_ERROR_STATUS:
        if isinstance(exc, cls):
            details = {"job_id": exc.job_id} if isinstance(exc, JobNotFound) else None
            return fail(status_code, code, exc.message, details)
    raise AssertionError("ServiceError is the last entry")  # pragma: no cover


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> Response:
        return service_error_response(exc)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> Response:
        return fail(exc.status_code, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"location": list(e.get("loc", ())), "message": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(map(str, p['location']))}: {p['message']}" for p in problems)
        return fail(422, "validation_error", f"invalid request parameters: {where}", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return fail(exc.status_code, code, str(exc.detail), headers=exc.headers)
