"""Courtside dashboard entry point: page config, schema, job queue, navigation. Nothing else."""

from __future__ import annotations

import streamlit as st

from backend.config import get_settings
from backend.db import init_db
from jobs.queue import install as install_job_queue

st.set_page_config(page_title="Courtside", page_icon=":material/sports_basketball:", layout="wide")


@st.cache_resource(show_spinner=False)
def _prepare_storage(database_url: str) -> None:
    """Create folders and schema once per database, not on every rerun."""
    get_settings().ensure_dirs()
    init_db()


_prepare_storage(get_settings().database_url)
# The entry point wires the queue implementation in; the pages only see the services.
install_job_queue()

PAGES = [
    st.Page(
        "dashboard/pages/overview.py", title="Overview", icon=":material/dashboard:", default=True
    ),
    st.Page("dashboard/pages/new_analysis.py", title="New analysis", icon=":material/upload:"),
    st.Page("dashboard/pages/jobs.py", title="Jobs", icon=":material/list_alt:"),
    st.Page("dashboard/pages/results.py", title="Results", icon=":material/insights:"),
    st.Page("dashboard/pages/calibrate.py", title="Calibrate", icon=":material/straighten:"),
    st.Page("dashboard/pages/standings.py", title="Standings", icon=":material/emoji_events:"),
    st.Page("dashboard/pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
]

page = st.navigation(PAGES)
# Which page the previous full run showed: a page can tell arriving from staying (Results
# applies its ?job= link only on arrival).
st.session_state["nav_previous_page"] = st.session_state.get("nav_page")
st.session_state["nav_page"] = page.url_path
page.run()
