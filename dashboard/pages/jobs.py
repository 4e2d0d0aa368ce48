"""Jobs: every analysis with live progress, filters, and cancel / retry / delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from backend.db import session_scope
from backend.services import jobs as job_service
from dashboard.components.feedback import shown_errors
from dashboard.components.formatting import human_time
from dashboard.components.job_view import JobView, jobs_table, progress_column
from dashboard.components.text import plain_text

PREFIX = "jobs"
PAGE_SIZE_ROWS = 20
LIVE_REFRESH_S = 2.0
LOG_TAIL_BYTES = 20_000
STATUS_CHOICES = ("all", *job_service.JOB_STATUSES)


@dataclass(frozen=True)
class JobFilters:
    status: str | None
    search: str | None
    created_from: datetime | None
    created_to: datetime | None


def _day_bounds(days: tuple[date, ...]) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days, from the first day's start to the last day's end."""
    if not days:
        return None, None
    start = datetime.combine(days[0], time.min, tzinfo=UTC)
    end = datetime.combine(days[-1], time.min, tzinfo=UTC) + timedelta(days=1, microseconds=-1)
    return start, end


def filters_ui() -> JobFilters:
    status_col, search_col, date_col = st.columns([1, 2, 2])
    status = status_col.selectbox(
        "Status", STATUS_CHOICES, key=f"{PREFIX}_status", persist_state="session"
    )
    search = search_col.text_input(
        "Search",
        placeholder="video name or job ID",
        key=f"{PREFIX}_search",
        persist_state="session",
    )
    days = date_col.date_input(
        "Created between (UTC)", value=(), key=f"{PREFIX}_days", format="YYYY-MM-DD"
    )
    created_from, created_to = _day_bounds(tuple(days) if isinstance(days, tuple) else (days,))
    return JobFilters(
        status=None if status == "all" else status,
        search=search.strip() or None,
        created_from=created_from,
        created_to=created_to,
    )


def _act(action: str, job: JobView) -> None:
    """Run one service action on a job and report the outcome."""
    services = {
        "cancel": job_service.cancel_job,
        "retry": job_service.retry_job,
        "delete": job_service.delete_job,
    }
    done = {"cancel": "Cancel requested for", "retry": "Queued again:", "delete": "Deleted"}
    succeeded = False
    with shown_errors(f"{action.capitalize()} {job.name}"), session_scope() as session:
        services[action](session=session, job_id=job.id)
        succeeded = True
    if succeeded:
        st.session_state[f"{PREFIX}_notice"] = f"{done[action]} {job.name} (`{job.id}`)."
        st.session_state.pop(f"{PREFIX}_confirm_delete", None)
        st.rerun()


def actions_ui(job: JobView) -> None:
    row = st.container(horizontal=True, vertical_alignment="center")
    allowed = job_service.allowed_actions(job.status)
    if job_service.JobAction.cancel in allowed and row.button(
        "Cancel", key=f"{PREFIX}_cancel_{job.id}", icon=":material/stop_circle:"
    ):
        _act("cancel", job)
    if job_service.JobAction.retry in allowed and row.button(
        "Retry", key=f"{PREFIX}_retry_{job.id}", icon=":material/replay:"
    ):
        _act("retry", job)
    if job_service.has_results(job.status):
        row.page_link(
            "dashboard/pages/results.py",
            label="Open results",
            icon=":material/insights:",
            query_params={"job": job.id},
        )
    if job_service.JobAction.delete in allowed and row.button(
        "Delete…", key=f"{PREFIX}_delete_{job.id}", icon=":material/delete:"
    ):
        st.session_state[f"{PREFIX}_confirm_delete"] = job.id
    if st.session_state.get(f"{PREFIX}_confirm_delete") == job.id:
        with st.container(border=True):
            st.warning(
                f"Delete **{job.name}** and all its files (input video, outputs, ZIP)? "
                "This cannot be undone.",
                icon=":material/warning:",
            )
            yes, no = st.columns(2)
            if yes.button("Yes, delete", type="primary", key=f"{PREFIX}_confirm_{job.id}"):
                _act("delete", job)
            if no.button("Keep it", key=f"{PREFIX}_keep_{job.id}"):
                st.session_state.pop(f"{PREFIX}_confirm_delete", None)
                st.rerun()


def job_detail_ui(job: JobView) -> None:
    with st.container(border=True):
        st.markdown(f"#### {plain_text(job.name)}")
        st.caption(
            f"{job.badge} · job `{job.id}` · priority {job.priority} · "
            f"created {human_time(job.created_at)} · attempt {max(job.attempt, 1)}"
        )
        if job.is_active:
            st.progress(job.progress, text=f"{job.progress:.0%} · {job.progress_text}")
        elif job.status == "completed":
            st.success(job.finished_text, icon=":material/check_circle:")
        elif job.status == "failed":
            st.error(
                plain_text(job.error or "The analysis failed without a reason."),
                icon=":material/error:",
            )
        elif job.status == "cancelled":
            st.info("This analysis was cancelled. Retry to run it again.", icon=":material/block:")
        actions_ui(job)
        if job.status in ("failed", "cancelled", "running"):
            with (
                st.expander("Log (last lines)", expanded=job.status == "failed"),
                shown_errors("Reading the log"),
            ):
                log = job_service.read_job_log(job_id=job.id, tail_bytes=LOG_TAIL_BYTES)
                st.code(log or "The log is empty.", language=None)


@st.fragment(run_every=LIVE_REFRESH_S)
def live_jobs_ui(filters: JobFilters) -> None:
    """Refreshes itself every few seconds; the rest of the page does not reload."""
    notice = st.session_state.pop(f"{PREFIX}_notice", None)
    if notice:
        st.success(notice, icon=":material/check:")
    page = st.session_state.get(f"{PREFIX}_page", 1)
    with shown_errors("Loading jobs"), session_scope() as session:
        rows, total = job_service.list_jobs(
            session=session,
            status=filters.status,
            search=filters.search,
            created_from=filters.created_from,
            created_to=filters.created_to,
            page=page,
            page_size=PAGE_SIZE_ROWS,
        )
        jobs = [JobView.from_job(row) for row in rows]
        if total == 0:
            if any(vars(filters).values()):
                st.info("No job matches these filters.", icon=":material/filter_alt_off:")
            else:
                st.info(
                    "No analyses yet. Start one on the New analysis page: upload a match video "
                    "or pick one from the server inbox.",
                    icon=":material/movie:",
                )
                st.page_link("dashboard/pages/new_analysis.py", label="New analysis", icon="➡️")
            return
        if not jobs and page > 1:
            # The filters shrank the result below the remembered page: start again at page 1.
            st.session_state[f"{PREFIX}_page"] = 1
            st.rerun()
        st.caption(f"{total} job{'s' if total != 1 else ''}; live, refreshed every few seconds")
        st.dataframe(
            jobs_table(jobs),
            hide_index=True,
            column_config={"Progress": progress_column()},
        )
        pages = max(1, -(-total // PAGE_SIZE_ROWS))
        if pages > 1:
            chosen = st.pagination(pages, default=min(page, pages), key=f"{PREFIX}_pager")
            if chosen != page:
                st.session_state[f"{PREFIX}_page"] = chosen
                st.rerun()
        by_id = {job.id: job for job in jobs}
        selected = st.selectbox(
            "Job",
            list(by_id),
            format_func=lambda job_id: by_id[job_id].choice_label,
            key=f"{PREFIX}_selected",
        )
        if selected:
            job_detail_ui(by_id[selected])


st.title("Jobs")
live_jobs_ui(filters_ui())
