"""Standings: a competition's ladder under its own points rule, results, form, progression.

Editing (new competitions, the rule, CSV import, results, adjustments) sits behind the admin
password when NETBALL_ADMIN_PASSWORD is set; reading never does.
"""

from __future__ import annotations

import streamlit as st

from backend.db import session_scope
from backend.services import competitions as service
from backend.services.analysed_scores import refresh_analysed_scores
from backend.services.standings import CompetitionStandings, competition_standings
from dashboard.components import standings_forms as forms
from dashboard.components.admin_gate import password_gate_ui
from dashboard.components.feedback import shown_errors
from dashboard.components.standings_view import (
    ladder_frame,
    matches_frame,
    progression_figure,
    results_grid_frame,
)

PREFIX = forms.PREFIX


def load(name: str) -> CompetitionStandings:
    with session_scope() as session:
        competition = service.get_competition(session=session, name=name)
        # Analysed games count as soon as their analyst confirmed them.
        refresh_analysed_scores(session=session, competition=competition)
        return competition_standings(session=session, competition=competition)


def ladder_ui(table: CompetitionStandings) -> None:
    if not table.ladder:
        st.info(
            "No matches yet. Import a CSV of matches or enter a result below.",
            icon=":material/table:",
        )
        return
    st.dataframe(ladder_frame(table), hide_index=True, key=f"{PREFIX}_ladder")
    st.caption(
        f"Points: {table.competition.rule_text()}. Extra time counts for the result, not for "
        "quarter bonuses. Ties: goal percentage (goals for / against x 100), then goal "
        "difference, then goals for. Form: last five, oldest first."
    )
    for adjustment in table.adjustments:
        st.markdown(
            f"- **{table.teams[adjustment.team_id]} {adjustment.points:+d}**: "
            f"{adjustment.reason} (added {adjustment.created_at:%Y-%m-%d})"
        )


def results_ui(table: CompetitionStandings) -> None:
    if not table.matches:
        return
    st.subheader("Results")
    st.dataframe(results_grid_frame(table), key=f"{PREFIX}_grid")
    with st.expander(f"All {len(table.matches)} matches, quarter by quarter"):
        st.dataframe(matches_frame(table), hide_index=True, key=f"{PREFIX}_matches")


def progression_ui(table: CompetitionStandings) -> None:
    rounds, series = table.progression()
    if len(rounds) < 1:
        return
    st.subheader("Points by round")
    st.plotly_chart(progression_figure(rounds, series), key=f"{PREFIX}_progression")
    if table.adjustments:
        st.caption("Adjustments are left out of the chart; the ladder includes them.")


def manage_ui(table: CompetitionStandings | None) -> None:
    st.subheader("Manage")
    if not password_gate_ui("Editing competitions"):
        return
    tabs = ["New competition"]
    if table is not None:
        tabs = ["Import matches", "Enter a result", "Adjustments", "Points rule", *tabs]
    shown = dict(zip(tabs, st.tabs(tabs), strict=True))
    with shown["New competition"]:
        forms.create_competition_ui()
    if table is None:
        return
    with shown["Import matches"]:
        forms.import_ui(table.competition)
    with shown["Enter a result"]:
        forms.enter_result_ui(table.competition, sorted(table.teams.values(), key=str.casefold))
    with shown["Adjustments"]:
        forms.adjustments_ui(table)
    with shown["Points rule"]:
        forms.edit_competition_ui(table.competition)


st.title("Standings")
forms.notice_ui()
table: CompetitionStandings | None = None
with shown_errors("Loading the competitions"):
    with session_scope() as session:
        names = [c.name for c in service.list_competitions(session=session)]
    if not names:
        st.info(
            "No competition yet. Create one below, then import its matches from a CSV.",
            icon=":material/emoji_events:",
        )
    else:
        if st.session_state.get(f"{PREFIX}_pick") not in names:
            st.session_state[f"{PREFIX}_pick"] = names[0]
        name = st.selectbox("Competition", names, key=f"{PREFIX}_pick")
        table = load(name)
        ladder_ui(table)
        progression_ui(table)
        results_ui(table)
manage_ui(table)
