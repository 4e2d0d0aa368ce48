"""POST /analyze, GET /jobs, status, result, cancel, retry, delete through the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from backend.api import schemas
from backend.db import session_scope
from backend.models import Job, JobStatus
from backend.services.files import job_dir, sha256_file
from tests.api.conftest import envelope
from tests.platform.factories import make_job
from tests.synthetic import make_corrupt_file, make_plain_clip


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_plain_clip(tmp_path / "clip.mp4", frames=8)


def job_count() -> int:
    with session_scope() as session:
        return len(session.exec(select(Job)).all())


def job_folders(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "jobs").iterdir())


def test_analyze_streams_the_video_into_a_queued_job(client, clip, data_dir):
    fields = {"priority": "high", "stride": "2", "imgsz": "320", "team_a": "Lightning",
              "match_home": "Lightning", "match_away": "Swifts"}  # fmt: skip
    with clip.open("rb") as video:
        response = client.post(
            "/analyze", data=fields, files={"video": ("Round 3.mp4", video, "video/mp4")}
        )
    job = envelope(response, schemas.Job, status=202)
    assert job["status"] == "queued" and job["priority"] == "high"
    assert job["original_name"] == "Round 3.mp4"
    assert job["settings"] == {
        "frame_stride": 2,
        "imgsz": 320,
        "team_names": {"A": "Lightning"},
        "match": {"home": "Lightning", "away": "Swifts"},
    }
    assert job["frames_total"] == 8 and job["allowed_actions"] == ["cancel", "delete"]
    stored = job_dir(job["id"]) / "input" / "Round 3.mp4"
    assert stored.read_bytes() == clip.read_bytes()
    assert job["input_size_bytes"] == clip.stat().st_size
    files = envelope(client.get(f"/jobs/{job['id']}/files"), list[schemas.JobFile])
    assert [(f["role"], f["sha256"]) for f in files] == [("input", sha256_file(clip))]


def test_analyze_takes_a_calibration(client, clip):
    calibration = {"image_points": [[40, 50], [280, 50], [316, 170], [4, 170]],
                   "court_points_m": [[0, 0], [30.5, 0], [30.5, 15.25], [0, 15.25]]}  # fmt: skip
    with clip.open("rb") as video:
        response = client.post(
            "/analyze",
            data={"calibration": json.dumps(calibration)},
            files={"video": ("clip.mp4", video)},
        )
    assert envelope(response, status=202)["settings"]["calibration"] == calibration


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("notes.txt", b"not a video", 415, "unsupported_media_type"),
        ("broken.mp4", None, 415, "unsupported_media_type"),
        ("empty.mp4", b"", 422, "upload_rejected"),
    ],
)
def test_analyze_refuses_what_is_not_a_video_and_keeps_nothing(
    client, data_dir, tmp_path, name, content, status, code
):
    if content is None:
        content = make_corrupt_file(tmp_path / name).read_bytes()
    response = client.post("/analyze", files={"video": (name, content)})
    error = envelope(response, status=status)
    assert error["code"] == code and name in error["message"]
    assert job_count() == 0 and job_folders(data_dir) == []


def test_analyze_wants_multipart(client):
    error = envelope(client.post("/analyze", content=b"raw bytes"), status=415)
    assert "multipart/form-data" in error["message"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stride": "abc"}, "stride must be a whole number"),
        ({"stride": "0"}, "frame_stride"),
        ({"priority": "urgent"}, "unknown priority 'urgent'"),
        ({"calibration": "{not json"}, "calibration must be JSON"),
        ({"calibration": json.dumps({"image_points": [[0, 0]]})}, "invalid court calibration"),
        ({"colour": "red"}, "unknown form field 'colour'"),
    ],
)
def test_analyze_refuses_bad_fields_before_storing(client, clip, data_dir, fields, message):
    response = client.post(
        "/analyze", data=fields, files={"video": ("clip.mp4", clip.read_bytes())}
    )
    error = envelope(response, status=422)
    assert message in error["message"]
    assert job_count() == 0 and job_folders(data_dir) == []


def test_analyze_needs_a_video_and_fields_before_it(client, clip, data_dir):
    error = envelope(client.post("/analyze", files={"priority": (None, "low")}), status=422)
    assert "no video in the request" in error["message"]
    boundary = "XyZ"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="clip.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + clip.read_bytes()
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="priority"\r\n\r\nhigh\r\n'
            f"--{boundary}--\r\n"
        ).encode()
    )
    response = client.post(
        "/analyze",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "comes after the video" in envelope(response, status=422)["message"]
    assert job_count() == 0 and job_folders(data_dir) == []


def test_analyze_refuses_a_too_large_upload(make_client, clip, data_dir):
    client = make_client(NETBALL_MAX_UPLOAD_MB="1")
    big = clip.read_bytes() + b"\x00" * (2 * 1024 * 1024)
    error = envelope(client.post("/analyze", files={"video": ("big.mp4", big)}), status=413)
    assert "upload limit of 1 MB" in error["message"]
    assert job_count() == 0 and job_folders(data_dir) == []
    declared = client.post(
        "/analyze",
        content=b"",
        headers={"content-type": "multipart/form-data; boundary=x", "content-length": "9999999"},
    )
    assert envelope(declared, status=413)["code"] == "payload_too_large"


def test_jobs_list_paginates_filters_and_searches(client, session):
    for index in range(5):
        make_job(session, status=JobStatus.completed, name=f"round{index}.mp4")
    failed = make_job(session, status=JobStatus.failed, name="final.mp4")
    response = client.get("/jobs", params={"page": 2, "page_size": 2})
    page = envelope(response, list[schemas.Job])
    assert len(page) == 2
    assert response.json()["meta"]["pagination"] == {
        "page": 2,
        "page_size": 2,
        "total": 6,
        "pages": 3,
    }
    only_failed = envelope(client.get("/jobs", params={"status": "failed"}))
    assert [j["id"] for j in only_failed] == [failed.id]
    assert only_failed[0]["allowed_actions"] == ["delete", "retry"]
    found = envelope(client.get("/jobs", params={"search": "round3"}))
    assert [j["original_name"] for j in found] == ["round3.mp4"]
    assert envelope(client.get("/jobs", params={"status": "lost"}), status=422)["code"] == (
        "validation_error"
    )
    assert envelope(client.get("/jobs", params={"page_size": 500}), status=422)
    assert envelope(client.get("/jobs", params={"page": 0}), status=422)


def test_status_reports_progress_and_error(client, session):
    job = make_job(session, status=JobStatus.running, progress=0.25, frames_done=50,
                   frames_total=200, fps=12.5, eta_s=12.0)  # fmt: skip
    status = envelope(client.get(f"/jobs/{job.id}/status"), schemas.JobStatus)
    assert status["progress"] == 0.25 and status["frames_done"] == 50
    assert status["frames_total"] == 200 and status["fps"] == 12.5 and status["eta_s"] == 12.0
    assert status["allowed_actions"] == ["cancel"]
    assert status["started_at"].endswith("Z")
    failed = make_job(session, status=JobStatus.failed, error="the video cannot be decoded")
    assert envelope(client.get(f"/jobs/{failed.id}/status"))["error"] == (
        "the video cannot be decoded"
    )
    error = envelope(client.get("/jobs/nosuchjob/status"), status=404)
    assert error["code"] == "job_not_found" and error["details"] == {"job_id": "nosuchjob"}


EVENTS = [
    {"frame": 10 * i, "time_s": 0.4 * i, "type": "pass" if i % 2 else "possession_start",
     "team": "A", "track_id": i, "to_track_id": None, "court_x": None, "court_y": None}
    for i in range(7)
]  # fmt: skip
PLAYERS = b"track_id,team,frames_seen,distance_m,top_speed_ms\n3,A,120,41.5,\n7,B,98,,5.2\n"


def completed_with_results(session, **extra: bytes) -> Job:
    return make_job(
        session,
        status=JobStatus.completed,
        outputs={
            "summary.json": json.dumps({"video": {"fps": 25.0}, "possession": {"A": 0.6}}).encode(),
            "players.csv": PLAYERS,
            "events.json": json.dumps({"fps": 25.0, "events": EVENTS}).encode(),
            **extra,
        },
    )


def test_result_has_summary_players_teams_and_paged_events(client, session):
    teams = b"team,period,passes,shootingPct\nA,all,12,\nB,all,9,50.0\n"
    job = completed_with_results(session, **{"teams.csv": teams})
    response = client.get(f"/jobs/{job.id}/result", params={"page": 2, "page_size": 3})
    result = envelope(response, schemas.JobResult)
    assert result["summary"]["possession"] == {"A": 0.6}
    assert result["players"] == [
        {"track_id": 3, "team": "A", "frames_seen": 120, "distance_m": 41.5, "top_speed_ms": None},
        {"track_id": 7, "team": "B", "frames_seen": 98, "distance_m": None, "top_speed_ms": 5.2},
    ]
    assert result["teams"][1] == {"team": "B", "period": "all", "passes": 9, "shootingPct": 50.0}
    assert [e["frame"] for e in result["events"]] == [30, 40, 50]
    assert result["events_total"] == 7
    assert response.json()["meta"]["pagination"] == {
        "page": 2,
        "page_size": 3,
        "total": 7,
        "pages": 3,
    }
    passes = envelope(client.get(f"/jobs/{job.id}/result", params={"event_type": "pass"}))
    assert [e["frame"] for e in passes["events"]] == [10, 30, 50]


def test_result_of_a_stage1_job_has_no_teams_and_refuses_unfinished_jobs(client, session):
    job = completed_with_results(session)
    assert envelope(client.get(f"/jobs/{job.id}/result"))["teams"] == []
    running = make_job(session, status=JobStatus.running)
    error = envelope(client.get(f"/jobs/{running.id}/result"), status=409)
    assert error["code"] == "job_state_conflict" and "running" in error["message"]
    assert envelope(client.get("/jobs/nosuchjob/result"), status=404)["code"] == "job_not_found"
    bare = make_job(session, status=JobStatus.completed, outputs={"run.log": b"x"})
    assert envelope(client.get(f"/jobs/{bare.id}/result"), status=404)["code"] == "file_not_found"


def test_cancel_retry_delete_follow_the_status_rules(client, session, data_dir):
    queued = make_job(session, with_input=True)
    cancelled = envelope(client.post(f"/jobs/{queued.id}/cancel"), schemas.Job)
    assert cancelled["status"] == "cancelled" and cancelled["allowed_actions"] == [
        "delete",
        "retry",
    ]
    again = envelope(client.post(f"/jobs/{queued.id}/cancel"), status=409)
    assert again["code"] == "job_state_conflict" and "already cancelled" in again["message"]
    retried = envelope(client.post(f"/jobs/{queued.id}/retry"), schemas.Job)
    assert retried["status"] == "queued" and retried["attempts"] == 0

    running = make_job(session, status=JobStatus.running)
    flagged = envelope(client.post(f"/jobs/{running.id}/cancel"))
    assert flagged["status"] == "running" and flagged["cancel_requested"] is True
    assert (
        "only failed or cancelled"
        in envelope(client.post(f"/jobs/{running.id}/retry"), status=409)["message"]
    )
    assert (
        "cancel it first" in envelope(client.delete(f"/jobs/{running.id}"), status=409)["message"]
    )

    done = make_job(session, status=JobStatus.completed, outputs={"run.log": b"ok"})
    assert envelope(client.post(f"/jobs/{done.id}/cancel"), status=409)["code"] == (
        "job_state_conflict"
    )
    assert envelope(client.delete(f"/jobs/{done.id}"), schemas.Deleted) == {
        "job_id": done.id,
        "deleted": True,
    }
    assert not job_dir(done.id).exists()
    for method, path in (("post", "cancel"), ("post", "retry")):
        response = getattr(client, method)(f"/jobs/{done.id}/{path}")
        assert envelope(response, status=404)["code"] == "job_not_found"
    assert envelope(client.delete(f"/jobs/{done.id}"), status=404)["code"] == "job_not_found"


def test_retry_without_the_input_video_is_a_conflict(client, session):
    job = make_job(session, status=JobStatus.failed)
    error = envelope(client.post(f"/jobs/{job.id}/retry"), status=409)
    assert "input video is missing" in error["message"]
