"""X-API-Key checks as FastAPI dependencies; the rule itself lives in backend.services.auth."""

from __future__ import annotations

import anyio
from fastapi import Security
from fastapi.security import APIKeyHeader

from backend.api.errors import ApiError
from backend.services import auth

API_KEY_HEADER = "X-API-Key"
_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Needed for writes when NETBALL_API_KEY is set, and for reads too when "
    "NETBALL_API_KEY_READS=1.",
)


async def _check(given: str | None, *, write: bool) -> None:
    if not auth.api_key_required(write=write):
        return
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            f"this endpoint needs the API key in the {API_KEY_HEADER} header",
            {"WWW-Authenticate": "ApiKey"},
        )
    # In a thread: a wrong key pauses (auth.FAILED_SECRET_DELAY_S) without stalling other requests.
    if not await anyio.to_thread.run_sync(auth.api_key_ok, given):
        raise ApiError(
            401,
            "unauthorized",
            f"the {API_KEY_HEADER} is not correct",
            {"WWW-Authenticate": "ApiKey"},
        )


async def require_write_key(key: str | None = Security(_header)) -> None:
    await _check(key, write=True)


async def require_read_key(key: str | None = Security(_header)) -> None:
    await _check(key, write=False)
