"""The Overview page: health, counts, recent jobs, empty state.

Each runs the real app under AppTest on jobs made through the services.
"""

from __future__ import annotations

from tests.dashboard.apptest import open_page, texts
from tests.dashboard.factories import fail, submit_clip


def test_overview_empty_state_says_how_to_start(data_dir):
    app = open_page("overview.py")
    assert not app.exception
    assert any("No analyses yet" in text for text in texts(app, "info"))
    assert app.get("plotly_chart") == []


def test_overview_counts_jobs_by_status_and_lists_recent(data_dir, tmp_path):
    queued = submit_clip(tmp_path, "queued.mp4")
    failed = submit_clip(tmp_path, "failed.mp4")
    fail(failed, "decoder crashed")
    app = open_page("overview.py")
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Queued"] == "1"
    assert metrics["Failed"] == "1"
    assert metrics["Completed"] == "0"
    table = app.dataframe[0].value
    assert set(table["Job ID"]) == {queued, failed}
    assert len(app.get("plotly_chart")) == 2
    # Health tiles name every check; with no worker running the page says what to do.
    markdown = " ".join(texts(app, "markdown"))
    for check in ("database", "queue", "workers", "model", "disk"):
        assert check in markdown.lower()
    # A job waits and no worker runs: the page says so and what to do, as an error.
    assert any("start the worker" in text for text in texts(app, "error"))


def test_the_model_card_shows_name_size_and_verified_hash_with_the_path_in_a_tooltip(data_dir):
    from backend.pipeline.model import DEFAULT_WEIGHTS_SHA256, default_weights_path

    app = open_page("overview.py")
    [title] = [m for m in app.markdown if m.value.endswith("**model**")]
    path = str(default_weights_path())
    assert title.proto.help == f"Weights file: {path}"
    [card] = [c.value for c in app.caption if "yolov8n.pt" in c.value]
    size_mb = default_weights_path().stat().st_size / 1024**2
    assert (
        card == f"`yolov8n.pt` · {size_mb:.1f} MB · sha256 verified `{DEFAULT_WEIGHTS_SHA256[:12]}`"
    )
    assert path not in " ".join(texts(app, "caption") + texts(app, "markdown"))
