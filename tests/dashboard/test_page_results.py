"""The Results page: summary, charts, events, downloads, job choice, empty states.

Each runs the real app under AppTest on jobs made through the services.
"""

from __future__ import annotations

import json

from backend.db import session_scope
from backend.services import jobs as job_service
from dashboard.components import charts
from dashboard.components.results_view import player_key
from tests.dashboard.apptest import open_page, texts
from tests.dashboard.factories import (
    complete,
    complete_analysed,
    fail,
    sample_track_rows,
    start,
    submit_clip,
)
from tests.synthetic import make_plain_clip


def events_table(app):
    """The events table (other tables and editors share the page)."""
    return next(d.value for d in app.dataframe if "Event" in d.value.columns)


def test_results_empty_state(data_dir):
    app = open_page("results.py")
    assert any("No analyses yet" in text for text in texts(app, "info"))


def test_results_of_a_completed_job(data_dir, tmp_path):
    video = make_plain_clip(tmp_path / "annotated-source.mp4", frames=6)
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id, video_source=video)
    app = open_page("results.py", job=job_id)
    assert not app.exception
    assert not app.error
    summary = json.loads((outputs / "summary.json").read_text())
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Resolution"] == "660×345"
    assert metrics["Team A possession"] == f"{summary['possession']['A']:.0%}"
    assert len(app.get("video")) == 1
    # The statistics sheets: teams by statistic, one row per player track.
    team_sheet = app.dataframe[0].value
    assert list(team_sheet.columns) == ["Statistic", "Team A", "Team B"]
    passes = team_sheet.set_index("Statistic").loc["Passes completed"]
    assert (passes["Team A"], passes["Team B"]) == ("1", "0")
    players = app.dataframe[1].value
    assert list(players["Player"]) == [1, 2, 3] and "None" not in players.to_string()
    downloads = app.get("download_button")
    assert downloads[0].proto.label.startswith("Download all (ZIP")
    files = {p.name for p in outputs.iterdir() if p.is_file()}
    assert {"players.csv", "teams.csv", "timeline.xml", "heatmap_A.png"} <= files
    assert len(downloads) == 1 + len(files)


def test_results_events_table_of_an_analysed_job(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    events = json.loads((outputs / "events.json").read_text())["events"]
    app = open_page("results.py", job=job_id)
    table = events_table(app)
    assert len(table) == len(events)
    app.multiselect(key="results_event_types").set_value(["pass"]).run()
    table = events_table(app)
    assert list(table["Event"]) == ["pass", "pass"]
    assert set(table["Team"]) == {"Team A"}
    assert f"2 of {len(events)} events" in texts(app, "caption")


EVENTS_CSV = """frame,time_s,type,team,track_id,to_track_id,court_x,court_y
5,0.2,pass,A,1,3,6.0,7.0
25,1.0,possession_change,B,2,,20.0,8.0
30,1.2,pass,B,2,4,20.0,8.0
40,1.6,pass,B,4,2,18.0,9.0
"""


def test_results_events_filter_and_player_heatmap(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows(), events_csv=EVENTS_CSV)
    app = open_page("results.py", job=job_id)
    assert len(events_table(app)) == 4
    app.multiselect(key="results_event_types").set_value(["pass"]).run()
    assert len(events_table(app)) == 3
    app.multiselect(key="results_event_teams").set_value(["B"]).run()
    shown = events_table(app)
    assert list(shown["Time (s)"]) == [1.2, 1.6]
    assert list(shown["Other player"]) == [4, 2]  # each pass's catcher
    assert "2 of 4 events" in texts(app, "caption")
    player = app.selectbox(key=player_key(job_id))
    assert player.options == [
        "Player 1 · Team A · 2 s on court",
        "Player 2 · Team B · 2 s on court",
    ]
    player.set_value(2).run()
    assert not app.exception


def test_results_switch_between_jobs(data_dir, tmp_path):
    first = submit_clip(tmp_path, "first.mp4")
    complete(first, tracks=sample_track_rows())
    second = submit_clip(tmp_path, "second.mp4")
    fail(second, "no people found")
    app = open_page("results.py")
    chooser = app.selectbox[0]
    assert chooser.value == first  # the newest completed job by default
    chooser.set_value(second).run()
    assert app.query_params["job"] in (second, [second])
    assert "This analysis failed: no people found" in texts(app, "error")
    app.run()
    assert app.selectbox[0].value == second


def test_results_rename_teams(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    complete_analysed(job_id)
    app = open_page("results.py", job=job_id)
    app.text_input[0].input("Lightning")
    app.text_input[1].input("Firebirds")
    [save] = [button for button in app.button if button.label == "Save names"]
    save.click().run()
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
    assert job.settings["team_names"] == {"A": "Lightning", "B": "Firebirds"}
    assert {metric.label for metric in app.metric} >= {"Lightning possession"}


def test_results_without_tracks_or_video_still_offer_the_files(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "old-version.mp4")
    complete(job_id, summary={})
    app = open_page("results.py", job=job_id)
    assert not app.exception
    infos = " ".join(texts(app, "info"))
    assert "no annotated video" in infos
    assert "no tracking data" in infos
    assert len(app.get("download_button")) == 1 + 2  # ZIP, run.log, summary.json


def test_results_of_a_running_job_show_progress(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "live.mp4")
    start(job_id, frames_done=10, frames_total=40, fps=5.0)
    app = open_page("results.py", job=job_id)
    assert any("not finished yet" in text for text in texts(app, "info"))
    assert app.get("progress")[0].value == 25  # percent


def test_results_of_an_unknown_job_say_so(data_dir, tmp_path):
    submit_clip(tmp_path, "real.mp4")
    app = open_page("results.py", job="doesnotexist")
    assert not app.exception
    assert "job not found: 'doesnotexist'" in texts(app, "error")


def test_results_swap_team_names_in_one_click(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows())
    with session_scope() as session:
        job_service.update_job_labels(
            session=session, job_id=job_id, team_names={"A": "Lightning", "B": "Firebirds"}
        )
    app = open_page("results.py", job=job_id)
    # Each name sits beside its team's shirt colour from summary.json.
    swatches = [text for text in texts(app, "markdown") if "shirts" in text]
    assert swatches == [
        '<span style="color:#dd2222">■</span> **Team A** shirts',
        '<span style="color:#2255dd">■</span> **Team B** shirts',
    ]
    swap = app.button(key="results_swap_names")
    assert swap.label == "Swap names: Firebirds ↔ Lightning"
    swap.click().run()
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
    assert job.settings["team_names"] == {"A": "Firebirds", "B": "Lightning"}
    assert [text_input.value for text_input in app.text_input[:2]] == ["Firebirds", "Lightning"]
    assert any("Swapped: Firebirds is now Team A" in toast.value for toast in app.toast)
    app.button(key="results_swap_names").click().run()
    with session_scope() as session:
        job = job_service.get_job(session=session, job_id=job_id)
    assert job.settings["team_names"] == {"A": "Lightning", "B": "Firebirds"}


def test_results_filters_start_afresh_for_another_job(data_dir, tmp_path):
    first = submit_clip(tmp_path, "first.mp4")
    complete(first, tracks=sample_track_rows(), events_csv=EVENTS_CSV)
    renumbered = [
        {**row, "track_id": row["track_id"] + 10} if row["class"] == "player" else row
        for row in sample_track_rows()
    ]
    second = submit_clip(tmp_path, "second.mp4")
    complete(second, tracks=renumbered, events_csv="frame,time_s,type,team\n5,0.2,intercept,A\n")
    app = open_page("results.py", job=first)
    app.selectbox(key=player_key(first)).set_value(2).run()
    app.multiselect(key="results_event_types").set_value(["possession_change"]).run()
    assert len(events_table(app)) == 1
    app.selectbox(key="results_job").set_value(second).run()
    assert app.multiselect(key="results_event_types").value == ["intercept"]
    assert len(events_table(app)) == 1
    assert app.selectbox(key=player_key(second)).value == 11
    app.selectbox(key="results_job").set_value(first).run()
    assert app.multiselect(key="results_event_types").value == ["pass", "possession_change"]
    assert len(events_table(app)) == 4


def test_results_waiting_for_a_job_deleted_meanwhile_says_so(data_dir, tmp_path, monkeypatch):
    job_id = submit_clip(tmp_path, "live.mp4")
    real_get_job = job_service.get_job
    reads = []

    def get_job_then_delete(*, session, job_id):
        # The page reads the job, then the progress part reads it again: delete in between,
        # as a second browser tab on the Jobs page would.
        reads.append(job_id)
        if len(reads) == 2:
            job_service.delete_job(session=session, job_id=job_id)
        return real_get_job(session=session, job_id=job_id)

    monkeypatch.setattr(job_service, "get_job", get_job_then_delete)
    app = open_page("results.py", job=job_id)
    assert not app.exception
    assert f"job not found: '{job_id}'" in texts(app, "error")


def test_results_a_failing_chart_part_says_so_and_the_rest_still_shows(
    data_dir, tmp_path, monkeypatch
):
    job_id = submit_clip(tmp_path, "final.mp4")
    complete(job_id, tracks=sample_track_rows(), events_csv=EVENTS_CSV)

    def broken_heatmap(*args, **kwargs):
        raise ValueError("bins must be positive")

    monkeypatch.setattr(charts, "heatmap_figure", broken_heatmap)
    app = open_page("results.py", job=job_id)
    assert not app.exception
    assert any(
        text.startswith("Drawing the heatmaps failed unexpectedly: bins must be positive")
        for text in texts(app, "error")
    )
    assert len(events_table(app)) == 4  # the events part is unaffected


def _player_selector(app):
    [selector] = [box for box in app.selectbox if box.label == "Player heatmap"]
    return selector


def test_the_player_selector_is_a_new_widget_for_another_job(data_dir, tmp_path):
    """The browser keeps a keyed widget's own label: with one key for all jobs it went on
    showing the previous job's "Player 2 · Team B · ..." over the other job's player 2."""
    first = submit_clip(tmp_path, "first.mp4")
    complete(first, tracks=sample_track_rows())
    # The same track ids in the other job, with their teams the other way round.
    swapped = [{**row, "team": {"A": "B", "B": "A"}.get(row["team"], "")}
               for row in sample_track_rows()]  # fmt: skip
    second = submit_clip(tmp_path, "second.mp4")
    complete(second, tracks=swapped)
    app = open_page("results.py", job=first)
    _player_selector(app).set_value(2).run()
    before = _player_selector(app)
    assert before.value == 2 and "Player 2 · Team B" in before.proto.options[1]
    app.selectbox(key="results_job").set_value(second).run()
    after = _player_selector(app)
    assert after.id != before.id
    assert after.value == 1
    assert after.options[0].startswith("Player 1 · Team B")


def test_a_rerun_still_carrying_the_old_link_does_not_undo_a_choice(data_dir, tmp_path):
    first = submit_clip(tmp_path, "first.mp4")
    complete(first, tracks=sample_track_rows())
    second = submit_clip(tmp_path, "second.mp4")
    complete(second, tracks=sample_track_rows())
    app = open_page("results.py", job=first)
    assert app.selectbox(key="results_job").value == first
    app.selectbox(key="results_job").set_value(second).run()
    assert app.query_params["job"] in (second, [second])
    # A rerun request sent before the browser saw the new link (a fragment's timer, a quick
    # second click) still carries ?job=<first>.
    app.query_params["job"] = first
    app.run()
    assert app.selectbox(key="results_job").value == second
    assert app.query_params["job"] in (second, [second])
    # Arriving from another page with a link still opens the linked job.
    app.switch_page("dashboard/pages/jobs.py").run()
    app.switch_page("dashboard/pages/results.py")
    app.query_params["job"] = first
    app.run()
    assert app.selectbox(key="results_job").value == first


WARNED_SUMMARY = {
    "video": {"width": 720, "height": 1280, "fps": 30.0, "frames_total": 240},
    "settings": {"imgsz": 480, "frame_stride": 3, "device": "cpu", "ball_gap_fill_max_s": 0.5},
    "model": {"weights": "yolov8n.pt", "path": "/x/yolov8n.pt", "backend": "pytorch",
              "device": "cpu", "fallback_reason": "device cuda:0 was asked for but torch sees "
              "no CUDA GPU here", "main_pass_imgsz": 704},
    "timings": {"model_load_s": 0.8, "team_fit_s": 6.2, "main_pass_s": 8.6, "finalize_s": 1.1,
                "total_s": 16.9, "processing_fps": 27.9},
    "counts": {"frames": 240, "ball_frames_detected": 19, "ball_frames_interpolated": 74,
               "players_by_team": {"A": 1, "B": 1, "other": 0, "": 0}},
    "versions": {"courtside": "0.1.0", "ultralytics": "8.3.0"},
    "teams": [{"label": "A", "name": "Team A", "color": "#2255dd", "players": 1},
              {"label": "B", "name": "Team B", "color": "#2266ee", "players": 1}],
    "warnings": ["The ball was placed on only 93 of 240 frames.",
                 "The video is portrait (720×1280)."],
}  # fmt: skip


def test_warnings_lead_the_page_and_details_are_labelled_tables(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "portrait.mp4")
    complete(job_id, tracks=sample_track_rows(calibrated=False), summary=WARNED_SUMMARY)
    app = open_page("results.py", job=job_id)
    assert not app.exception
    assert [w.value for w in app.warning][:2] == WARNED_SUMMARY["warnings"]
    tables = {}
    for frame in app.dataframe:
        table = frame.value
        if list(table.columns) == ["", "Value"]:
            tables.update(dict(zip(table[""], table["Value"], strict=True)))
    assert tables["Detector input size (px)"] == "480"
    assert tables["Model weights"] == "yolov8n.pt"
    assert tables["Detector input of the main pass (px)"] == (
        "704 (raised from 480: the players looked small)"
    )
    assert tables["Detector ran on"] == "PyTorch, cpu"
    assert tables["Why not as asked"].startswith("device cuda:0 was asked for")
    assert tables["Loading the detector"] == "0.8 s"
    assert tables["Analysing the frames"] == "8.6 s"
    assert tables["Processing speed"] == "27.9 frames per second"
    assert tables["Frames with the ball detected"] == "19"
    assert tables["Players of Team A"] == "1"
    assert tables["Ultralytics"] == "8.3.0"
    assert len(app.get("json")) == 1  # the raw summary, one tab away
