"""Rendering the services' health report and counts, whichever shape (object or dict) they use."""

from __future__ import annotations

from typing import Any

import streamlit as st

LEVEL_ICONS = {
    "ok": ":material/check_circle:",
    "warn": ":material/warning:",
    "error": ":material/error:",
}
LEVEL_ORDER = {"ok": 0, "warn": 1, "error": 2}


def attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def level_of(check: Any) -> str:
    raw = attr(check, "status", None) or attr(check, "level", "ok")
    return str(getattr(raw, "value", raw)).lower()


def health_checks_ui(report: Any) -> str:
    """One tile per check (database, queue, workers, model, disk); returns the worst level."""
    checks = list(attr(report, "checks", []) or [])
    worst = "ok"
    columns = st.columns(max(len(checks), 1))
    for column, check in zip(columns, checks, strict=False):
        level = level_of(check)
        worst = max(worst, level, key=lambda value: LEVEL_ORDER.get(value, 2))
        with column.container(border=True):
            st.markdown(f"{LEVEL_ICONS.get(level, '')} **{attr(check, 'name', '?')}**")
            st.caption(str(attr(check, "detail", "") or level))
    recommendations = list(attr(report, "recommendations", []) or [])
    for recommendation in recommendations:
        if worst == "error":
            st.error(recommendation, icon=":material/build:")
        else:
            st.warning(recommendation, icon=":material/build:")
    return worst
