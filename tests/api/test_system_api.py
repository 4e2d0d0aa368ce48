"""Health, processor, storage endpoints; the envelope, request ids, keys, CORS and docs."""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from backend.api import schemas
from backend.api.envelope import to_jsonable
from backend.models import JobStatus
from backend.services import auth
from backend.services.files import job_dir
from tests.api.conftest import envelope
from tests.platform.factories import OUTPUT_FILES, make_job


def test_health_has_the_dashboards_checks_and_advice(client):
    health = envelope(client.get("/health"), schemas.Health)
    names = [check["name"] for check in health["checks"]]
    assert names[:3] == ["database", "queue", "workers"] and "disk" in names
    workers = next(c for c in health["checks"] if c["name"] == "workers")
    assert workers["status"] == "warn" and "no live worker" in workers["detail"]
    assert any("huey_worker.py" in advice for advice in health["recommendations"])
    assert health["service"] == "courtside" and len(health["data_dir_id"]) == 12


def test_processor_status_and_metrics(client, session):
    make_job(session, priority="high")
    running = make_job(session, status=JobStatus.running, progress=0.5, fps=9.0)
    make_job(session, status=JobStatus.completed, fps=20.0, age=timedelta(minutes=5))
    status = envelope(client.get("/processor/status"), schemas.ProcessorStatus)
    assert status["queue_depth"] == {"low": 0, "normal": 0, "high": 1}
    assert [r["job_id"] for r in status["running"]] == [running.id]
    assert status["consumer_alive"] is False and status["workers"] == []
    metrics = envelope(
        client.get("/processor/metrics", params={"hours": 3}), schemas.ProcessorMetrics
    )
    assert metrics["completed_last_hour"] == 1 and metrics["mean_fps"] == 20.0
    assert (
        len(metrics["throughput"]) == 3 and sum(h["completed"] for h in metrics["throughput"]) == 1
    )
    assert envelope(client.get("/processor/metrics", params={"hours": 0}), status=422)


def test_processor_status_lists_every_worker_with_host_jobs_and_heartbeat(
    client, session, monkeypatch
):
    from backend.config import get_settings
    from backend.services.workers import register_worker

    monkeypatch.setenv("NETBALL_WORKER_HOST", "analysis-7")
    get_settings.cache_clear()
    worker = register_worker(session=session, processes=3, queue="redis://q:6379/0")
    job = make_job(
        session, status=JobStatus.running, worker_id=worker.id, worker_host="analysis-7",
        worker_pid=4321,
    )  # fmt: skip
    status = envelope(client.get("/processor/status"), schemas.ProcessorStatus)
    [listed] = status["workers"]
    assert (listed["id"], listed["host"], listed["processes"], listed["alive"]) == (
        worker.id, "analysis-7", 3, True,
    )  # fmt: skip
    assert listed["running_jobs"] == [job.id] and listed["heartbeat_age_s"] < 5
    assert datetime.fromisoformat(listed["heartbeat_at"]).tzinfo is not None
    assert listed["stopped_at"] is None
    assert status["running"][0]["worker_host"] == "analysis-7"
    assert status["consumer_alive"] is True and status["configured_workers"] == 3


def test_storage_stats_and_cleanup(client, session):
    old = make_job(session, status=JobStatus.failed, outputs=OUTPUT_FILES, age=timedelta(days=40))
    keep = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    stats = envelope(client.get("/storage/stats"), schemas.StorageStats)
    assert stats["jobs"] == 2 and stats["files_by_kind"]["video"] == 2
    assert stats["total_bytes"] == 2 * sum(map(len, OUTPUT_FILES.values()))
    rule = {"older_than_days": 30}
    preview = envelope(client.post("/storage/cleanup", params=rule), schemas.CleanupReport)
    assert preview["dry_run"] is True and [j["job_id"] for j in preview["jobs"]] == [old.id]
    assert job_dir(old.id).exists()
    done = envelope(client.post("/storage/cleanup", params={**rule, "dry_run": "false"}))
    assert done["dry_run"] is False and done["bytes_freed"] == preview["bytes_freed"] > 0
    assert not job_dir(old.id).exists() and job_dir(keep.id).exists()
    by_status = envelope(client.post("/storage/cleanup", params={"status": ["completed"]}))
    assert [j["job_id"] for j in by_status["jobs"]] == [keep.id]
    assert envelope(client.post("/storage/cleanup", params={"older_than_days": -1}), status=422)
    assert envelope(client.post("/storage/cleanup", params={"status": "running"}), status=422)


def test_write_endpoints_need_the_api_key_reads_stay_open(make_client, session):
    client = make_client(NETBALL_API_KEY="s3cret-key")
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    writes = [
        ("post", "/analyze"),
        ("post", f"/jobs/{job.id}/cancel"),
        ("post", f"/jobs/{job.id}/retry"),
        ("delete", f"/jobs/{job.id}"),
        ("post", "/storage/cleanup"),
    ]
    for method, path in writes:
        error = envelope(getattr(client, method)(path), status=401)
        assert error["code"] == "unauthorized" and "X-API-Key" in error["message"]
    started = time.perf_counter()
    wrong = client.post("/storage/cleanup", headers={"X-API-Key": "guess"})
    assert envelope(wrong, status=401)["message"] == "the X-API-Key is not correct"
    assert time.perf_counter() - started >= auth.FAILED_SECRET_DELAY_S
    assert envelope(client.get(f"/jobs/{job.id}/status"))["status"] == "completed"
    assert client.get(f"/jobs/{job.id}/download/log").status_code == 200
    allowed = client.post(f"/jobs/{job.id}/cancel", headers={"X-API-Key": "s3cret-key"})
    assert envelope(allowed, status=409)["code"] == "job_state_conflict"  # past the key check
    deleted = client.delete(f"/jobs/{job.id}", headers={"X-API-Key": "s3cret-key"})
    assert envelope(deleted)["deleted"] is True


def test_reads_need_the_key_when_configured(make_client, session):
    client = make_client(NETBALL_API_KEY="s3cret-key", NETBALL_API_KEY_READS="1")
    for path in ("/jobs", "/health", "/storage/stats", "/processor/status", "/jobs/x/files"):
        assert envelope(client.get(path), status=401)["code"] == "unauthorized"
    assert envelope(client.get("/jobs", headers={"X-API-Key": "s3cret-key"})) == []


def test_request_id_in_header_and_log_line_and_the_key_never_logged(make_client, caplog):
    client = make_client(NETBALL_API_KEY="s3cret-key")
    caplog.set_level(logging.INFO, logger="courtside.api")
    response = client.get("/jobs", headers={"X-Request-ID": "client-42", "X-API-Key": "s3cret-key"})
    assert response.headers["x-request-id"] == "client-42"
    assert response.json()["meta"]["request_id"] == "client-42"
    lines = [r.getMessage() for r in caplog.records if r.name == "courtside.api"]
    assert any("GET /jobs 200" in line and "request_id=client-42" in line for line in lines)
    client.post("/storage/cleanup", headers={"X-API-Key": "s3cret-key-wrong"})
    assert "s3cret" not in caplog.text
    odd = client.get("/jobs", headers={"X-Request-ID": "spaces are not kept"})
    assert len(odd.headers["x-request-id"]) == 32


def test_unexpected_errors_are_a_500_envelope_with_the_request_id(client, monkeypatch, caplog):
    from backend.services import metrics

    def broken(**_):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(metrics, "processor_status", broken)
    response = client.get("/processor/status")
    error = envelope(response, status=500)
    assert error["code"] == "internal_error" and "disk on fire" not in response.text
    assert error["details"] == {"request_id": response.headers["x-request-id"]}
    assert response.headers["x-request-id"] in caplog.text and "disk on fire" in caplog.text


def test_unknown_routes_and_methods_use_the_envelope(client):
    assert envelope(client.get("/nothing-here"), status=404)["code"] == "not_found"
    assert envelope(client.put("/jobs"), status=405)["code"] == "method_not_allowed"


def test_cors_only_for_configured_origins(make_client):
    closed = make_client()
    preflight = {"Origin": "https://club.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in closed.options("/jobs", headers=preflight).headers
    open_ = make_client(NETBALL_API_CORS_ORIGINS="https://club.example, https://app.example")
    answer = open_.options("/jobs", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://club.example"
    other = open_.get("/jobs", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_docs_and_every_model_has_an_example(client):
    assert client.get("/docs").status_code == 200 and client.get("/redoc").status_code == 200
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/analyze", "/jobs", "/jobs/{job_id}/status", "/jobs/{job_id}/result",
            "/jobs/{job_id}/download/{file_type}", "/jobs/{job_id}/files",
            "/jobs/{job_id}/files/{file_type}", "/jobs/{job_id}/cancel", "/jobs/{job_id}/retry",
            "/jobs/{job_id}", "/health", "/processor/status", "/processor/metrics",
            "/storage/stats", "/storage/cleanup"} <= paths  # fmt: skip
    ours = {name: s for name, s in spec["components"]["schemas"].items()
            if not name.startswith(("HTTPValidationError", "ValidationError"))}  # fmt: skip
    lacking = [name for name, s in ours.items() if not s.get("examples") and "enum" not in s]
    assert not lacking, f"models without examples: {lacking}"
    form = spec["paths"]["/analyze"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "video" in form["schema"]["properties"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), None),
        (math.inf, None),
        (np.float32(1.5), 1.5),
        (np.int64(7), 7),
        (np.array([1.0, np.nan]), [1.0, None]),
        (pd.NA, None),
        (pd.NaT, None),
        (pd.Timestamp("2025-03-01 10:00", tz="UTC"), "2025-03-01T10:00:00Z"),
        (datetime(2025, 3, 1, 12, 0), "2025-03-01T12:00:00Z"),
        (datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=10))), "2025-03-01T02:00:00Z"),
        (JobStatus.failed, "failed"),
        ({"a": (np.bool_(True), None)}, {"a": [True, None]}),
        (pd.DataFrame({"x": [1.0, np.nan]}), [{"x": 1.0}, {"x": None}]),
    ],
)
def test_values_serialise_cleanly(value, expected):
    assert to_jsonable(value) == expected


def test_envelope_timestamp_is_utc_iso(client):
    stamp = client.get("/jobs").json()["meta"]["timestamp"]
    parsed = datetime.fromisoformat(stamp)
    assert parsed.tzinfo is not None and abs(datetime.now(UTC) - parsed) < timedelta(minutes=1)


def test_envelope_renders_nan_as_null_and_datetimes_as_utc():
    from backend.api.envelope import EnvelopeResponse

    body = EnvelopeResponse(
        {"speed": np.float64("nan"), "at": datetime(2025, 1, 2, 3, 4, 5), "n": np.int32(3)}
    ).body
    assert body == b'{"speed":null,"at":"2025-01-02T03:04:05Z","n":3}'
