"""Results of one analysis: summary, annotated video, charts, events and downloads."""

from __future__ import annotations

import streamlit as st

from backend.db import session_scope
from backend.services import files as file_service
from backend.services import jobs as job_service
from backend.services import results as results_service
from dashboard.components import (
    analysis,
    analytics_view,
    charts,
    details_view,
    event_editor,
    results_view,
)
from dashboard.components.feedback import errors_shown, shown_errors
from dashboard.components.job_view import JobView
from dashboard.components.outputs import load_job_outputs
from dashboard.components.text import plain_text

PREFIX = "results"
CHOOSER_JOBS = 50
PROGRESS_REFRESH_S = 2.0
# Choices that only make sense for one job: another job has other track IDs and event types,
# and a carried-over filter showed its events table empty. (The player selector's key has the
# job id in it instead: see results_view.heatmaps_ui.)
PER_JOB_KEYS = ("results_event_types", "results_event_teams")


def _label(job_id: str, job: JobView | None) -> str:
    return f"job {job_id}" if job is None else job.choice_label


def arrived_from_elsewhere() -> bool:
    """True on the first run of this page since another page (or the session) started;
    streamlit_app.py records the page of every full run."""
    return st.session_state.get("nav_previous_page") != st.session_state.get("nav_page")


def job_chooser_ui() -> str | None:
    """The job from the link (?job=...) or the newest completed one; returns its id."""
    with session_scope() as session:
        rows, _ = job_service.list_jobs(session=session, page=1, page_size=CHOOSER_JOBS)
        jobs = [JobView.from_job(row) for row in rows]
    if not jobs:
        st.info(
            "No analyses yet. Results appear here once a video has been analysed: start one on "
            "the New analysis page.",
            icon=":material/insights:",
        )
        st.page_link("dashboard/pages/new_analysis.py", label="New analysis", icon="➡️")
        return None
    by_id: dict[str, JobView | None] = {job.id: job for job in jobs}
    wanted = st.query_params.get("job")
    if wanted and wanted not in by_id:
        by_id[wanted] = None  # older than the list: still selectable
    completed = [job.id for job in jobs if job.status == "completed"]
    options = list(by_id)
    key = f"{PREFIX}_job"
    # The link (?job=...) chooses the job only on arrival at this page (the Jobs page's "Open
    # results", a bookmark); after that the select box is the one truth and the link follows
    # it. Every rerun request carries the browser's link as it was when sent, so a rerun
    # already on its way when a job was chosen here would otherwise put the old job back.
    if wanted and arrived_from_elsewhere() and st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    if st.session_state.get(key) not in options:
        st.session_state[key] = completed[0] if completed else jobs[0].id
    chosen = st.selectbox(
        "Analysis",
        options,
        format_func=lambda job_id: _label(job_id, by_id[job_id]),
        key=key,
        persist_state="session",  # back from another page, the same job is still shown
    )
    st.query_params["job"] = chosen
    return chosen


@st.fragment(run_every=PROGRESS_REFRESH_S)
@errors_shown("Checking the progress")
def waiting_ui(job_id: str) -> None:
    """Progress while the job runs; the full page reloads once it has finished."""
    with session_scope() as session:
        job = JobView.from_job(job_service.get_job(session=session, job_id=job_id))
    if not job.is_active:
        st.rerun(scope="app")
    st.info(
        "This analysis is not finished yet; its results appear here when it completes.",
        icon=":material/hourglass_top:",
    )
    st.progress(job.progress, text=f"{job.progress:.0%} · {job.progress_text}")


def _save_team_names(job_id: str, names: dict[str, str], notice: str) -> None:
    saved = False
    with shown_errors("Renaming the teams"), session_scope() as session:
        job_service.update_job_labels(session=session, job_id=job_id, team_names=names)
        saved = True
    if saved:
        st.session_state[f"{PREFIX}_notice"] = notice
        st.rerun()


def team_names_ui(job: JobView, styles: dict[str, charts.TeamStyle]) -> None:
    """Each team's shirt colour beside its name, a one-click swap and free renaming.

    The pipeline, not the analyst, decides which shirt colour is Team A, so names typed before
    the run can land on the wrong shirts.
    """
    name_a, name_b = job.team_names["A"], job.team_names["B"]
    with st.expander("Team names and shirt colours"):
        st.caption(
            "The analysis decides which shirt colour is Team A. If the names sit on the wrong "
            "colours (compare with the annotated video), swap them."
        )
        if st.button(
            f"Swap names: {name_b} ↔ {name_a}",
            key=f"{PREFIX}_swap_names",
            icon=":material/swap_horiz:",
        ):
            _save_team_names(
                job.id,
                {"A": name_b, "B": name_a},
                f"Swapped: {name_b} is now Team A, {name_a} Team B.",
            )
        with st.form(f"{PREFIX}_names_form", border=False):
            columns = st.columns(2)
            typed = {}
            for column, label in zip(columns, ("A", "B"), strict=True):
                column.markdown(results_view.team_swatch(styles[label]), unsafe_allow_html=True)
                typed[label] = column.text_input(f"Team {label}", value=job.team_names[label])
            if st.form_submit_button("Save names"):
                _save_team_names(job.id, typed, "Team names saved.")


def forget_choices_of_other_jobs(job_id: str) -> None:
    if st.session_state.get(f"{PREFIX}_shown_job") != job_id:
        for key in PER_JOB_KEYS:
            st.session_state.pop(key, None)
        st.session_state[f"{PREFIX}_shown_job"] = job_id


def results_ui(job: JobView) -> None:
    forget_choices_of_other_jobs(job.id)
    outputs = load_job_outputs(file_service.job_outputs_dir(job.id))
    details_view.warnings_ui(outputs.summary)
    with session_scope() as session:
        damaged = results_service.file_problems(session=session, job_id=job.id)
    for problem in [p.message for p in damaged] + outputs.problems:
        st.warning(plain_text(problem), icon=":material/warning:")
    results_view.summary_ui(job, outputs)
    styles = charts.team_styles(outputs.summary, job.team_names)
    team_names_ui(job, styles)
    if outputs.summary:
        details_view.analysis_details_ui(outputs.summary)

    (
        video_tab, stats_tab, heat_tab, move_tab, possession_tab, passes_tab, shots_tab,
        events_tab, setup_tab, files_tab,
    ) = st.tabs([
        "Video", "Statistics", "Heatmaps", "Tracks & ball", "Possession", "Passes", "Shots",
        "Events", "Match set-up", "Downloads",
    ])  # fmt: skip
    with video_tab:
        results_view.video_ui(outputs)
    with stats_tab:
        analytics_view.statistics_ui(outputs, styles)
    tracks = outputs.tracks
    if tracks is None or tracks.empty:
        for tab in (heat_tab, move_tab, possession_tab):
            tab.info("This job has no tracking data (tracks.csv).", icon=":material/scatter_plot:")
    else:
        space, points = outputs.positions()
        frame = analysis.drawing_frame(tracks, space, outputs.summary)
        note = (
            "Positions in metres on the court."
            if space == "court"
            else "The court was not calibrated: positions are in video pixels."
        )
        with heat_tab:
            st.caption(note)
            results_view.heatmaps_ui(
                points, frame, styles, results_view.seconds_per_row(tracks, outputs.summary), job.id
            )
        with move_tab:
            st.caption(note)
            results_view.movement_ui(points, frame, styles)
        with possession_tab:
            video = outputs.summary.get("video") or job.video
            results_view.possession_ui(outputs, styles, video.get("duration_s"))
    with passes_tab:
        analytics_view.pass_network_ui(outputs, styles)
    with shots_tab:
        analytics_view.shots_ui(job, outputs, styles)
    with events_tab:
        results_view.events_ui(outputs.events, styles)
        with st.expander("Edit events", icon=":material/edit_note:"):
            event_editor.events_editor_ui(job.id, outputs, styles)
    with setup_tab:
        analytics_view.setup_ui(job, outputs)
    with files_tab, shown_errors("Listing the files"):
        with session_scope() as session:
            files = file_service.list_job_files(session=session, job_id=job.id)
        results_view.files_ui(job.id, files)


st.title("Results")
for notice in (st.session_state.pop(f"{PREFIX}_notice", None), analytics_view.pop_notice()):
    if notice:
        st.toast(notice, icon=":material/check:")
with shown_errors("Loading the results"):
    job_id = job_chooser_ui()
    if job_id:
        with session_scope() as session:
            job = JobView.from_job(job_service.get_job(session=session, job_id=job_id))
        if job.is_active:
            waiting_ui(job.id)
        elif job.status == "failed":
            st.error(
                f"This analysis failed: {plain_text(job.error or 'no reason recorded')}",
                icon=":material/error:",
            )
            st.page_link("dashboard/pages/jobs.py", label="See its log and retry on the Jobs page")
        elif job.status == "cancelled":
            st.info("This analysis was cancelled before it finished.", icon=":material/block:")
            st.page_link("dashboard/pages/jobs.py", label="Retry it on the Jobs page")
        else:
            st.page_link(
                "dashboard/pages/calibrate.py",
                label="Calibrate the court on the video (metres, zones, speeds)",
                icon=":material/straighten:",
                query_params={"job": job.id},
            )
            results_ui(job)
