"""Request id, one log line per request, and a 500 envelope instead of a traceback.

Pure ASGI (not BaseHTTPMiddleware) so streamed uploads and downloads pass through untouched.
The log line holds method, path, status, duration and request id; never headers, so an
X-API-Key cannot end up in a log.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.envelope import REQUEST_ID_HEADER, fail, request_id_var

logger = logging.getLogger("courtside.api")
# A caller's own id is kept when it is short and plain (it ends up in our logs).
_CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        )
        request_id = given if _CALLER_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unexpected error, request_id=%s", request_id)
            if not status:
                response = fail(
                    500,
                    "internal_error",
                    "the server failed unexpectedly; quote the request id when reporting it",
                    {"request_id": request_id},
                )
                await response(scope, receive, send_with_id)
        finally:
            logger.info(
                "%s %s %s %.1f ms request_id=%s",
                scope["method"],
                scope["path"],
                status[0] if status else "-",
                (time.perf_counter() - started) * 1000,
                request_id,
            )
            request_id_var.reset(token)
