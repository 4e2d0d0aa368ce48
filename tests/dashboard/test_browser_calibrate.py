"""Calibrating after the run in a real headless Chromium: from Results to the Calibrate page,
four clicks on the frame, save, and the Results charts switch from pixels to metres
(screenshots in test-artifacts/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from backend.analytics.court import DEFAULT_COURT
from backend.db import session_scope
from backend.services.jobs import get_job
from tests.analytics.scenes import court_to_px
from tests.dashboard.apptest import PROJECT_ROOT
from tests.dashboard.test_browser_e2e import (
    CHROMIUM_ARGS,
    free_port,
    open_tab,
    shoot,
    stop,
    wait_for_health,
)
from tests.dashboard.test_page_calibrate import SCENE_FRAME_SIZE, _job_with_frame

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
CORNERS = ("far_left_corner", "far_right_corner", "near_right_corner", "near_left_corner")


@pytest.fixture
def dashboard(data_dir: Path, tmp_path: Path) -> Iterator[str]:
    """Streamlit alone (no worker: the job is finished already) over the test's data dir."""
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        ui = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "streamlit_app.py",
             "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, ui, log)
            yield url
        finally:
            stop(ui)


def test_four_clicks_on_the_frame_put_the_results_in_metres(dashboard):
    job_id = _job_with_frame()
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.set_default_timeout(30_000)
        try:
            page.goto(f"{dashboard}/results?job={job_id}")
            heatmaps = open_tab(page, "Heatmaps", "positions are in video pixels")
            expect(heatmaps.get_by_text("image x (px)").first).to_be_visible()
            page.get_by_text("Calibrate the court on the video").click()
            expect(page.get_by_text("0 of at least 4 landmarks clicked")).to_be_visible()
            image = page.frame_locator("iframe[title*='streamlit_image_coordinates']").locator(
                "img"
            )
            expect(image).to_be_visible()
            for done, name in enumerate(CORNERS, start=1):
                # The frame is shown as wide as its column: click where the landmark is shown.
                box = image.bounding_box()
                scale = box["width"] / SCENE_FRAME_SIZE[0]
                x, y = court_to_px([DEFAULT_COURT.landmarks_m()[name]])[0] * scale
                image.click(position={"x": float(x), "y": float(y)})
                if done < 4:
                    expect(
                        page.get_by_text(f"{done} of at least 4 landmarks clicked")
                    ).to_be_visible()
            expect(page.get_by_text("Calibration ok")).to_be_visible()
            expect(page.get_by_text("Players placed by this calibration")).to_be_visible()
            shoot(page, "calibrate-four-corners")
            page.get_by_role("button", name="Save calibration and reanalyse").click()
            expect(page.get_by_text("metres, zones and speeds now follow it")).to_be_visible()
            page.get_by_text("Back to the results").click()
            heatmaps = open_tab(page, "Heatmaps", "Positions in metres on the court.")
            expect(heatmaps.get_by_text("length (m)").first).to_be_visible()
            shoot(page, "calibrate-results-in-metres")
        except BaseException:
            shoot(page, "calibrate-failure")
            raise
        finally:
            browser.close()
    with session_scope() as session:
        saved = get_job(session=session, job_id=job_id).settings["calibration"]
    clicked = saved["landmarks"]
    assert list(clicked) == list(CORNERS)
    for name in CORNERS:
        truth = court_to_px([DEFAULT_COURT.landmarks_m()[name]])[0]
        # A click lands on a whole displayed pixel: within about one frame pixel.
        assert abs(clicked[name][0] - truth[0]) <= 3 and abs(clicked[name][1] - truth[1]) <= 3
