"""The Standings page's editing tools: competitions, CSV import, results, adjustments.

Each form calls one service and reruns on success so the ladder above shows the change; a
refusal shows the service's own words (a refused CSV: every line and reason).
"""

from __future__ import annotations

import streamlit as st

from backend.db import session_scope
from backend.models_competition import QUARTERS_PER_MATCH, Competition
from backend.services import competitions as service
from backend.services.match_import import (
    MAX_IMPORT_BYTES,
    ImportRefused,
    decode_matches,
    import_matches,
)
from backend.services.standings import CompetitionStandings
from dashboard.components.feedback import error_message, shown_errors

PREFIX = "standings"
NOTICE_KEY = f"{PREFIX}_notice"
MAX_GOALS_A_QUARTER = 60


def notice_ui() -> None:
    """The outcome of the last change, said once after the rerun that shows it."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")


def _done(message: str | None, *, select: str | None = None) -> None:
    """Rerun with the notice. Called inside session blocks: every service commits before it
    returns, so the rollback session_scope does on Streamlit's rerun signal undoes nothing."""
    if message is None:
        return
    st.session_state[NOTICE_KEY] = message
    if select is not None:
        st.session_state[f"{PREFIX}_pick"] = select
    st.rerun()


def _rule_inputs(key: str, competition: Competition | None = None) -> dict[str, int]:
    columns = st.columns(4)
    fields = (
        ("win_points", "Win", 2),
        ("draw_points", "Draw", 1),
        ("loss_points", "Loss", 0),
        ("quarter_win_points", "Each quarter won", 0),
    )
    return {
        name: int(
            column.number_input(
                label,
                min_value=0,
                max_value=service.MAX_RULE_POINTS,
                value=getattr(competition, name) if competition else default,
                key=f"{key}_{name}",
            )
        )
        for column, (name, label, default) in zip(columns, fields, strict=True)
    }


def create_competition_ui() -> None:
    with st.form(f"{PREFIX}_create", clear_on_submit=True):
        st.markdown("**New competition**")
        name = st.text_input(
            "Name", placeholder="e.g. Super Netball 2024", key=f"{PREFIX}_new_name"
        )
        st.caption("Points for a win, a draw, a loss, and bonus points for each quarter won.")
        rule = _rule_inputs(f"{PREFIX}_new")
        if st.form_submit_button("Create competition", type="primary"):
            with shown_errors("Creating the competition"), session_scope() as session:
                created = service.create_competition(session=session, name=name, **rule)
                _done(f"Created **{created.name}**: {created.rule_text()}.", select=created.name)


def edit_competition_ui(competition: Competition) -> None:
    with st.form(f"{PREFIX}_edit"):
        name = st.text_input("Name", value=competition.name, key=f"{PREFIX}_edit_name")
        rule = _rule_inputs(f"{PREFIX}_edit_{competition.id}", competition)
        if st.form_submit_button("Save rule"):
            with shown_errors("Saving the competition"), session_scope() as session:
                stored = service.get_competition(session=session, name=competition.name)
                saved = service.update_competition(
                    session=session, competition=stored, name=name, **rule
                )
                _done(f"Saved **{saved.name}**: {saved.rule_text()}.", select=saved.name)


def import_ui(competition: Competition) -> None:
    st.caption(
        "Columns: `round,date,home,away,home_q1,home_q2,home_q3,home_q4,away_q1,away_q2,"
        "away_q3,away_q4` and optionally `home_et,away_et` (extra time, empty when none). "
        "Importing the same file again changes nothing; a changed score updates its match. "
        "A file with any bad row is refused whole."
    )
    upload = st.file_uploader(
        "Matches CSV",
        type=["csv"],
        max_upload_size=MAX_IMPORT_BYTES // (1024 * 1024),
        key=f"{PREFIX}_csv",
    )
    if upload is None or not st.button("Import matches", type="primary", key=f"{PREFIX}_import"):
        return
    try:
        with session_scope() as session:
            stored = service.get_competition(session=session, name=competition.name)
            text = decode_matches(upload.getvalue(), upload.name)
            report = import_matches(session=session, competition=stored, text=text)
    except ImportRefused as refused:
        st.error(
            f"Nothing was imported from {upload.name}: {len(refused.problems)} problem(s).",
            icon=":material/block:",
        )
        st.dataframe(
            [{"Line": line, "Problem": reason} for line, reason in refused.problems],
            hide_index=True,
        )
        return
    except Exception as exc:
        st.error(error_message("Importing the matches", exc), icon=":material/error:")
        return
    new_teams = f" New teams: {', '.join(report.teams_created)}." if report.teams_created else ""
    _done(
        f"Imported {report.rows} row(s): {report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged.{new_teams}"
    )


def _quarter_inputs(label: str, key: str) -> list[int]:
    st.markdown(label)
    columns = st.columns(QUARTERS_PER_MATCH + 1)
    quarters = [
        int(
            column.number_input(
                f"Q{index}", min_value=0, max_value=MAX_GOALS_A_QUARTER, key=f"{key}_q{index}"
            )
        )
        for index, column in enumerate(columns[:QUARTERS_PER_MATCH], 1)
    ]
    return quarters


def enter_result_ui(competition: Competition, teams: list[str]) -> None:
    st.caption(
        "A typed score always wins over one counted from an analysed video. New team names "
        "are added to the competition."
    )
    with st.form(f"{PREFIX}_result"):
        top = st.columns(3)
        round_label = top[0].text_input("Round", key=f"{PREFIX}_result_round")
        home = top[1].selectbox(
            "Home", teams, index=None, accept_new_options=True, key=f"{PREFIX}_result_home"
        )
        away = top[2].selectbox(
            "Away", teams, index=None, accept_new_options=True, key=f"{PREFIX}_result_away"
        )
        played_on = st.date_input("Date", value=None, key=f"{PREFIX}_result_date")
        home_q = _quarter_inputs("**Home quarters**", f"{PREFIX}_result_home")
        away_q = _quarter_inputs("**Away quarters**", f"{PREFIX}_result_away")
        extra = st.checkbox("Extra time was played", key=f"{PREFIX}_result_et")
        et_columns = st.columns(2)
        home_et = et_columns[0].number_input("Home extra time", min_value=0, key=f"{PREFIX}_het")
        away_et = et_columns[1].number_input("Away extra time", min_value=0, key=f"{PREFIX}_aet")
        if st.form_submit_button("Save result", type="primary"):
            with shown_errors("Saving the result"), session_scope() as session:
                stored = service.get_competition(session=session, name=competition.name)
                match = service.enter_score(
                    session=session,
                    competition=stored,
                    round=round_label,
                    home=home or "",
                    away=away or "",
                    home_quarters=home_q,
                    away_quarters=away_q,
                    home_et=int(home_et) if extra else None,
                    away_et=int(away_et) if extra else None,
                    played_on=played_on,
                )
                _done(
                    f"Saved round {match.round}: {home} {match.home_total}-{match.away_total} "
                    f"{away}."
                )


def adjustments_ui(table: CompetitionStandings) -> None:
    competition = table.competition
    teams = sorted(table.teams.values(), key=str.casefold)
    with st.form(f"{PREFIX}_adjust", clear_on_submit=True):
        st.markdown("**Add an adjustment**")
        columns = st.columns([2, 1, 3])
        team = columns[0].selectbox("Team", teams, index=None, key=f"{PREFIX}_adj_team")
        points = columns[1].number_input("Points", step=1, value=0, key=f"{PREFIX}_adj_points")
        reason = columns[2].text_input(
            "Reason", placeholder="e.g. salary cap breach", key=f"{PREFIX}_adj_reason"
        )
        if st.form_submit_button("Add adjustment", type="primary"):
            with shown_errors("Adding the adjustment"), session_scope() as session:
                stored = service.get_competition(session=session, name=competition.name)
                added = service.add_adjustment(
                    session=session,
                    competition=stored,
                    team=team or "",
                    points=int(points),
                    reason=reason,
                )
                _done(f"{team}: {added.points:+d} ({added.reason}).")
    if not table.adjustments:
        return
    labels = {
        a.id: f"{table.teams[a.team_id]} {a.points:+d}: {a.reason}" for a in table.adjustments
    }
    chosen = st.selectbox(
        "Change or remove an adjustment",
        list(labels),
        format_func=labels.__getitem__,
        key=f"{PREFIX}_adj_pick",
    )
    current = next(a for a in table.adjustments if a.id == chosen)
    with st.form(f"{PREFIX}_adj_edit_{chosen}"):
        columns = st.columns([1, 3])
        points = columns[0].number_input("Points", step=1, value=current.points)
        reason = columns[1].text_input("Reason", value=current.reason)
        save, remove = st.columns(2)
        if save.form_submit_button("Save adjustment"):
            with shown_errors("Saving the adjustment"), session_scope() as session:
                stored = service.get_competition(session=session, name=competition.name)
                service.update_adjustment(
                    session=session,
                    competition=stored,
                    adjustment_id=current.id,
                    points=int(points),
                    reason=reason,
                )
                _done("Adjustment saved.")
        if remove.form_submit_button("Remove adjustment"):
            with shown_errors("Removing the adjustment"), session_scope() as session:
                stored = service.get_competition(session=session, name=competition.name)
                service.delete_adjustment(
                    session=session, competition=stored, adjustment_id=current.id
                )
                _done("Adjustment removed.")
