"""End to end: a real uvicorn process and a real worker on a temporary data dir.

Upload a generated clip over HTTP, poll its status to completed, download the ZIP and a byte
range of the annotated video, and check them against the files the worker wrote.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dashboard.test_results_via_api import free_port
from tests.platform.test_worker_e2e import EXPECTED_OUTPUTS, FAST, JOB_TIMEOUT_S, wait_for
from tests.synthetic import make_match_clip

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 30


@pytest.fixture
def api(data_dir: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None  # stop waiting if it died; asserted below

    try:
        wait_for(answers, SERVER_START_TIMEOUT_S, "the API to answer /health")
        assert proc.poll() is None, (tmp_path / "api.log").read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_upload_poll_and_download_over_http(api, start_worker, tmp_path):
    worker = start_worker(1)
    clip = tmp_path / "match.mp4"
    make_match_clip(clip, seconds=1.2, players_per_team=2)
    with clip.open("rb") as video, httpx.Client(base_url=api, timeout=30) as http:
        response = http.post(
            "/analyze",
            data={
                "stride": str(FAST["frame_stride"]),
                "imgsz": str(FAST["imgsz"]),
                "team_a": "Lightning",
            },
            files={"video": ("match.mp4", video, "video/mp4")},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["data"]["id"]

        def finished() -> dict | None:
            status = http.get(f"/jobs/{job_id}/status").json()["data"]
            return status if status["status"] in {"completed", "failed", "cancelled"} else None

        try:
            status = wait_for(finished, JOB_TIMEOUT_S, f"job {job_id} to finish")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker.log_tail()}") from None
        assert status["status"] == "completed", status
        assert status["progress"] == 1.0 and status["frames_done"] == status["frames_total"] == 30

        archive = http.get(f"/jobs/{job_id}/download/archive")
        assert archive.status_code == 200
        with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
            assert set(bundle.namelist()) >= EXPECTED_OUTPUTS
            tracks_in_zip = bundle.read("tracks.csv")
        tracks = http.get(f"/jobs/{job_id}/download/tracks")
        assert tracks.content == tracks_in_zip
        assert tracks.text.startswith("frame,time_s,track_id,class,team,")

        meta = http.get(f"/jobs/{job_id}/files/video").json()["data"]
        part = http.get(f"/jobs/{job_id}/download/video", headers={"Range": "bytes=0-1023"})
        assert part.status_code == 206 and len(part.content) == 1024
        assert part.headers["content-range"] == f"bytes 0-1023/{meta['size_bytes']}"
        rest = http.get(f"/jobs/{job_id}/download/video", headers={"Range": "bytes=1024-"})
        whole = part.content + rest.content
        assert hashlib.sha256(whole).hexdigest() == meta["sha256"]
        assert whole[4:8] == b"ftyp"  # an MP4

        result = http.get(f"/jobs/{job_id}/result").json()["data"]
        assert result["summary"]["video"]["frames_total"] == 30
        assert {p["team"] for p in result["players"]} <= {"A", "B", "other"}
