"""The services' health report as tiles, with the plain recommendation when something is wrong."""

from __future__ import annotations

import streamlit as st

from backend.services.metrics import HealthReport

LEVEL_ICONS = {
    "ok": ":material/check_circle:",
    "warn": ":material/warning:",
    "error": ":material/error:",
}


def health_checks_ui(report: HealthReport) -> None:
    """One tile per check (database, queue, workers, model, disk), then what to do about it."""
    columns = st.columns(max(len(report.checks), 1))
    for column, check in zip(columns, report.checks, strict=False):
        with column.container(border=True):
            st.markdown(f"{LEVEL_ICONS.get(check.status, '')} **{check.name}**")
            st.caption(check.detail or check.status)
    show = st.error if report.status == "error" else st.warning
    for recommendation in report.recommendations:
        show(recommendation, icon=":material/build:")
