"""Tables and the chart of the Standings page. Pure: a CompetitionStandings in, frames out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from backend.models_competition import Match
from backend.services.standings import CompetitionStandings, round_sort_key

LADDER_COLUMNS = {
    "position": "Pos",
    "team": "Team",
    "played": "P",
    "won": "W",
    "drawn": "D",
    "lost": "L",
    "goals_for": "GF",
    "goals_against": "GA",
    "goal_difference": "GD",
    "goal_percentage": "G%",
    "quarter_bonus": "Bonus",
    "adjustment": "Adj",
    "points": "Pts",
}
FORM_SYMBOLS = {"W": "W", "D": "D", "L": "L"}
NOT_PLAYED = "–"
SOURCE_LABELS = {
    "entered": "entered",
    "imported": "imported",
    "analysed": "analysed (counted from video)",
    None: "not played yet",
}


def ladder_frame(table: CompetitionStandings) -> pd.DataFrame:
    rows = []
    for row in table.ladder:
        values = row.to_dict()
        shown = {label: values[key] for key, label in LADDER_COLUMNS.items()}
        shown["Form"] = " ".join(table.form(row.team)) or NOT_PLAYED
        rows.append(shown)
    return pd.DataFrame(rows, columns=[*LADDER_COLUMNS.values(), "Form"])


def score_text(match: Match) -> str:
    if not match.has_score:
        return NOT_PLAYED
    text = f"{match.home_total}-{match.away_total}"
    return f"{text} (et)" if match.home_et is not None else text


def results_grid_frame(table: CompetitionStandings) -> pd.DataFrame:
    """Home teams down, away teams across; a cell holds every result of that pairing."""
    names = sorted(table.teams.values(), key=str.casefold)
    grid = pd.DataFrame("", index=names, columns=names)
    for match in sorted(table.matches, key=lambda m: round_sort_key(m.round)):
        home, away = table.teams[match.home_id], table.teams[match.away_id]
        cell = f"{score_text(match)} (R{match.round})"
        grid.loc[home, away] = f"{grid.loc[home, away]}, {cell}" if grid.loc[home, away] else cell
    for name in names:
        grid.loc[name, name] = "■"
    grid.index.name = "Home \\ Away"
    return grid


def quarters_text(quarters: list[int] | None) -> str:
    return " · ".join(str(q) for q in quarters) if quarters else ""


def matches_frame(table: CompetitionStandings) -> pd.DataFrame:
    """Every match with its quarters and which score it uses (and the counted one apart)."""
    rows = []
    ordered = sorted(
        table.matches,
        key=lambda m: (
            round_sort_key(m.round),
            m.played_on.isoformat() if m.played_on else "",
            m.id,
        ),
    )
    for match in ordered:
        counted = ""
        if match.analysed_home_quarters and match.score_source != "analysed":
            counted = (
                f"{sum(match.analysed_home_quarters) + (match.analysed_home_et or 0)}-"
                f"{sum(match.analysed_away_quarters or []) + (match.analysed_away_et or 0)}"
            )
        rows.append(
            {
                "Round": match.round,
                "Date": match.played_on.isoformat() if match.played_on else "",
                "Home": table.teams[match.home_id],
                "Away": table.teams[match.away_id],
                "Score": score_text(match),
                "Home quarters": quarters_text(match.home_quarters),
                "Away quarters": quarters_text(match.away_quarters),
                "Extra time": (
                    f"{match.home_et}-{match.away_et}" if match.home_et is not None else ""
                ),
                "Score from": SOURCE_LABELS.get(match.score_source, match.score_source),
                "Counted from video": counted,
                "Analysis": match.job_id or "",
            }
        )
    return pd.DataFrame(rows)


def progression_figure(rounds: list[str], series: dict[str, list[int]]) -> go.Figure:
    figure = go.Figure()
    for team, totals in sorted(series.items(), key=lambda item: (-item[1][-1], item[0])):
        figure.add_trace(
            go.Scatter(
                x=[f"R{r}" if r.isdigit() else r for r in rounds],
                y=totals,
                name=team,
                mode="lines+markers",
            )
        )
    figure.update_layout(
        xaxis_title="round",
        yaxis_title="points (matches and quarter bonuses)",
        height=380,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend_title_text="Team",
    )
    return figure
