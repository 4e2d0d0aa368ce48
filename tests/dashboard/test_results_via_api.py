"""Where the API runs, the Results page plays and downloads files through its URLs."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
import uvicorn

from backend.api.app import create_app
from backend.config import get_settings
from tests.dashboard.apptest import open_page
from tests.dashboard.factories import complete, sample_track_rows, submit_clip
from tests.synthetic import make_plain_clip

SERVER_START_TIMEOUT_S = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def api_url(data_dir, monkeypatch) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("NETBALL_API_PUBLIC_URL", url)
    get_settings.cache_clear()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_results_use_the_api_urls_for_video_and_downloads(api_url, tmp_path):
    video = make_plain_clip(tmp_path / "annotated-source.mp4", frames=6)
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows(), video_source=video)
    app = open_page("results.py", job=job_id)
    assert not app.exception
    assert app.get("video")[0].proto.url == f"{api_url}/jobs/{job_id}/download/video"
    assert not app.get("download_button")
    links = {button.proto.label: button.proto.url for button in app.get("link_button")}
    zip_label = next(label for label in links if label.startswith("Download all (ZIP"))
    assert links[zip_label] == f"{api_url}/jobs/{job_id}/download/archive"
    assert len(links) == 1 + 1  # the ZIP; the per-file buttons share the label "Download"
    file_urls = [b.proto.url for b in app.get("link_button") if b.proto.label == "Download"]
    assert f"{api_url}/jobs/{job_id}/download/tracks.csv" in file_urls
    with urllib.request.urlopen(f"{api_url}/jobs/{job_id}/download/video") as reply:
        assert reply.read() == video.read_bytes()


def test_results_fall_back_when_the_api_is_elsewhere(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NETBALL_API_PUBLIC_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows(), video_source=make_plain_clip(tmp_path / "v.mp4"))
    app = open_page("results.py", job=job_id)
    assert not app.get("link_button")
    assert app.get("download_button") and not app.get("video")[0].proto.url.startswith("http://127")
