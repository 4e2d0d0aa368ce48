"""Hostile names and damaged outputs on the pages: markup in a name shows as typed (never
rendered), and an output changed behind the system's back is named with how it changed."""

from __future__ import annotations

import os

from tests.dashboard.apptest import open_page, shown
from tests.dashboard.factories import complete, fail, sample_track_rows, submit_clip
from tests.platform.test_hostile_input import MARKUP_NAME

# Elements whose text Streamlit renders as Markdown.
MARKDOWN_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success", "title",
                     "header", "subheader")  # fmt: skip
MARKUP_PIECES = ("**bold**", "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>")


def markdown_sources(app) -> list[str]:
    return [element.value for kind in MARKDOWN_ELEMENTS for element in getattr(app, kind)]


def assert_markup_shown_as_typed(app) -> None:
    sources = [s for s in markdown_sources(app) if "bold" in s]
    assert sources, "the name is not shown at all"
    for source in sources:
        for piece in MARKUP_PIECES:
            assert piece not in source, f"rendered as markup: {source!r}"
    assert any(MARKUP_NAME in shown(source) for source in sources)


def test_a_markup_name_is_shown_as_typed_on_jobs_and_results(data_dir, tmp_path):
    failed = submit_clip(tmp_path, MARKUP_NAME)
    fail(failed, f"{MARKUP_NAME} could not be decoded")
    jobs = open_page("jobs.py")
    assert not jobs.exception
    assert_markup_shown_as_typed(jobs)
    results = open_page("results.py", job=failed)
    assert not results.exception
    assert_markup_shown_as_typed(results)


def test_results_page_names_each_damaged_output_and_how(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete(job_id, tracks=sample_track_rows())
    tracks = outputs / "tracks.csv"
    data = bytearray(tracks.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")  # same size, other content
    tracks.write_bytes(bytes(data))
    (outputs / "run.log").write_text("analysis finished\nand edited\n")
    os.unlink(outputs / "summary.json")
    app = open_page("results.py", job=job_id)
    assert not app.exception
    warnings = [shown(w.value) for w in app.warning]
    expected = {
        "outputs/tracks.csv": "sha256 changed (registered ",
        "outputs/run.log": "size changed (registered 18 bytes, now 29 bytes)",
        "outputs/summary.json": "missing",
    }
    for relpath, how in expected.items():
        assert any(f"{relpath} of job {job_id}: {how}" in w for w in warnings), (relpath, warnings)
