"""The events editor on Results: the analyst adds, deletes and changes events; every
statistic is recomputed from the edited list (services.analysis.save_event_edits), and the
automatic events stay beside the edits in events.json."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.db import session_scope
from backend.services import analysis as analysis_service
from dashboard.components import stat_tables
from dashboard.components.analytics_view import rerun_notice
from dashboard.components.charts import TeamStyle
from dashboard.components.feedback import shown_errors
from dashboard.components.outputs import JobOutputs

PREFIX = "results_editor"
EVENT_TYPES = (
    "possession_start", "pass", "turnover", "gain", "intercept", "three_seconds", "offside",
    "shot", "centre_pass",
)  # fmt: skip
TEAMS = ("A", "B", "other")
OUTCOMES = ("goal", "miss", "unknown")
SOURCE_LABELS = {"auto": "automatic", "edited": "edited", "analyst": "added"}
EDITOR_COLUMNS = ["id", "time_s", "type", "team", "track_id", "to_track_id", "outcome", "source"]


def editor_table(events: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(events, columns=EDITOR_COLUMNS)
    table["source"] = table["source"].map(SOURCE_LABELS).fillna("")
    for column in ("track_id", "to_track_id"):
        table[column] = pd.array(table[column], dtype="Int64")
    return table


def rows_from_table(table: pd.DataFrame) -> list[dict]:
    """The edited table as plain dicts: blanks None, ids as the stage wrote them."""
    rows = []
    for record in table.to_dict("records"):
        row = {}
        for key in EDITOR_COLUMNS[:-1]:
            value = record.get(key)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                value = None
            elif key in ("track_id", "to_track_id"):
                value = int(value)
            elif key == "time_s":
                value = float(value)
            row[key] = value
        rows.append(row)
    return rows


def events_editor_ui(job_id: str, outputs: JobOutputs, styles: dict[str, TeamStyle]) -> None:
    document = outputs.events_doc or {}
    if "automatic" not in document:
        st.info(
            "This job's events predate the editor. Press 'Recompute statistics' under Match "
            "set-up first.",
            icon=":material/edit_note:",
        )
        return
    team_names = {label: style.name for label, style in styles.items()}
    st.caption(
        "Change a cell, delete rows (select and press Delete) or add a row at the bottom; "
        "then save. The automatic events are kept and exported beside your edits."
    )
    edited = st.data_editor(
        editor_table(document.get("events") or []),
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "id": st.column_config.TextColumn("Event", disabled=True),
            "time_s": st.column_config.NumberColumn("Time (s)", min_value=0.0, format="%.2f"),
            "type": st.column_config.SelectboxColumn("Type", options=EVENT_TYPES, required=True),
            "team": st.column_config.SelectboxColumn(
                "Team", options=TEAMS, help=", ".join(f"{k}: {v}" for k, v in team_names.items())
            ),
            "track_id": st.column_config.NumberColumn("Player", step=1),
            "to_track_id": st.column_config.NumberColumn(
                "Other player", step=1, help=stat_tables.OTHER_PLAYER_HELP
            ),
            "outcome": st.column_config.SelectboxColumn("Shot outcome", options=OUTCOMES),
            "source": st.column_config.TextColumn("Source", disabled=True),
        },
        key=f"{PREFIX}_{job_id}",
    )
    if st.button("Save edits and recompute", type="primary", key=f"{PREFIX}_save"):
        with shown_errors("Saving the events"), session_scope() as session:
            result = analysis_service.save_event_edits(
                session=session, job_id=job_id, rows=rows_from_table(edited)
            )
            rerun_notice(result, "Events saved.")
            st.rerun()
    automatic = len(document.get("automatic") or [])
    final = len(document.get("events") or [])
    st.caption(f"{final} events after your edits; the analysis found {automatic}.")
