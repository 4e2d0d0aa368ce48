"""File listing, metadata and streamed downloads with Range."""

from __future__ import annotations

import hashlib
import io
import zipfile

from backend.api import schemas
from backend.models import JobStatus
from backend.services.files import job_dir
from tests.api.conftest import envelope
from tests.platform.factories import OUTPUT_FILES, make_job


def completed(session):
    return make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES, with_input=True)


def test_files_lists_every_file_with_metadata(client, session):
    job = completed(session)
    files = envelope(client.get(f"/jobs/{job.id}/files"), list[schemas.JobFile])
    by_name = {f["name"]: f for f in files if f["role"] == "output"}
    assert set(by_name) == set(OUTPUT_FILES)
    video = by_name["annotated.mp4"]
    assert video["kind"] == "video" and video["mime"] == "video/mp4"
    assert video["size_bytes"] == len(OUTPUT_FILES["annotated.mp4"])
    assert video["sha256"] == hashlib.sha256(OUTPUT_FILES["annotated.mp4"]).hexdigest()
    assert video["download_url"] == f"/jobs/{job.id}/download/annotated.mp4"
    assert [f["role"] for f in files].count("input") == 1
    assert envelope(client.get("/jobs/nosuchjob/files"), status=404)["code"] == "job_not_found"


def test_file_metadata_by_alias_or_name(client, session):
    job = completed(session)
    by_alias = envelope(client.get(f"/jobs/{job.id}/files/tracks"), schemas.JobFile)
    assert by_alias["name"] == "tracks.csv" and by_alias["kind"] == "csv"
    assert envelope(client.get(f"/jobs/{job.id}/files/heatmap_A.png"))["kind"] == "image"
    assert envelope(client.get(f"/jobs/{job.id}/files/input"))["role"] == "input"
    archive = envelope(client.get(f"/jobs/{job.id}/files/archive"))
    assert archive["kind"] == "archive" and archive["download_url"].endswith("/download/archive")
    error = envelope(client.get(f"/jobs/{job.id}/files/teams"), status=404)
    assert error["code"] == "file_not_found" and "annotated.mp4" in error["message"]


def test_download_streams_the_file_with_type_and_name(client, session):
    job = completed(session)
    response = client.get(f"/jobs/{job.id}/download/video")
    assert response.status_code == 200
    assert response.content == OUTPUT_FILES["annotated.mp4"]
    assert response.headers["content-type"] == "video/mp4"
    assert 'filename="annotated.mp4"' in response.headers["content-disposition"]
    assert response.headers["accept-ranges"] == "bytes"
    log = client.get(f"/jobs/{job.id}/download/log")
    assert log.content == OUTPUT_FILES["run.log"] and log.headers["x-request-id"]
    head = client.head(f"/jobs/{job.id}/download/video")
    assert head.status_code == 200 and head.headers["content-length"] == str(10240)


def test_download_honours_range(client, session):
    job = completed(session)
    content = OUTPUT_FILES["annotated.mp4"]
    response = client.get(f"/jobs/{job.id}/download/video", headers={"Range": "bytes=100-299"})
    assert response.status_code == 206
    assert response.content == content[100:300]
    assert response.headers["content-range"] == f"bytes 100-299/{len(content)}"
    tail = client.get(f"/jobs/{job.id}/download/video", headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == content[-16:]
    outside = client.get(f"/jobs/{job.id}/download/video", headers={"Range": "bytes=99999-"})
    assert envelope(outside, status=416)["code"] == "range_not_satisfiable"
    assert outside.headers["content-range"] == f"bytes */{len(content)}"
    malformed = client.get(f"/jobs/{job.id}/download/video", headers={"Range": "pages=1-2"})
    assert envelope(malformed, status=400)["code"] == "bad_request"


def test_download_archive_is_the_zip_of_the_outputs(client, session):
    job = completed(session)
    response = client.get(f"/jobs/{job.id}/download/archive")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert f'filename="courtside-{job.id}.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(OUTPUT_FILES)
        assert archive.read("tracks.csv") == OUTPUT_FILES["tracks.csv"]


def test_download_errors(client, session):
    job = completed(session)
    error = envelope(client.get(f"/jobs/{job.id}/download/timeline"), status=404)
    assert error["code"] == "file_not_found"
    assert envelope(client.get("/jobs/nosuchjob/download/video"), status=404)["code"] == (
        "job_not_found"
    )
    (job_dir(job.id) / "outputs" / "annotated.mp4").unlink()
    gone = envelope(client.get(f"/jobs/{job.id}/download/video"), status=404)
    assert "missing on disk" in gone["message"]
    queued = make_job(session)
    assert envelope(client.get(f"/jobs/{queued.id}/download/archive"), status=409)["code"] == (
        "storage_conflict"
    )
