"""Overview: is everything healthy, what is in the queue, what finished lately."""

from __future__ import annotations

import streamlit as st

from backend.db import session_scope
from backend.services import jobs as job_service
from backend.services import metrics as metrics_service
from dashboard.components.charts import status_counts_figure, throughput_figure
from dashboard.components.feedback import shown_errors
from dashboard.components.formatting import human_duration
from dashboard.components.health_view import health_checks_ui
from dashboard.components.job_view import JobView, jobs_table, progress_column

RECENT_JOBS_ROWS = 8
THROUGHPUT_WINDOW_H = 24

st.title("Overview")

with shown_errors("Checking system health"), session_scope() as session:
    st.subheader("Health")
    health_checks_ui(metrics_service.health(session=session))

with shown_errors("Loading job statistics"), session_scope() as session:
    counts = job_service.count_jobs_by_status(session=session)
    recent_rows, total = job_service.list_jobs(session=session, page=1, page_size=RECENT_JOBS_ROWS)
    recent = [JobView.from_job(row) for row in recent_rows]
    metrics = metrics_service.job_metrics(session=session)
    series = metrics_service.throughput_series(session=session, hours=THROUGHPUT_WINDOW_H)

    if total == 0:
        st.info(
            "No analyses yet. Upload a match video on **New analysis** (or copy a long one into "
            "the server inbox) and it appears here while it is analysed.",
            icon=":material/movie:",
        )
        st.page_link("dashboard/pages/new_analysis.py", label="Start a new analysis", icon="➡️")
    else:
        tiles = st.columns(5)
        for column, status in zip(
            tiles, ("queued", "running", "completed", "failed", "cancelled"), strict=True
        ):
            column.metric(status.capitalize(), counts.get(status, 0), border=True)

        done_col, fps_col, wait_col, run_col = st.columns(4)
        done_col.metric("Completed in the last 24 h", metrics.completed_last_day)
        fps_col.metric(
            "Mean analysis speed", f"{metrics.mean_fps:.1f} fps" if metrics.mean_fps else "–"
        )
        wait_col.metric("Mean wait in queue", human_duration(metrics.mean_wait_s))
        run_col.metric("Mean run time", human_duration(metrics.mean_run_s))

        chart_col, status_col = st.columns([2, 1])
        with chart_col:
            st.markdown(f"**Throughput, last {THROUGHPUT_WINDOW_H} hours**")
            st.plotly_chart(throughput_figure(series), key="overview_throughput")
        with status_col:
            st.markdown("**Jobs by status**")
            st.plotly_chart(status_counts_figure(counts), key="overview_status")

        st.subheader("Recent jobs")
        st.dataframe(
            jobs_table(recent),
            hide_index=True,
            column_config={"Progress": progress_column()},
        )
        st.page_link("dashboard/pages/jobs.py", label="All jobs", icon="➡️")
