"""Rules the pages used to hold (job actions, secrets) and the results readers."""

from __future__ import annotations

import json
import time

import pytest

from backend.config import get_settings
from backend.models import JobStatus
from backend.services import auth, results
from backend.services.errors import (
    InvalidArgument,
    JobNotFound,
    JobStateError,
    OutputNotFound,
    StorageError,
)
from backend.services.jobs import JobAction, allowed_actions, has_results
from tests.platform.factories import make_job


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("queued", {"cancel", "delete"}),
        ("running", {"cancel"}),
        ("completed", {"delete"}),
        ("failed", {"retry", "delete"}),
        ("cancelled", {"retry", "delete"}),
    ],
)
def test_allowed_actions_by_status(status, actions):
    assert allowed_actions(status) == {JobAction(a) for a in actions}
    assert has_results(status) is (status == "completed")


def test_secret_matches_in_constant_time_and_pauses_after_a_miss():
    assert auth.secret_matches("pässword", "pässword")
    assert not auth.secret_matches(None, "x") and not auth.secret_matches("", "x")
    started = time.perf_counter()
    assert not auth.secret_matches("guess", "pässword")
    assert time.perf_counter() - started >= auth.FAILED_SECRET_DELAY_S


def test_admin_and_api_key_rules(data_dir, monkeypatch):
    assert auth.admin_password_ok("anything") and not auth.admin_password_required()
    assert not auth.api_key_required(write=True) and auth.api_key_ok(None)
    monkeypatch.setenv("NETBALL_ADMIN_PASSWORD", "club")
    monkeypatch.setenv("NETBALL_API_KEY", "key")
    get_settings.cache_clear()
    assert auth.admin_password_required() and auth.admin_password_ok("club")
    assert not auth.admin_password_ok("clu")
    assert auth.api_key_required(write=True) and not auth.api_key_required(write=False)
    assert auth.api_key_ok("key") and not auth.api_key_ok(None)
    monkeypatch.setenv("NETBALL_API_KEY_READS", "1")
    get_settings.cache_clear()
    assert auth.api_key_required(write=False)
    monkeypatch.setenv("NETBALL_API_KEY_READS", "maybe")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="NETBALL_API_KEY_READS must be 1 or 0"):
        get_settings()


def test_read_rows_parses_cells(session):
    job = make_job(
        session,
        status=JobStatus.completed,
        outputs={"possession.csv": b"start_frame,end_s,team,track_id\n0,1.25,A,\n30,-2e1,B,7\n"},
    )
    rows = results.read_rows(session=session, job_id=job.id, name="possession")
    assert rows == [
        {"start_frame": 0, "end_s": 1.25, "team": "A", "track_id": None},
        {"start_frame": 30, "end_s": -20.0, "team": "B", "track_id": 7},
    ]
    with pytest.raises(OutputNotFound, match=r"has no teams\.csv"):
        results.read_rows(session=session, job_id=job.id, name="teams")
    with pytest.raises(InvalidArgument, match="not an output file name"):
        results.read_rows(session=session, job_id=job.id, name="../app.db")
    with pytest.raises(JobNotFound):
        results.read_rows(session=session, job_id="nosuchjob", name="players")


def test_read_events_pages_and_filters_and_summary_errors(session):
    events = [{"frame": i, "type": "pass" if i % 3 == 0 else "gain"} for i in range(10)]
    job = make_job(
        session,
        status=JobStatus.completed,
        outputs={
            "events.json": json.dumps({"schema_version": 2, "events": events}).encode(),
            "summary.json": b"[1, 2]",
        },
    )
    page, total = results.read_events(session=session, job_id=job.id, page=2, page_size=4)
    assert [e["frame"] for e in page] == [4, 5, 6, 7] and total == 10
    passes, total = results.read_events(session=session, job_id=job.id, event_type="pass")
    assert [e["frame"] for e in passes] == [0, 3, 6, 9] and total == 4
    with pytest.raises(InvalidArgument, match="page_size"):
        results.read_events(session=session, job_id=job.id, page_size=0)
    with pytest.raises(StorageError, match="holds no JSON object"):
        results.read_summary(session=session, job_id=job.id)
    running = make_job(session, status=JobStatus.running)
    with pytest.raises(JobStateError, match="once it has completed"):
        results.read_result(session=session, job_id=running.id)
