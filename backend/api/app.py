"""The FastAPI application: `create_app()` wires routes, errors, CORS and the request context."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backend.api import (
    routes_analysis,
    routes_calibration,
    routes_files,
    routes_jobs,
    routes_system,
)
from backend.api.envelope import REQUEST_ID_HEADER
from backend.api.errors import install_error_handlers
from backend.api.middleware import RequestContextMiddleware
from backend.config import get_settings
from backend.db import init_db

DESCRIPTION = """
Upload match videos, follow their analysis and fetch the results of **Courtside**.

Every response is one envelope: `{"success", "data", "error", "meta"}`; errors carry a stable
`code` and a `message` for people. When `NETBALL_API_KEY` is set, writes need it in the
`X-API-Key` header (reads too with `NETBALL_API_KEY_READS=1`). Downloads are streamed and honour
`Range`.
"""


def create_app() -> FastAPI:
    settings = get_settings()
    init_db()
    app = FastAPI(
        title="Courtside API",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url="/redoc",
    )
    install_error_handlers(app)
    for module in (routes_jobs, routes_analysis, routes_calibration, routes_files, routes_system):
        app.include_router(module.router)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Range", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Content-Range", "Content-Disposition"],
        )
    # Added last, so it is outermost: errors of CORS and every route get the request id.
    app.add_middleware(RequestContextMiddleware)
    return app
