"""Results' netball sections on a job whose stage 2 really ran: statistics, match set-up,
pass network, shots and the events editor, each changing what the stage writes."""

from __future__ import annotations

import csv
import json

from backend.db import session_scope
from backend.services import analysis
from dashboard.components.event_editor import editor_table, rows_from_table
from tests.dashboard.apptest import open_page, texts
from tests.dashboard.factories import complete_analysed, submit_clip


def _players(outputs) -> dict[int, dict]:
    with (outputs / "players.csv").open(newline="") as handle:
        return {int(r["track_id"]): r for r in csv.DictReader(handle)}


def test_positions_set_on_the_page_reach_the_statistics(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    app = open_page("results.py", job=job_id)
    app.selectbox(key=f"results_analytics_pos_{job_id}_1").set_value("GA")
    app.selectbox(key=f"results_analytics_pos_{job_id}_3").set_value("GD")
    app.radio[0].set_value("right")
    [save] = [b for b in app.button if b.label == "Save and recompute statistics"]
    save.click().run()
    assert not app.exception
    players = _players(outputs)
    assert (players[1]["position"], players[1]["position_source"]) == ("GA", "analyst")
    assert players[3]["position"] == "GD"
    summary = json.loads((outputs / "summary.json").read_text())
    assert summary["analytics"]["direction_source"] == "analyst"
    assert any("Match set-up saved" in toast.value for toast in app.toast)
    sheet = next(d.value for d in app.dataframe if "Position" in d.value.columns)
    assert list(sheet["Position"])[:1] == ["GA"]


def test_quarters_entered_split_the_team_sheet(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    with session_scope() as session:
        analysis.update_inputs(
            session=session,
            job_id=job_id,
            periods=[{"start_s": 0.0, "end_s": 4.0}, {"start_s": 4.0, "end_s": 8.0}],
        )
        analysis.reanalyse_job(session=session, job_id=job_id)
    app = open_page("results.py", job=job_id)
    assert app.get("button_group")[0].proto.options  # the period picker
    with (outputs / "teams.csv").open(newline="") as handle:
        periods = {row["period"] for row in csv.DictReader(handle)}
    assert periods == {"all", "1", "2"}


def test_event_editor_round_trip_deletes_and_adds(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    events = json.loads((outputs / "events.json").read_text())["events"]
    table = editor_table(events)
    first_pass = table.index[table["type"] == "pass"][0]
    table = table.drop(index=first_pass)
    table.loc[len(table) + 10] = [None, 6.0, "shot", "B", 3, None, "goal", None]
    with session_scope() as session:
        result = analysis.save_event_edits(
            session=session, job_id=job_id, rows=rows_from_table(table)
        )
    assert result.analytics["score"]["B"]["total"] == 1
    assert int(_players(outputs)[1]["passes"]) == 0
    document = json.loads((outputs / "events.json").read_text())
    added = [e for e in document["events"] if e["source"] == "analyst"]
    assert [(e["type"], e["track_id"], e["outcome"]) for e in added] == [("shot", 3, "goal")]
    app = open_page("results.py", job=job_id)
    assert not app.exception
    goals = {m.label: m.value for m in app.metric}
    assert goals["Team B goals"] == "1"
    # Saving the same table again stores the same corrections.
    before = document["corrections"]
    with session_scope() as session:
        analysis.save_event_edits(
            session=session,
            job_id=job_id,
            rows=rows_from_table(editor_table(document["events"])),
        )
    assert json.loads((outputs / "events.json").read_text())["corrections"] == before


def test_uncalibrated_job_says_what_calibration_would_add(data_dir, tmp_path):
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    for name in ("tracks.csv",):
        rows = (outputs / name).read_text().splitlines()
        header = rows[0].split(",")
        cx, cy = header.index("court_x"), header.index("court_y")
        cleaned = [rows[0]]
        for line in rows[1:]:
            cells = line.split(",")
            cells[cx] = cells[cy] = ""
            cleaned.append(",".join(cells))
        (outputs / name).write_text("\n".join(cleaned) + "\n")
    with session_scope() as session:
        analysis.reanalyse_job(session=session, job_id=job_id)
    app = open_page("results.py", job=job_id)
    assert any("Calibrate the court to get metres" in text for text in texts(app, "info"))


def test_pass_network_figure_draws_each_link_and_player(data_dir, tmp_path):
    from dashboard.components import charts
    from dashboard.components.analytics_view import pass_network_figure

    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    network = json.loads((outputs / "pass_network.json").read_text())["A"]
    assert [(e["from"], e["to"], e["count"]) for e in network["edges"]] == [(1, 2, 1)]
    style = charts.team_styles({})["A"]
    figure = pass_network_figure(network, style, calibrated=True)
    lines = [t for t in figure.data if t.mode == "lines"]
    markers = [t for t in figure.data if t.mode == "markers+text"]
    assert len(lines) == 1 and len(markers[0].x) == len(network["nodes"])


def test_the_pass_network_legend_shows_only_with_a_network(data_dir, tmp_path):
    legend = "Each dot is a player at their mean position"
    job_id = submit_clip(tmp_path, "final.mp4")
    outputs = complete_analysed(job_id)
    app = open_page("results.py", job=job_id)
    captions = texts(app, "caption")
    assert any(legend in text for text in captions)
    assert not any("Team A: no completed passes" in text for text in captions)
    path = outputs / "pass_network.json"
    network = json.loads(path.read_text())
    for team in ("A", "B"):
        network[team]["edges"] = []
    path.write_text(json.dumps(network))
    app = open_page("results.py", job=job_id)
    captions = texts(app, "caption")
    assert not any(legend in text for text in captions)
    assert any("Team A: no completed passes" in text for text in captions)
