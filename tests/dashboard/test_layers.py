"""The dashboard is UI only: it reaches the data through the services, never the database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.dashboard.apptest import PROJECT_ROOT

DASHBOARD_FILES = [
    *sorted((PROJECT_ROOT / "dashboard").rglob("*.py")),
    PROJECT_ROOT / "streamlit_app.py",
]
ALLOWED_BACKEND_PREFIXES = (
    "backend.config",
    "backend.db",
    "backend.services",
    # Netball facts (court sizes, positions): plain values, no state, one place for them.
    "backend.analytics.court",
    # Type hints only (under TYPE_CHECKING).
    "backend.models",
)
FORBIDDEN_TOP_LEVEL = ("sqlmodel", "sqlalchemy", "huey", "jobs", "torch", "ultralytics")
# The entry point wires the queue implementation into the services; nothing else may.
ENTRY_POINT_WIRING = {"streamlit_app.py": {"jobs.queue"}}


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_dashboard_imports_only_services_config_and_db(path):
    for module in imported_modules(path):
        if module in ENTRY_POINT_WIRING.get(path.name, set()):
            continue
        top = module.split(".")[0]
        assert top not in FORBIDDEN_TOP_LEVEL, f"{path.name} imports {module}"
        if top == "backend":
            assert module.startswith(ALLOWED_BACKEND_PREFIXES), f"{path.name} imports {module}"
