"""huey_worker.py arguments and how it splits the cores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from huey_worker import torch_threads_per_worker

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("workers", "cores", "threads"),
    [(1, 2, 2), (2, 2, 1), (3, 2, 1), (3, 8, 2), (4, 16, 4)],
)
def test_cores_are_split_between_workers(workers, cores, threads):
    assert torch_threads_per_worker(workers, cores) == threads


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--workers", "0"], {}, "--workers must be at least 1, got 0"),
        ([], {"NETBALL_WORKERS": "many"}, "NETBALL_WORKERS must be a whole number"),
    ],
)
def test_bad_worker_counts_are_refused(data_dir, args, env, message):
    import os

    done = subprocess.run(
        [sys.executable, "huey_worker.py", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and message in done.stderr
