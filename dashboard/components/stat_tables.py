"""The statistics sheets as an analyst reads them: labelled columns with units, team names,
blanks (never "None") where a value does not exist. Pure: DataFrames in, DataFrames out."""

from __future__ import annotations

import pandas as pd

from dashboard.components.charts import TeamStyle

# players.csv / teams.csv column -> the label shown. Column order here is display order;
# columns not listed are left out of the sheet (still in the downloaded file).
PLAYER_LABELS = {
    "track_id": "Player",
    "team_name": "Team",
    "position": "Position",
    "time_on_court_s": "On court (s)",
    "distance_m": "Distance (m)",
    "top_speed_ms": "Top speed (m/s)",
    "mean_speed_ms": "Mean speed (m/s)",
    "possessions": "Possessions",
    "possession_s": "Possession (s)",
    "passes": "Passes",
    "passesReceived": "Passes received",
    "feeds": "Feeds",
    "centrePassReceives": "Centre pass receives",
    "gain": "Gains",
    "intercepts": "Intercepts",
    "turnovers": "Turnovers",
    "goalAttempts": "Goal attempts",
    "goals": "Goals",
    "shootingPct": "Shooting %",
    "threeSeconds": "3-second calls",
    "offsides": "Offsides",
    "penalties": "Penalties",
    "distance_px": "Distance (video px)",
}
TEAM_LABELS = {
    "possession_pct": "Possession %",
    "possession_s": "Possession (s)",
    "possessionChanges": "Possession changes",
    "passes": "Passes",
    "passesCompleted": "Passes completed",
    "feeds": "Feeds",
    "centrePassReceives": "Centre pass receives",
    "gain": "Gains",
    "intercepts": "Intercepts",
    "turnovers": "Turnovers",
    "goalAttempts": "Goal attempts",
    "goals": "Goals",
    "goalMisses": "Misses",
    "shootingPct": "Shooting %",
    "threeSeconds": "3-second calls",
    "offsides": "Offsides",
    "penalties": "Penalties",
    "distance_m": "Distance (m)",
}
EVENT_LABELS = {
    "time_s": "Time (s)",
    "period": "Quarter",
    "type": "Event",
    "team": "Team",
    "track_id": "Player",
    "to_track_id": "Other player",
    "outcome": "Outcome",
    "court_x": "Court x (m)",
    "court_y": "Court y (m)",
    "source": "Source",
}
# to_track_id changes meaning with the event, so the column says it where it is shown.
OTHER_PLAYER_HELP = (
    "Pass and centre pass: who caught it (blank when the other team did). Turnover: who won "
    "the ball. Gain and intercept: who lost it."
)
EVENT_NAMES = {
    "possession_start": "possession start",
    "pass": "pass",
    "turnover": "turnover",
    "gain": "gain",
    "intercept": "intercept",
    "three_seconds": "3 seconds",
    "offside": "offside",
    "shot": "shot",
    "centre_pass": "centre pass",
    "possession_change": "possession change",
}
SOURCE_NAMES = {"auto": "automatic", "edited": "edited", "analyst": "added"}
POSITION_SOURCE_MARK = {"suggested": " (suggested)", "analyst": "", "none": ""}
ALL_PERIODS = "all"


def period_choices(teams: pd.DataFrame) -> list[str]:
    """'all' first, then the periods the sheet has, in order."""
    if teams is None or teams.empty or "period" not in teams:
        return [ALL_PERIODS]
    periods = [str(p) for p in teams["period"].astype(str).unique() if str(p) != ALL_PERIODS]
    if len(periods) <= 1:
        return [ALL_PERIODS]  # the clip is one period: its sheet is the whole match's
    return [ALL_PERIODS, *sorted(periods, key=lambda p: int(p) if p.isdigit() else 0)]


def period_label(period: str) -> str:
    return "Whole match" if period == ALL_PERIODS else f"Quarter {period}"


def team_sheet(teams: pd.DataFrame, styles: dict[str, TeamStyle], period: str) -> pd.DataFrame:
    """One row per statistic, one column per team (the way a match report reads)."""
    rows = teams[teams["period"].astype(str) == period]
    sheet = pd.DataFrame(index=list(TEAM_LABELS.values()))
    for _, row in rows.iterrows():
        name = styles[row["team"]].name if row["team"] in styles else str(row["team"])
        sheet[name] = [_text(row.get(column)) for column in TEAM_LABELS]
    sheet.index.name = "Statistic"
    return sheet.reset_index()


def player_sheet(players: pd.DataFrame, styles: dict[str, TeamStyle]) -> pd.DataFrame:
    """players.csv with labels, today's team names and 'GS (suggested)' style positions."""
    table = players.copy()
    if "team" in table:
        names = {label: style.name for label, style in styles.items()}
        table["team_name"] = table["team"].astype(str).map(names).fillna(table.get("team_name"))
    if "position" in table:
        marks = table.get("position_source", pd.Series("", index=table.index)).astype(str)
        table["position"] = [
            "" if _blank(p) else f"{p}{POSITION_SOURCE_MARK.get(m, '')}"
            for p, m in zip(table["position"], marks, strict=True)
        ]
    calibrated = "distance_m" in table and table["distance_m"].notna().any()
    labels = {
        k: v
        for k, v in PLAYER_LABELS.items()
        if k in table and (k != "distance_px" or not calibrated)
    }
    return for_display(table[list(labels)].rename(columns=labels))


def for_display(table: pd.DataFrame) -> pd.DataFrame:
    """Missing values as blank cells. A column with blanks becomes text (a browser table
    cannot mix numbers and blanks), its numbers written as the file has them."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if not values.isna().any():
            continue
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        whole = bool(len(numbers)) and bool((numbers == numbers.round()).all())
        out[column] = [
            ""
            if _blank(v)
            else str(int(v))
            if whole
            else _text(v)
            if isinstance(v, str)
            else f"{float(v):.2f}"
            for v in values
        ]
    return out


def _text(value: object) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _blank(value: object) -> bool:
    if isinstance(value, str):
        return value == ""
    return value is None or bool(pd.isna(value))


def event_sheet(events: pd.DataFrame, styles: dict[str, TeamStyle]) -> pd.DataFrame:
    """events.csv rows as a readable table: team names, event names, blanks for no value."""
    table = events.copy()
    if "team" in table:
        names = {label: style.name for label, style in styles.items()}
        table["team"] = table["team"].astype(str).map(lambda t: names.get(t, t))
    if "type" in table:
        table["type"] = table["type"].astype(str).map(lambda t: EVENT_NAMES.get(t, t))
    if "source" in table:
        table["source"] = table["source"].astype(str).map(lambda t: SOURCE_NAMES.get(t, t))
    for column in ("track_id", "to_track_id", "period"):
        if column in table:
            table[column] = pd.array(pd.to_numeric(table[column], errors="coerce"), dtype="Int64")
    labels = {k: v for k, v in EVENT_LABELS.items() if k in table}
    return for_display(table[list(labels)].rename(columns=labels))
