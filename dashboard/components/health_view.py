"""The services' health report as tiles, with the plain recommendation when something is wrong."""

from __future__ import annotations

import streamlit as st

from backend.services.metrics import HealthReport
from dashboard.components.formatting import human_bytes

LEVEL_ICONS = {
    "ok": ":material/check_circle:",
    "warn": ":material/warning:",
    "error": ":material/error:",
}


def model_card_text(model: dict) -> str:
    """Name, size and hash of the weights; the long path goes in the tooltip instead."""
    check = "sha256 verified" if model.get("verified") else "custom weights, sha256"
    return (
        f"`{model['name']}` · {human_bytes(model.get('size_bytes'))} · "
        f"{check} `{str(model.get('sha256', ''))[:12]}`"
    )


def health_checks_ui(report: HealthReport) -> None:
    """One tile per check (database, queue, workers, model, disk), then what to do about it."""
    columns = st.columns(max(len(report.checks), 1))
    for column, check in zip(columns, report.checks, strict=False):
        with column.container(border=True):
            if check.name == "model" and report.model:
                st.markdown(
                    f"{LEVEL_ICONS.get(check.status, '')} **model**",
                    help=f"Weights file: {report.model['path']}",
                )
                st.caption(model_card_text(report.model))
                continue
            st.markdown(f"{LEVEL_ICONS.get(check.status, '')} **{check.name}**")
            st.caption(check.detail or check.status)
    show = st.error if report.status == "error" else st.warning
    for recommendation in report.recommendations:
        show(recommendation, icon=":material/build:")
