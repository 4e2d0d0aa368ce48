"""Running the real dashboard entry point under Streamlit's AppTest.

The `data_dir` fixture (tests/conftest.py) gives each test its own data directory.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from backend.db import session_scope
from backend.services import jobs as job_service

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = PROJECT_ROOT / "streamlit_app.py"
APP_TIMEOUT_S = 30


def open_page(page: str, **query: str) -> AppTest:
    """Run the app, switch to `page` (a file in dashboard/pages) and return the test app."""
    app = AppTest.from_file(str(ENTRY_POINT), default_timeout=APP_TIMEOUT_S)
    app.run()
    app.switch_page(f"dashboard/pages/{page}")
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    return app


def texts(app: AppTest, kind: str) -> list[str]:
    """The text each element shows: Markdown backslash escapes (plain_text) removed."""
    return [shown(element.value) for element in getattr(app, kind)]


def shown(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def job_status(job_id: str) -> str:
    with session_scope() as session:
        return job_service.get_job(session=session, job_id=job_id).status


def all_jobs() -> list:
    with session_scope() as session:
        return job_service.list_jobs(session=session, page_size=100)[0]
