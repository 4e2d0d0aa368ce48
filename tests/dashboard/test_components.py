"""Pure dashboard pieces: formatting, tracks parsing, possession estimate, court and charts."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.components import analysis, charts, court, outputs
from dashboard.components.formatting import human_bytes, human_duration, progress_line
from tests.dashboard.factories import (
    SAMPLE_FPS,
    SAMPLE_FRAMES,
    sample_track_rows,
    write_tracks_csv,
)


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "–"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"), (5 * 1024**3, "5.0 GB")],
)
def test_human_bytes(size, text):
    assert human_bytes(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (-1, "–"), (0, "0 s"), (59.4, "59 s"), (127, "2 min 07 s"), (3720, "1 h 02 min")],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("done", "total", "fps", "eta", "text"),
    [
        (0, None, None, None, "waiting for the first frames"),
        (1200, 3000, 14.25, 127, "1,200 / 3,000 frames · 14.2 fps · about 2 min 07 s left"),
        (40, None, 8.0, None, "40 frames · 8.0 fps"),
    ],
)
def test_progress_line(done, total, fps, eta, text):
    assert progress_line(frames_done=done, frames_total=total, fps=fps, eta_s=eta) == text


def parsed(rows: list[dict], folder: Path) -> pd.DataFrame:
    """Rows as the dashboard sees them: written to CSV and read back by the real parser."""
    return outputs.read_tracks_csv(write_tracks_csv(folder / "tracks.csv", rows))


@pytest.fixture
def tracks_file(tmp_path: Path) -> Path:
    return write_tracks_csv(tmp_path / "tracks.csv", sample_track_rows())


def test_read_tracks_parses_every_row(tracks_file):
    tracks = outputs.read_tracks_csv(tracks_file)
    assert len(tracks) == SAMPLE_FRAMES * 3
    assert set(tracks["class"]) == {"player", "ball"}
    assert tracks["court_x"].notna().all()


def test_read_tracks_fills_optional_columns(tmp_path):
    path = tmp_path / "tracks.csv"
    path.write_text("frame,track_id,class,x1,y1,x2,y2\n0,1,player,10,10,20,50\n")
    tracks = outputs.read_tracks_csv(path)
    assert tracks["court_x"].isna().all()
    assert analysis.choose_space(tracks) == "image"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "tracks.csv is empty"),
        ("frame,track_id,x1\n1,2,3\n", "lacks the column(s) class, y1, x2, y2"),
    ],
)
def test_read_tracks_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "tracks.csv"
    path.write_text(content)
    with pytest.raises(outputs.OutputFormatError, match=re.escape(message)):
        outputs.read_tracks_csv(path)


def test_load_job_outputs_sees_a_rewritten_file(tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    path = write_tracks_csv(folder / "tracks.csv", sample_track_rows()[:3])
    assert len(outputs.load_job_outputs(folder).tracks) == 3
    write_tracks_csv(path, sample_track_rows()[:6])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert len(outputs.load_job_outputs(folder).tracks) == 6


def test_load_job_outputs_reports_broken_files_and_keeps_the_rest(tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "summary.json").write_text("{not json")
    write_tracks_csv(folder / "tracks.csv", sample_track_rows())
    loaded = outputs.load_job_outputs(folder)
    assert loaded.tracks is not None
    assert loaded.summary == {}
    assert any("summary.json is not valid JSON" in problem for problem in loaded.problems)


def test_court_has_outline_thirds_goal_circles_and_centre_circle():
    shapes = court.court_shapes()
    assert [shape["type"] for shape in shapes] == ["rect", "line", "line", "path", "path", "circle"]
    thirds = [shape["x0"] for shape in shapes if shape["type"] == "line"]
    assert thirds == pytest.approx([30.5 / 3, 2 * 30.5 / 3])
    for shape, goal_x in zip(shapes[3:5], (0.0, 30.5), strict=True):
        points = [tuple(map(float, p.split(","))) for p in shape["path"][2:].split(" L ")]
        radii = [math.hypot(x - goal_x, y - 15.25 / 2) for x, y in points]
        assert radii == pytest.approx([4.9] * len(points), abs=1e-3)
        assert all(0 <= x <= 30.5 for x, _ in points)
    centre = shapes[-1]
    assert centre["x1"] - centre["x0"] == pytest.approx(0.9)


def test_heatmap_cells_add_up_to_time_on_court(tmp_path):
    tracks = parsed(sample_track_rows(), tmp_path)
    points = analysis.positions(tracks, "court")
    people = analysis.players(points)
    team_a = people[people["team"] == "A"]
    frame = analysis.drawing_frame(tracks, "court", {})
    figure = charts.heatmap_figure(
        team_a, frame, title="A", colour="#ff0000", seconds_per_row=1 / SAMPLE_FPS
    )
    z = np.array(figure.data[0].z, dtype=float)
    assert np.nansum(z) == pytest.approx(SAMPLE_FRAMES / SAMPLE_FPS)
    assert z.shape == (16, 31)  # 1 m cells over 15.25 x 30.5 m


def test_tracks_figure_has_one_line_per_player_and_one_legend_entry_per_team(tmp_path):
    tracks = parsed(sample_track_rows(), tmp_path)
    points = analysis.positions(tracks, "court")
    styles = charts.team_styles({}, {"A": "Lightning"})
    figure = charts.tracks_figure(
        points, analysis.drawing_frame(tracks, "court", {}), styles, title="t"
    )
    assert [trace.name for trace in figure.data] == ["Lightning", "Team B"]
    assert len(figure.data[0].x) == SAMPLE_FRAMES


def test_thin_frames_keeps_whole_frames(tmp_path):
    tracks = parsed(sample_track_rows(), tmp_path)
    thinned = charts.thin_frames(tracks, max_points=30)
    assert len(thinned) <= 30 * 1.2
    assert thinned.groupby("frame").size().eq(3).all()


def test_team_styles_prefer_analyst_names_and_summary_colours():
    summary = {"teams": [{"label": "A", "name": "Red", "colour": "#aa0000"}]}
    styles = charts.team_styles(summary, {"A": "Lightning", "B": ""})
    assert styles["A"] == charts.TeamStyle("A", "Lightning", "#aa0000")
    assert styles["B"].name == "Team B"


def test_throughput_figure_shows_failure_rate():
    series = [
        {"hour": "2026-11-25T10:00:00Z", "completed": 3, "failed": 1},
        {"hour": "2026-11-25T11:00:00Z", "completed": 0, "failed": 0},
    ]
    figure = charts.throughput_figure(series)
    rate = list(figure.data[2].y)
    assert rate[0] == 25.0
    assert math.isnan(rate[1])  # no finished jobs: no rate, not 0 %


CORNERS_PX = ["90, 108", "550, 108", "634, 342", "6, 342"]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["90, 108", "", "", ""], "Give all four corners or none; missing: Far right corner"),
        (["90 108", "550, 108", "634, 342", "6, 342"], "Far left corner: expected two pixel"),
        (["90, -1", "550, 108", "634, 342", "6, 342"], "cannot be negative"),
        (["550, 108", "90, 108", "6, 342", "634, 342"], "mirrors the court"),
    ],
)
def test_calibration_input_says_what_is_wrong(texts, message):
    from backend.services.errors import InvalidArgument
    from dashboard.components.analysis_form import build_calibration

    with pytest.raises(InvalidArgument, match=message):
        build_calibration(texts)


@pytest.mark.parametrize("calibrated", [True, False])
def test_space_follows_the_calibration(calibrated, tmp_path):
    tracks = parsed(sample_track_rows(calibrated=calibrated), tmp_path)
    assert analysis.choose_space(tracks) == ("court" if calibrated else "image")


def test_possession_timeline_comes_from_stage_two_spells(tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "possession.csv").write_text(
        "start_frame,end_frame,start_s,end_s,period,team,track_id\n"
        "0,24,0.0,1.0,1,A,1\n30,49,1.2,2.0,1,B,2\n"
    )
    segments = outputs.load_job_outputs(folder).possession()
    assert list(segments["team"]) == ["A", "B"]
    assert list(segments["duration_s"]) == pytest.approx([1.0, 0.8])


def test_calibration_from_four_corners():
    from dashboard.components.analysis_form import build_calibration

    assert build_calibration(["", " ", "", ""]) is None
    calibration = build_calibration(CORNERS_PX)
    assert calibration["image_points"][2] == [634.0, 342.0]
    assert calibration["court_points_m"] == [[0.0, 0.0], [30.5, 0.0], [30.5, 15.25], [0.0, 15.25]]


@pytest.mark.parametrize(
    ("colour", "alpha", "expected"),
    [("#ff8000", 0.2, "rgba(255,128,0,0.2)"), ("red", 0.5, "red"), ("#zzzzzz", 0.5, "#zzzzzz")],
)
def test_with_alpha(colour, alpha, expected):
    assert charts.with_alpha(colour, alpha) == expected


def test_player_sheet_shows_current_team_names_labels_and_blanks():
    from dashboard.components.stat_tables import player_sheet

    players = pd.DataFrame(
        {
            "track_id": [1, 2, 3],
            "team": ["A", "B", "other"],
            "team_name": ["Red", "Blue", "Ref"],
            "position": ["GS", None, None],
            "position_source": ["suggested", "none", "none"],
            "distance_m": [12.5, None, 3.0],
            "shootingPct": [None, None, None],
        }
    )
    styles = charts.team_styles({}, {"A": "Lightning", "B": "Firebirds"})
    sheet = player_sheet(players, styles)
    assert list(sheet["Team"]) == ["Lightning", "Firebirds", "Ref"]
    assert list(sheet["Position"]) == ["GS (suggested)", "", ""]
    assert list(sheet["Distance (m)"]) == ["12.50", "", "3.00"]
    assert "None" not in sheet.astype(str).to_numpy().ravel().tolist()


@pytest.mark.parametrize(
    ("colour", "expected"),
    [
        ("#dd2222", '<span style="color:#dd2222">■</span> **Team A** shirts'),
        # Anything but #rrggbb from summary.json stays out of the HTML.
        ('red"><script>x</script>', "■ **Team A** shirts"),
        ("#dd22221", "■ **Team A** shirts"),
    ],
)
def test_team_swatch_embeds_only_hex_colours(colour, expected):
    from dashboard.components.results_view import team_swatch

    assert team_swatch(charts.TeamStyle("A", "Lightning", colour)) == expected


def test_events_on_court_one_trace_per_type_coloured_by_team():
    events = pd.DataFrame(
        {
            "time_s": [0.2, 1.0, 1.2],
            "type": ["pass", "possession_change", "pass"],
            "team": ["A", "B", "B"],
            "court_x": [6.0, 20.0, None],
            "court_y": [7.0, 8.0, 9.0],
        }
    )
    assert charts.has_court_positions(events)
    assert not charts.has_court_positions(events.drop(columns="court_x"))
    styles = charts.team_styles({}, {})
    figure = charts.events_on_court_figure(events, "type", styles)
    assert [trace.name for trace in figure.data] == ["pass", "possession_change"]
    assert list(figure.data[0].x) == [6.0]  # the pass without a court position is left out
    assert list(figure.data[1].marker.color) == [styles["B"].colour]


@pytest.mark.parametrize(("completed", "step"), [(1, 1), (10, 1), (40, None)])
def test_job_count_axes_tick_whole_jobs(completed, step):
    figure = charts.throughput_figure([{"hour": "h", "completed": completed, "failed": 0}])
    assert figure.layout.yaxis.dtick == step
    assert charts.status_counts_figure({"completed": completed}).layout.xaxis.dtick == step


@pytest.mark.parametrize(
    ("seconds_ago", "text"),
    [(None, "never"), (-3, "just now"), (1, "just now"), (75, "1 min 15 s ago")],
)
def test_time_ago(seconds_ago, text):
    from datetime import UTC, datetime, timedelta

    from dashboard.components.formatting import time_ago

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    moment = None if seconds_ago is None else now - timedelta(seconds=seconds_ago)
    assert time_ago(moment, now=now) == text


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (720, 1280, 700),  # portrait: as tall as a laptop screen allows, not a 380 px strip
        (1280, 720, 352),  # 520 * 720 / 1280 + 60
        (640, 640, 580),
        (1920, 480, 300),  # very wide: the minimum
    ],
)
def test_video_pixel_charts_take_their_height_from_the_frame(width, height, expected):
    from dashboard.components.court import image_figure

    figure = image_figure(width_px=width, height_px=height)
    assert figure.layout.height == expected
    assert image_figure(width_px=width, height_px=height, plot_height_px=380).layout.height == 380


def test_details_show_the_ball_colour_learnt_before_the_frames():
    from dashboard.components.details_view import count_rows, timing_rows

    summary = {
        "timings": {"team_fit_s": 1.04, "ball_colour_s": 0.83, "main_pass_s": 10.2},
        "counts": {"ball_colour_before_main_pass": True, "ball_colour_bursts_run": 3},
    }
    timings = dict(timing_rows(summary))
    assert timings["Learning the ball's colour"] == "0.8 s"
    assert list(timings)[:3] == [
        "Learning the team colours", "Learning the ball's colour", "Analysing the frames",
    ]  # fmt: skip
    counts = dict(count_rows(summary))
    assert counts["Ball colour known before the frames were analysed"] is True
    # An older summary has neither: the rows are simply not there.
    assert "Learning the ball's colour" not in dict(timing_rows({"timings": {"main_pass_s": 1}}))
