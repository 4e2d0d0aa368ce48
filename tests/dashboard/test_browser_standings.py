"""The Standings page in a real headless Chromium: a season imported through the CLI, the
ladder, the chart and the results grid drawn by the browser (screenshot in test-artifacts/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.dashboard.apptest import PROJECT_ROOT
from tests.dashboard.test_browser_e2e import CHROMIUM_ARGS, free_port, shoot, stop, wait_for_health
from tests.platform.test_standings import SEASON_CSV

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def cli(env: dict, *argv: str) -> None:
    subprocess.run([sys.executable, "-m", "backend", *argv], cwd=PROJECT_ROOT, env=env, check=True)


def test_standings_page_in_a_browser(tmp_path: Path):
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    env = {**os.environ, "NETBALL_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    for name in (
        "DATABASE_URL",
        "NETBALL_QUEUE_PATH",
        "NETBALL_INBOX_DIR",
        "NETBALL_ADMIN_PASSWORD",
    ):
        env.pop(name, None)
    season = tmp_path / "season.csv"
    season.write_text(SEASON_CSV)
    cli(
        env,
        "competition",
        "create",
        "Made-up League",
        "--win-points",
        "4",
        "--draw-points",
        "2",
        "--quarter-win-points",
        "1",
    )
    cli(env, "competition", "import", "Made-up League", str(season))
    cli(
        env,
        "competition",
        "adjust",
        "Made-up League",
        "--team",
        "Swifts",
        "--points",
        "-4",
        "--reason",
        "salary cap breach",
    )
    port, log = free_port(), tmp_path / "streamlit.log"
    with log.open("w") as out:
        ui = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "streamlit"),
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
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, ui, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1300, "height": 2300})
            page.goto(f"{url}/standings")
            expect(page.get_by_text("salary cap breach", exact=False)).to_be_visible(timeout=30_000)
            expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
            expect(page.get_by_text("Points by round")).to_be_visible()
            shoot(page, "standings")
            browser.close()
    finally:
        stop(ui)
