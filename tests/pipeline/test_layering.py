"""Stage 1 is pure: it reads nothing of the app (config, database, queue, web, UI)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PIPELINE_FILES = sorted((PROJECT_ROOT / "backend" / "pipeline").glob("*.py"))
FORBIDDEN = (
    "backend.config", "backend.db", "backend.models", "backend.services", "backend.api",
    "backend.workflow", "jobs", "dashboard", "streamlit", "sqlmodel", "sqlalchemy", "huey",
    "fastapi",
)  # fmt: skip


def imported_modules(source: str) -> list[str]:
    """Every module an import statement names, anywhere in the file (function bodies too:
    a lazy import is still a dependency)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from backend import config` imports backend.config.
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def forbidden(names: list[str]) -> list[str]:
    return sorted({p for n in names for p in FORBIDDEN if n == p or n.startswith(p + ".")})


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from backend.config import get_settings", ["backend.config"]),
        ("def f():\n    from backend import config", ["backend.config"]),
        ("import backend.config as c", ["backend.config"]),
        ("from backend.pipeline.model import resolve_model_path", []),
        ("import jobs.tasks, huey", ["huey", "jobs"]),
    ],
)
def test_the_check_catches_every_spelling_of_an_import(source, caught):
    assert forbidden(imported_modules(source)) == caught


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=lambda p: p.name)
def test_pipeline_modules_import_nothing_of_the_app(path):
    assert forbidden(imported_modules(path.read_text())) == []


def test_a_detector_loads_without_the_app_config_being_imported():
    # A fresh interpreter: in this one the conftest has imported backend.config already.
    script = (
        "import sys\n"
        "from backend.pipeline.detection import Detector\n"
        "from backend.pipeline.settings import PipelineSettings\n"
        "d = Detector(PipelineSettings(imgsz=224, ball_zoom_px=0))\n"
        "assert d.placement.backend == 'openvino', d.placement\n"
        "print(sorted(m for m in sys.modules if m.startswith(('backend.', 'jobs'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = done.stdout.strip().splitlines()[-1]
    assert "backend.pipeline.detection" in loaded
    assert forbidden(ast.literal_eval(loaded)) == []
