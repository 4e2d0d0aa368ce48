"""Passwords and API keys never leave the process that checks them: not in worker or job
logs, summary.json, CLI output, API responses or error messages."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from backend.config import get_settings
from backend.services.files import job_outputs_dir
from tests.platform.test_worker_e2e import FAST, PROJECT_ROOT, submit, wait_status

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "adm1n-Pa55-7f3e"
API_KEY = "k3y-9d2c-41aa"
SECRETS = (ADMIN_PASSWORD, API_KEY)


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret appears in {where}"


def test_secrets_appear_in_no_log_output_or_message(
    start_worker, clips, monkeypatch, caplog, tmp_path
):
    monkeypatch.setenv("NETBALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.setenv("NETBALL_API_KEY", API_KEY)
    get_settings.cache_clear()
    worker = start_worker(1)
    job = submit(clips["short"], settings=FAST)
    done = wait_status(job.id, {"completed", "failed"}, worker)
    assert done.status == "completed", done.error
    outputs = job_outputs_dir(job.id)
    for name in ("summary.json", "run.log"):
        assert_no_secret((outputs / name).read_text(), name)
    assert_no_secret(worker.log_path.read_text(errors="replace"), "the worker log")
    for args in (["health", "--json"], ["status", job.id, "--json"], ["storage", "stats"]):
        cli = subprocess.run([sys.executable, "-m", "backend", *args], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert_no_secret(cli.stdout + cli.stderr, f"`{' '.join(args)}`")

    from backend.api.app import create_app

    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        refused = client.post(f"/jobs/{job.id}/retry", headers={"X-API-Key": "wrong"})
        assert refused.status_code == 401
        missing = client.delete(f"/jobs/{job.id}")
        assert missing.status_code == 401
        allowed = client.delete(f"/jobs/{job.id}", headers={"X-API-Key": API_KEY})
        assert allowed.status_code == 200
        health = client.get("/health")
        for response in (refused, missing, allowed, health):
            assert_no_secret(response.text + str(dict(response.headers)), "an API response")
    assert_no_secret(caplog.text, "the API's log")
