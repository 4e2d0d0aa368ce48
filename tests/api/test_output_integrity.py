"""Outputs deleted or altered behind the system's back: storage stats, the results service,
the API and the ZIP builder say which file and how, and nothing broken is handed out."""

from __future__ import annotations

import pytest

from backend.api import schemas
from backend.models import JobStatus
from backend.services import results as results_service
from backend.services.errors import StorageError
from backend.services.files import archive_path, build_archive, job_outputs_dir
from backend.services.storage import storage_stats
from tests.api.conftest import envelope
from tests.platform.factories import OUTPUT_FILES, make_job


def _same_size_edit(path) -> None:
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged(session):
    """A completed job whose tracks.csv was edited (same size), run.log grown, and
    summary.json deleted; plus an intact job."""
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    intact = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    outputs = job_outputs_dir(job.id)
    _same_size_edit(outputs / "tracks.csv")
    (outputs / "run.log").write_bytes(OUTPUT_FILES["run.log"] + b"x")
    (outputs / "summary.json").unlink()
    return job, intact


EXPECTED = {
    "outputs/run.log": ("size changed", "17 bytes", "18 bytes"),
    "outputs/summary.json": ("missing", "", ""),
    "outputs/tracks.csv": ("sha256 changed",),
}


def _check(problems: list[dict], job_id: str) -> None:
    assert sorted(p["relpath"] for p in problems) == sorted(EXPECTED)
    for problem in problems:
        want = EXPECTED[problem["relpath"]]
        assert problem["job_id"] == job_id
        assert (problem["problem"], problem["expected"], problem["found"])[: len(want)] == want
        assert problem["message"].startswith(f"{problem['relpath']} of job {job_id}: {want[0]}")


def test_storage_stats_list_each_damaged_file(session, damaged):
    job, _ = damaged
    _check(storage_stats(session=session).file_problems, job.id)


def test_the_zip_is_not_built_from_a_broken_file_and_says_why(session, damaged):
    job, intact = damaged
    with pytest.raises(StorageError, match=r"the ZIP of job \w+ was not built: ") as refused:
        build_archive(session=session, job_id=job.id)
    for relpath, (problem, *_) in EXPECTED.items():
        assert f"{relpath} of job {job.id}: {problem}" in str(refused.value)
    assert not archive_path(job.id).exists()
    assert build_archive(session=session, job_id=intact.id).is_file()


def test_a_same_size_edit_after_a_zip_was_built_stops_the_next_zip(session):
    job = make_job(session, status=JobStatus.completed, outputs=OUTPUT_FILES)
    build_archive(session=session, job_id=job.id)
    _same_size_edit(job_outputs_dir(job.id) / "annotated.mp4")
    with pytest.raises(StorageError, match=r"outputs/annotated\.mp4 of job \w+: sha256 changed"):
        build_archive(session=session, job_id=job.id)


def test_results_service_and_api_report_the_damage(client, session, damaged):
    job, intact = damaged
    # summary.json is gone, so the result cannot be read; the message says so.
    response = client.get(f"/jobs/{job.id}/result")
    error = envelope(response, status=404)
    assert "summary.json" in error["message"]
    # The summary put back as it was: readable again, and no longer listed as a problem.
    (job_outputs_dir(job.id) / "summary.json").write_bytes(OUTPUT_FILES["summary.json"])
    result = envelope(client.get(f"/jobs/{job.id}/result"), schemas.JobResult)
    relpaths = sorted(p["relpath"] for p in result["file_problems"])
    assert relpaths == ["outputs/run.log", "outputs/tracks.csv"]
    assert [
        p.relpath for p in results_service.file_problems(session=session, job_id=intact.id)
    ] == []
    stats = envelope(client.get("/storage/stats"), schemas.StorageStats)
    assert {p["relpath"] for p in stats["file_problems"]} == set(relpaths)
    for name, problem in (("tracks", "sha256 changed"), ("log", "size changed")):
        refused = envelope(client.get(f"/jobs/{job.id}/download/{name}"), status=409)
        assert f"of job {job.id}: {problem}" in refused["message"]
    archive = envelope(client.get(f"/jobs/{job.id}/download/archive"), status=409)
    assert "was not built" in archive["message"]
    ok = client.get(f"/jobs/{intact.id}/download/tracks")
    assert ok.status_code == 200 and ok.content == OUTPUT_FILES["tracks.csv"]
