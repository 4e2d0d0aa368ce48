"""Dashboard fixtures: a fresh data directory per test and AppTest on the real entry point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from backend.config import get_settings
from backend.db import init_db, reset_engines

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINT = PROJECT_ROOT / "streamlit_app.py"
APP_TIMEOUT_S = 30


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "data"
    monkeypatch.setenv("NETBALL_DATA_DIR", str(folder))
    for name in (
        "DATABASE_URL",
        "NETBALL_QUEUE_PATH",
        "NETBALL_INBOX_DIR",
        "NETBALL_ADMIN_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    reset_engines()
    get_settings().ensure_dirs()
    init_db()
    yield folder
    reset_engines()
    get_settings.cache_clear()


def open_page(page: str, **query: str) -> AppTest:
    """Run the app, switch to `page` (a path under dashboard/pages) and return the test app."""
    app = AppTest.from_file(str(ENTRY_POINT), default_timeout=APP_TIMEOUT_S)
    app.run()
    app.switch_page(f"dashboard/pages/{page}")
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    return app
