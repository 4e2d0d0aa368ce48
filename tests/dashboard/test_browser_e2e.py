"""The whole product in a real browser: worker + Streamlit + headless Chromium.

Uploads a generated match clip, follows it on the Jobs page, then checks on the Results page
that the annotated video really plays, the charts render and the ZIP holds the outputs.
Screenshots of every page go to test-artifacts/; with COURTSIDE_UPDATE_SCREENSHOT=1 the
Results heatmaps one also becomes docs/results.png for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.dashboard.apptest import PROJECT_ROOT
from tests.synthetic import ClipTruth, make_corrupt_file, make_match_clip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "results.png"
README_SCREENSHOT_WIDTH_PX = 1100
SERVER_START_TIMEOUT_S = 60
JOB_TIMEOUT_S = 240
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CORNERS_M = [[0.0, 0.0], [30.5, 0.0], [30.5, 15.25], [0.0, 15.25]]
CORNER_LABELS = ("Far left corner", "Far right corner", "Near right corner", "Near left corner")
EXPECTED_IN_ZIP = {"annotated.mp4", "tracks.csv", "summary.json", "run.log"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"Streamlit did not answer within {SERVER_START_TIMEOUT_S} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def product(tmp_path: Path) -> Iterator[str]:
    """A worker and the dashboard on a free port over a fresh data dir; yields the base URL."""
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    env = {
        **os.environ,
        "NETBALL_DATA_DIR": str(tmp_path / "data"),
        "NETBALL_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    for name in (
        "DATABASE_URL",
        "NETBALL_QUEUE_PATH",
        "NETBALL_INBOX_DIR",
        "NETBALL_ADMIN_PASSWORD",
    ):
        env.pop(name, None)
    port = free_port()
    bin_dir = Path(sys.executable).parent
    worker_log = tmp_path / "worker.log"
    ui_log = tmp_path / "streamlit.log"
    with worker_log.open("w") as worker_out, ui_log.open("w") as ui_out:
        worker = subprocess.Popen(
            [sys.executable, "huey_worker.py", "--workers", "1"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
        ui = subprocess.Popen(
            [
                str(bin_dir / "streamlit"),
                "run",
                "streamlit_app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=ui_out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, ui, ui_log)
            yield url
        finally:
            stop(ui)
            stop(worker)
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(worker_log, ARTIFACTS / "e2e-worker.log")
            shutil.copy(ui_log, ARTIFACTS / "e2e-streamlit.log")


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)  # a new tab's underline slides across: let it arrive
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app_idle(page: Page) -> None:
    """Until Streamlit has finished the script run the page is showing."""
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)


def open_tab(
    page: Page, name: str, showing: str | re.Pattern | None = None, *, attempts: int = 3
) -> Locator:
    """Click a tab and return its panel, once the panel shows `showing` (if given).

    A click that lands while the page is still being built can be undone when the frontend
    rebuilds the tabs: once in CI the Video tab was still the selected one 30 s after a click
    on Heatmaps. So the click waits for the run to finish, and is made again (at most
    `attempts` times, each said in the log) if the tab did not stay open.
    """
    tab = page.get_by_role("tab", name=name, exact=True)
    panel = page.get_by_role("tabpanel", name=name, exact=True)
    for attempt in range(1, attempts):
        try:
            _click_tab(page, tab, panel, showing)
            return panel
        except AssertionError:
            print(f"tab {name!r} did not stay open after click {attempt}; clicking again")
    _click_tab(page, tab, panel, showing)
    return panel


def _click_tab(page: Page, tab: Locator, panel: Locator, showing: str | re.Pattern | None) -> None:
    wait_for_app_idle(page)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true", timeout=10_000)
    if showing is not None:
        expect(panel.get_by_text(showing).first).to_be_visible(timeout=20_000)


def save_readme_screenshot(source: Path) -> None:
    from PIL import Image

    with Image.open(source) as image:
        scale = README_SCREENSHOT_WIDTH_PX / image.width
        small = image.convert("RGB").resize(
            (README_SCREENSHOT_WIDTH_PX, round(image.height * scale)), Image.Resampling.LANCZOS
        )
        small = small.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        small.save(README_SCREENSHOT, optimize=True)


def test_upload_follow_and_explore_results_in_a_browser(product, tmp_path):
    expect.set_options(timeout=30_000)

    clip = make_match_clip(
        tmp_path / "league-round-3.mp4", seconds=4.0, fps=15, size=(640, 360), players_per_team=3
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(30_000)

        try:
            walk_through(page, product, clip, tmp_path)
        except BaseException:
            # Leave evidence for whoever reads the CI artefacts: where it stopped, what it showed.
            shoot(page, "failure")
            (ARTIFACTS / "failure.txt").write_text(page.inner_text("body"))
            raise
        finally:
            browser.close()


def walk_through(page: Page, product: str, clip: ClipTruth, tmp_path: Path) -> None:
    """Upload -> Jobs -> Results -> Admin -> Overview, asserting and shooting each page."""
    job_id = upload_step(page, product, clip, tmp_path)
    jobs_step(page, product)
    results_step(page, product, job_id, tmp_path)
    admin_and_overview_step(page, product)


def upload_step(page: Page, product: str, clip: ClipTruth, tmp_path: Path) -> str:
    page.goto(product)
    expect(page.get_by_text("No analyses yet")).to_be_visible()
    shoot(page, "01-overview-empty")

    # A broken file is refused with a reason and nothing is queued.
    broken = make_corrupt_file(tmp_path / "phone-export.mp4")
    page.goto(f"{product}/new_analysis")
    page.locator("input[type=file]").first.set_input_files(str(broken))
    # Refused on drop, beside the file: no button press, nothing to scroll to.
    expect(page.get_by_text(re.compile(r"phone-export\.mp4.*not a readable video"))).to_be_visible()
    expect(page.get_by_role("button", name="Analyse 0 videos")).to_be_disabled()
    shoot(page, "02a-upload-rejected")

    page.goto(f"{product}/new_analysis")  # a fresh session: the uploader is empty again
    expect(page.get_by_role("heading", name="New analysis")).to_be_visible()
    page.get_by_label("Team A name", exact=True).fill("Lightning")
    page.get_by_label("Team B name", exact=True).fill("Firebirds")
    page.get_by_text("Court calibration (optional)").click()
    corners_px = clip.court_to_pixels(CORNERS_M)
    for label, (x, y) in zip(CORNER_LABELS, corners_px, strict=True):
        field = page.get_by_label(label)
        field.fill(f"{x:.1f}, {y:.1f}")
        field.press("Enter")
    expect(page.get_by_text("Calibration looks consistent.")).to_be_visible()
    # A look at another page in the same session keeps everything typed so far.
    sidebar = page.get_by_test_id("stSidebarNavItems")
    sidebar.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    sidebar.get_by_role("link", name="New analysis").click()
    expect(page.get_by_label("Team A name", exact=True)).to_have_value("Lightning")
    page.get_by_text("Court calibration (optional)").click()
    expect(page.get_by_label(CORNER_LABELS[3])).to_have_value(re.compile(r"\d"))
    expect(page.get_by_text("Calibration looks consistent.")).to_be_visible()
    page.locator("input[type=file]").first.set_input_files(str(clip.path))
    submit = page.get_by_role("button", name="Analyse 1 video")
    expect(submit).to_be_enabled()
    shoot(page, "02-new-analysis")
    submit.click()
    queued = page.get_by_text(re.compile(r"Queued .*league-round-3\.mp4"))
    expect(queued).to_be_visible(timeout=60_000)
    job_id = re.search(r"as job (\w+)", queued.inner_text()).group(1)
    return job_id


def jobs_step(page: Page, product: str) -> None:
    page.goto(f"{product}/jobs")
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    expect(page.get_by_role("heading", name="league-round-3.mp4")).to_be_visible()
    page.wait_for_timeout(500)  # the table is drawn on a canvas after the text appears
    shoot(page, "03-jobs-in-progress")
    # The live fragment refreshes the status without a page reload.
    expect(page.get_by_text("Open results")).to_be_visible(timeout=JOB_TIMEOUT_S * 1000)
    expect(page.get_by_text("1 job; live")).to_be_visible()  # the refused upload made none
    shoot(page, "04-jobs-completed")


def results_step(page: Page, product: str, job_id: str, tmp_path: Path) -> None:
    page.goto(f"{product}/results?job={job_id}")
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    video = page.locator("video").first
    expect(video).to_be_attached(timeout=60_000)
    playback = page.evaluate(
        """async () => {
            const v = document.querySelector('video');
            v.muted = true;
            if (v.readyState < 2) {
                await new Promise((resolve, reject) => {
                    v.addEventListener('loadeddata', resolve, {once: true});
                    v.addEventListener('error', () => reject(new Error(
                        'video error ' + (v.error && v.error.code))), {once: true});
                    setTimeout(resolve, 30000);
                });
            }
            await v.play();
            // Poll rather than sleep: on a loaded CI machine the first frame can be slow.
            await new Promise(resolve => {
                const deadline = Date.now() + 20000;
                const check = () => (v.currentTime > 0 || Date.now() > deadline)
                    ? resolve() : setTimeout(check, 100);
                check();
            });
            return {readyState: v.readyState, duration: v.duration,
                    currentTime: v.currentTime, width: v.videoWidth};
        }"""
    )
    assert playback["readyState"] >= 2, playback
    assert playback["duration"] > 0, playback
    assert playback["currentTime"] > 0, playback
    assert playback["width"] == 640, playback

    heatmaps = open_tab(page, "Heatmaps", "Positions in metres on the court.")
    expect(heatmaps.locator(".js-plotly-plot").first).to_be_visible()
    page.wait_for_timeout(500)
    heatmaps_shot = shoot(page, "05-results-heatmaps")
    if os.environ.get("COURTSIDE_UPDATE_SCREENSHOT") == "1":
        save_readme_screenshot(heatmaps_shot)
    open_tab(page, "Tracks & ball", "Player tracks")
    shoot(page, "05b-results-tracks")
    possession = open_tab(page, "Possession")
    expect(possession.locator(".js-plotly-plot").first).to_be_visible()
    assert page.locator(".js-plotly-plot").count() >= 3
    shoot(page, "06-results-possession")

    open_tab(page, "Statistics", "Teams · Whole match")
    shoot(page, "06a-results-statistics")
    open_tab(page, "Passes")
    shoot(page, "06c-results-passes")
    open_tab(page, "Events", re.compile(r"\d+ of \d+ events"))
    shoot(page, "06b-results-events")
    open_tab(page, "Match set-up", "Quarters")
    shoot(page, "06d-results-setup")

    open_tab(page, "Downloads")
    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name=re.compile(r"Download all \(ZIP")).click()
    archive = tmp_path / "download.zip"
    download_info.value.save_as(archive)
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert zipped.testzip() is None
    assert names >= EXPECTED_IN_ZIP, names
    shoot(page, "07-results-downloads")

    open_tab(page, "Video")
    page.evaluate("document.querySelector('video').pause()")
    shoot(page, "08-results-video")

    page.get_by_text("Analysis details (settings, timings, counts, versions)").click()
    # The table is drawn on a canvas; its cells' text lives in a hidden grid for screen readers.
    cell = page.get_by_role("gridcell", name="Detector computed in", include_hidden=True)
    expect(cell.first).to_be_attached()
    page.wait_for_timeout(500)
    shoot(page, "08c-results-details")
    open_tab(page, "Timings")
    stage = page.get_by_role("gridcell", name="Learning the ball's colour", include_hidden=True)
    expect(stage.first).to_be_attached()
    page.wait_for_timeout(500)
    shoot(page, "08d-results-timings")

    # The names typed before the run may sit on the wrong shirts: one click swaps them.
    page.get_by_text("Team names and shirt colours").click()
    page.get_by_role("button", name="Swap names: Firebirds ↔ Lightning").click()
    expect(page.get_by_role("button", name="Swap names: Lightning ↔ Firebirds")).to_be_visible()
    shoot(page, "08b-results-team-names")


def admin_and_overview_step(page: Page, product: str) -> None:
    page.goto(f"{product}/admin")
    expect(page.get_by_role("tab", name="Storage")).to_be_visible()
    alive = page.get_by_test_id("stMetric").filter(has_text="Workers alive")
    expect(alive.get_by_test_id("stMetricValue")).to_have_text("1")  # the test's one worker
    expect(alive.get_by_text("of 1 registered")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()  # the throughput chart
    shoot(page, "09-admin")
    open_tab(page, "Storage", "By kind of file")
    shoot(page, "09b-admin-storage")

    page.goto(product)
    expect(page.get_by_text("Recent jobs")).to_be_visible()
    shoot(page, "10-overview")
