"""Results sections of the netball analytics (stage 2): statistics sheets, match set-up
(quarters, attacking direction, positions), the pass network and shots.

Every change goes through backend.services.analysis, which stores it and reruns stage 2;
this module only draws what the stage wrote and collects the analyst's choices.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from backend.db import session_scope
from backend.services import analysis as analysis_service
from dashboard.components import stat_tables
from dashboard.components.charts import TeamStyle
from dashboard.components.court import court_figure
from dashboard.components.feedback import shown_errors
from dashboard.components.job_view import JobView
from dashboard.components.outputs import JobOutputs

PREFIX = "results_analytics"
POSITIONS = ("GS", "GA", "WA", "C", "WD", "GD", "GK")
NO_POSITION = "—"
DIRECTION_CHOICES = {"infer": "Work it out from the play", "right": "→ right", "left": "← left"}
SHOT_SYMBOLS = {"goal": "circle", "miss": "x", "unknown": "circle-open"}
EDGE_MAX_WIDTH_PX = 10
NODE_SIZE_PX = 26


def calibration_hint(outputs: JobOutputs) -> None:
    analytics = outputs.summary.get("analytics") or {}
    if analytics and not analytics.get("calibrated"):
        st.info(
            "Calibrate the court to get metres, zones, positions, feeds, shots and offside: "
            "without it, positions are in video pixels and only possession and passes count.",
            icon=":material/straighten:",
        )


def rerun_notice(result: analysis_service.ReanalysisResult, what: str) -> None:
    st.session_state[f"{PREFIX}_notice"] = (
        f"{what} Statistics recomputed in {result.seconds:.1f} s (detection was not rerun)."
    )


def pop_notice() -> str | None:
    return st.session_state.pop(f"{PREFIX}_notice", None)


# --------------------------------------------------------------------------- statistics
def statistics_ui(outputs: JobOutputs, styles: dict[str, TeamStyle]) -> None:
    teams, players = outputs.teams, outputs.players
    if teams is None or players is None:
        st.info(
            "This job has no statistics sheet yet (it was analysed before the netball "
            "statistics existed). Press 'Recompute statistics' under Match set-up.",
            icon=":material/table_chart:",
        )
        return
    calibration_hint(outputs)
    periods = stat_tables.period_choices(teams)
    period = st.segmented_control(
        "Period",
        periods,
        default=periods[0],
        format_func=stat_tables.period_label,
        key=f"{PREFIX}_period_{outputs.job_id}",  # per job: other jobs have other quarters
    )
    period = period or periods[0]
    st.markdown(f"**Teams · {stat_tables.period_label(period)}**")
    st.dataframe(stat_tables.team_sheet(teams, styles, period), hide_index=True)
    st.markdown("**Players · whole match**")
    if players.empty:
        st.caption("No player track lasted long enough to count.")
    else:
        st.dataframe(stat_tables.player_sheet(players, styles), hide_index=True)
        st.caption(
            "Positions marked '(suggested)' come from where the player spent their time; set "
            "them under Match set-up. Speeds and distances need a calibrated court."
        )


# -------------------------------------------------------------------------- match set-up
def _period_rows(stored: list[dict], duration_s: float) -> pd.DataFrame:
    rows = stored or [{"start_s": 0.0, "end_s": round(duration_s, 1)}]
    table = pd.DataFrame(rows, columns=["start_s", "end_s"])
    table.insert(0, "Quarter", range(1, len(table) + 1))
    return table


def setup_ui(job: JobView, outputs: JobOutputs) -> None:
    """Quarters, Team A's attacking end in the first quarter, and each track's position."""
    with session_scope() as session:
        stored = analysis_service.stored_inputs(session=session, job_id=job.id)
    video = outputs.summary.get("video") or {}
    duration_s = float(video.get("duration_s") or 0.0)
    names = job.team_names
    with st.form(f"{PREFIX}_setup"):
        st.markdown("**Quarters** (seconds of the video; one row = the clip is one period)")
        periods = st.data_editor(
            _period_rows(stored.get("periods") or [], duration_s),
            num_rows="dynamic",
            hide_index=True,
            column_config={
                "Quarter": st.column_config.NumberColumn(disabled=True),
                "start_s": st.column_config.NumberColumn("Starts at (s)", min_value=0.0),
                "end_s": st.column_config.NumberColumn("Ends at (s)", min_value=0.0),
            },
            key=f"{PREFIX}_periods_{job.id}",
        )
        current = stored.get("team_a_attacks") or "infer"
        direction = st.radio(
            f"{names['A']} attack in the first quarter (ends change every quarter)",
            list(DIRECTION_CHOICES),
            index=list(DIRECTION_CHOICES).index(current),
            format_func=DIRECTION_CHOICES.get,
            horizontal=True,
        )
        chosen = _positions_editor(job.id, outputs, stored.get("positions") or {}, names)
        if st.form_submit_button("Save and recompute statistics", type="primary"):
            _save_setup(job.id, periods, direction, chosen)
    if st.button("Recompute statistics", key=f"{PREFIX}_reanalyse", icon=":material/refresh:"):
        with shown_errors("Recomputing the statistics"), session_scope() as session:
            result = analysis_service.reanalyse_job(session=session, job_id=job.id)
            rerun_notice(result, "Done.")
            st.rerun()


def _positions_editor(
    job_id: str, outputs: JobOutputs, stored: dict, names: dict[str, str]
) -> dict[str, str]:
    """One picker per player track, keyed per job: a browser keeps a widget's label by key."""
    players = outputs.players
    if players is None or players.empty:
        st.caption("Positions can be set once the analysis has player tracks.")
        return {}
    st.markdown("**Positions** (the suggestion stays until you choose one)")
    chosen: dict[str, str] = {}
    playing = players[players["team"].astype(str).isin(("A", "B"))]
    for team, rows in playing.groupby("team", sort=True):
        st.caption(names.get(str(team), f"Team {team}"))
        columns = st.columns(4)
        for i, (_, row) in enumerate(rows.iterrows()):
            tid = str(int(row["track_id"]))
            suggested = row.get("position") if row.get("position_source") == "suggested" else None
            options = [NO_POSITION, *POSITIONS]
            value = stored.get(tid, NO_POSITION)
            label = f"Player {tid}" + (f" · suggested {suggested}" if suggested else "")
            pick = columns[i % 4].selectbox(
                label, options, index=options.index(value), key=f"{PREFIX}_pos_{job_id}_{tid}"
            )
            if pick != NO_POSITION:
                chosen[tid] = pick
    return chosen


def _save_setup(job_id: str, periods: pd.DataFrame, direction: str, positions: dict) -> None:
    rows = periods.dropna(subset=["start_s", "end_s"])
    quarters = [{"start_s": float(r.start_s), "end_s": float(r.end_s)} for r in rows.itertuples()]
    if len(quarters) == 1:
        quarters = []  # one row is the whole clip, the default
    with shown_errors("Saving the match set-up"), session_scope() as session:
        analysis_service.update_inputs(
            session=session,
            job_id=job_id,
            periods=quarters,
            team_a_attacks=None if direction == "infer" else direction,
            positions=positions,
        )
        result = analysis_service.reanalyse_job(session=session, job_id=job_id)
        rerun_notice(result, "Match set-up saved.")
        st.rerun()


# -------------------------------------------------------------------------- pass network
def pass_network_figure(network: dict, style: TeamStyle, calibrated: bool) -> go.Figure:
    figure = court_figure(title=f"{style.name}: passes") if calibrated else go.Figure()
    nodes = {n["track_id"]: n for n in network.get("nodes") or []}
    most = max((e["count"] for e in network.get("edges") or []), default=1)
    for edge in network.get("edges") or []:
        a, b = nodes.get(edge["from"]), nodes.get(edge["to"])
        if a is None or b is None or None in (a["x"], a["y"], b["x"], b["y"]):
            continue
        figure.add_trace(
            go.Scatter(
                x=[a["x"], b["x"]],
                y=[a["y"], b["y"]],
                mode="lines",
                line={"color": style.colour, "width": 1 + EDGE_MAX_WIDTH_PX * edge["count"] / most},
                opacity=0.6,
                hoverinfo="text",
                text=f"{edge['from']} → {edge['to']}: {edge['count']} passes",
                showlegend=False,
            )
        )
    placed = [n for n in nodes.values() if n["x"] is not None and n["y"] is not None]
    figure.add_trace(
        go.Scatter(
            x=[n["x"] for n in placed],
            y=[n["y"] for n in placed],
            mode="markers+text",
            marker={"size": NODE_SIZE_PX, "color": style.colour, "line": {"color": "white"}},
            text=[n.get("position") or str(n["track_id"]) for n in placed],
            textfont={"color": "white"},
            hovertext=[
                f"Player {n['track_id']}: {n['passes_made']} made, {n['passes_received']} received"
                for n in placed
            ],
            hoverinfo="text",
            showlegend=False,
        )
    )
    if not calibrated:
        figure.update_yaxes(autorange="reversed", title="video y (px)")
        figure.update_xaxes(title="video x (px)")
        figure.update_layout(height=380, title=f"{style.name}: passes")
    return figure


def pass_network_ui(outputs: JobOutputs, styles: dict[str, TeamStyle]) -> None:
    network = outputs.pass_network
    if not network:
        st.info("No pass network for this job yet.", icon=":material/hub:")
        return
    calibrated = bool((outputs.summary.get("analytics") or {}).get("calibrated"))
    columns = st.columns(2)
    drawn = False
    for column, team in zip(columns, ("A", "B"), strict=True):
        data = network.get(team) or {}
        with column:
            if not data.get("edges"):
                st.caption(f"{styles[team].name}: no completed passes between tracked players.")
                continue
            st.plotly_chart(
                pass_network_figure(data, styles[team], calibrated), key=f"{PREFIX}_net_{team}"
            )
            drawn = True
    if drawn:
        st.caption(
            "Each dot is a player at their mean position; line width is passes between them."
        )


# -------------------------------------------------------------------------------- shots
def shots_figure(shots: pd.DataFrame, styles: dict[str, TeamStyle]) -> go.Figure:
    figure = court_figure(title="Shots")
    for (team, outcome), rows in shots.groupby(["team", "outcome"], dropna=False):
        style = styles.get(str(team))
        figure.add_trace(
            go.Scatter(
                x=rows["court_x"],
                y=rows["court_y"],
                mode="markers",
                marker={
                    "symbol": SHOT_SYMBOLS.get(str(outcome), "circle-open"),
                    "size": 14,
                    "color": style.colour if style else "#6b7280",
                },
                name=f"{style.name if style else team}: {outcome}",
                hovertext=[
                    f"{t:.1f} s, player {p}"
                    for t, p in zip(rows["time_s"], rows["track_id"], strict=True)
                ],
                hoverinfo="text",
            )
        )
    return figure


def shots_ui(job: JobView, outputs: JobOutputs, styles: dict[str, TeamStyle]) -> None:
    events = (outputs.events_doc or {}).get("events") or []
    shots = pd.DataFrame([e for e in events if e.get("type") == "shot"])
    analytics = outputs.summary.get("analytics") or {}
    if shots.empty:
        if not analytics.get("calibrated"):
            calibration_hint(outputs)
        else:
            st.caption("No shots found. Add one in the events editor if the analysis missed it.")
        return
    score = analytics.get("score") or {}
    columns = st.columns(2)
    for column, team in zip(columns, ("A", "B"), strict=True):
        total = (score.get(team) or {}).get("total")
        column.metric(f"{styles[team].name} goals", "–" if total is None else total)
    if not analytics.get("score_confirmed"):
        st.caption(
            "Goals are the analysis' guess until you confirm each shot below; only confirmed "
            "scores reach the standings."
        )
    placed = shots.dropna(subset=["court_x", "court_y"])
    if not placed.empty:
        st.plotly_chart(shots_figure(placed, styles), key=f"{PREFIX}_shots")
    for shot in shots.to_dict("records"):
        _shot_row(job.id, shot, styles)


def _shot_row(job_id: str, shot: dict, styles: dict[str, TeamStyle]) -> None:
    style = styles.get(str(shot.get("team")))
    confirmed = bool((shot.get("details") or {}).get("confirmed"))
    text = (
        f"{shot['time_s']:.1f} s · {style.name if style else shot.get('team')} · player "
        f"{shot.get('track_id') or '?'} · **{shot.get('outcome') or 'unknown'}**"
        + (" ✓" if confirmed else f" (confidence {shot.get('confidence') or 0:.0%})")
    )
    left, *buttons = st.columns([4, 1, 1, 1])
    left.markdown(text)
    automatic = str(shot["id"]).startswith("a-")
    for column, (label, outcome) in zip(
        buttons, (("Goal", "goal"), ("Miss", "miss"), ("Confirm", None)), strict=True
    ):
        if column.button(label, key=f"{PREFIX}_{shot['id']}_{label}", disabled=not automatic):
            with shown_errors("Saving the shot"), session_scope() as session:
                result = analysis_service.confirm_events(
                    session=session, job_id=job_id, event_ids=[shot["id"]], outcome=outcome
                )
                rerun_notice(result, "Shot saved.")
                st.rerun()
