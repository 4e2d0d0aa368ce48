"""Admin: workers and queue, metrics, storage use and cleanup. Password-protected when set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.config import get_settings
from backend.db import session_scope
from backend.services import metrics as metrics_service
from backend.services import storage as storage_service
from backend.services.storage import CleanupReport
from dashboard.components.admin_gate import password_gate_ui
from dashboard.components.charts import storage_breakdown_figure, throughput_figure
from dashboard.components.feedback import shown_errors
from dashboard.components.formatting import human_bytes, human_duration, time_ago
from dashboard.components.job_view import progress_column

PREFIX = "admin"
CLEANABLE_STATUSES = storage_service.CLEANABLE_STATUSES


def processor_ui() -> None:
    with session_scope() as session:
        status = metrics_service.processor_status(session=session)
        metrics = metrics_service.job_metrics(session=session)
        series = metrics_service.throughput_series(session=session, hours=24)
    columns = st.columns(4)
    columns[0].metric("Worker processes", status.configured_workers)
    # The count alone, so that it fits a quarter of the page; the registered total below it.
    columns[1].metric(
        "Workers alive",
        len(status.live_workers),
        f"of {len(status.workers)} registered",
        delta_color="off",
        delta_arrow="off",
    )
    columns[2].metric("Last heartbeat", time_ago(status.last_heartbeat_at))
    columns[3].metric("Waiting in queue", status.queued_total)
    st.caption(f"Queue: {status.queue}")
    if not status.consumer_alive:
        st.warning(
            "No worker is processing the queue. Start one with `./run.sh` or "
            "`.venv/bin/python huey_worker.py`.",
            icon=":material/warning:",
        )
    if status.workers:
        st.markdown("**Workers**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Host": worker.host,
                        "pid": worker.pid,
                        "State": "alive" if worker.alive else "stopped",
                        "Processes": worker.processes,
                        "Running jobs": ", ".join(worker.running_jobs) or "–",
                        "Last heartbeat": time_ago(worker.heartbeat_at),
                        "Started": time_ago(worker.started_at),
                    }
                    for worker in status.workers
                ]
            ),
            hide_index=True,
        )
    if status.queue_depth:
        st.caption(
            "Queue by priority: "
            + ", ".join(f"{name} {count}" for name, count in status.queue_depth.items())
        )
    if status.running:
        st.markdown("**Running now**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Job ID": job.job_id,
                        "Video": job.original_name,
                        "Progress": round(job.progress * 100),
                        "fps": job.fps,
                        "ETA": human_duration(job.eta_s),
                        "Worker": f"{job.worker_host} pid {job.worker_pid}",
                    }
                    for job in status.running
                ]
            ),
            hide_index=True,
            column_config={"Progress": progress_column()},
        )
    st.markdown("**Metrics**")
    cols = st.columns(4)
    cols[0].metric(
        "Completed (1 h / 24 h)", f"{metrics.completed_last_hour} / {metrics.completed_last_day}"
    )
    cols[1].metric("Failed (1 h / 24 h)", f"{metrics.failed_last_hour} / {metrics.failed_last_day}")
    cols[2].metric(
        "Mean analysis speed", f"{metrics.mean_fps:.1f} fps" if metrics.mean_fps else "–"
    )
    cols[3].metric(
        "Mean wait / run",
        f"{human_duration(metrics.mean_wait_s)} / {human_duration(metrics.mean_run_s)}",
    )
    st.plotly_chart(throughput_figure(series), key=f"{PREFIX}_throughput")


def storage_ui() -> None:
    with session_scope() as session:
        stats = storage_service.storage_stats(session=session)
    used = stats.disk_total_bytes - stats.disk_free_bytes
    cols = st.columns(5)
    cols[0].metric("Stored by Courtside", human_bytes(stats.total_bytes))
    cols[1].metric("Files", f"{stats.total_files:,}")
    cols[2].metric("Jobs", f"{stats.jobs:,}")
    cols[3].metric(
        "Cache (built ZIPs)",
        human_bytes(stats.cache_bytes),
        f"{stats.cache_files} file(s)",
        delta_color="off",
        delta_arrow="off",
        help="Rebuilt on demand from the outputs. Cleanup removes those older than "
        f"{stats.cache_max_age_days:g} days (NETBALL_CACHE_MAX_AGE_DAYS).",
    )
    cols[4].metric(
        "Disk free",
        human_bytes(stats.disk_free_bytes),
        f"{used / stats.disk_total_bytes:.0%} used" if stats.disk_total_bytes else None,
        delta_color="off",
        delta_arrow="off",
    )
    st.caption(f"Data folder: `{stats.data_dir}`")
    if not stats.total_bytes:
        st.info("Nothing stored yet.", icon=":material/hard_drive:")
        return
    chart_col, table_col = st.columns([1, 1])
    with chart_col:
        st.markdown("**By kind of file**")
        st.plotly_chart(storage_breakdown_figure(stats.bytes_by_kind), key=f"{PREFIX}_storage")
    with table_col:
        st.markdown("**Largest jobs**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Video": usage.original_name,
                        "Status": usage.status,
                        "Size": human_bytes(usage.bytes),
                        "Files": usage.files,
                        "Job ID": usage.job_id,
                    }
                    for usage in stats.largest_jobs
                ]
            ),
            hide_index=True,
        )


def cleanup_ui() -> None:
    st.markdown(
        "Remove finished jobs and their files. Queued and running jobs are never touched. "
        "Folders no job owns are removed too, and files that vanished from disk are flagged. "
        "Cached ZIPs older than the cache age go too; outputs stay, and a ZIP is rebuilt when "
        "it is downloaded again."
    )
    with st.form(f"{PREFIX}_cleanup_form"):
        left, right = st.columns(2)
        older = left.number_input(
            "Finished more than this many days ago",
            min_value=0.0,
            value=30.0,
            step=1.0,
            key=f"{PREFIX}_older_days",
        )
        statuses = right.multiselect(
            "With status",
            CLEANABLE_STATUSES,
            default=["failed", "cancelled"],
            key=f"{PREFIX}_statuses",
        )
        cache_days = left.number_input(
            "Cached ZIPs built more than this many days ago",
            min_value=0.0,
            value=float(get_settings().cache_max_age_days),
            step=1.0,
            key=f"{PREFIX}_cache_days",
        )
        preview = st.form_submit_button("Preview cleanup", icon=":material/preview:")
    rule = {
        "older_than_days": float(older),
        "statuses": list(statuses),
        "cache_older_than_days": float(cache_days),
    }
    if preview:
        with shown_errors("Previewing the cleanup"), session_scope() as session:
            report = storage_service.cleanup_storage(session=session, dry_run=True, **rule)
            st.session_state[f"{PREFIX}_preview"] = (rule, report)
    pending = st.session_state.get(f"{PREFIX}_preview")
    if not pending:
        return
    previewed_rule, report = pending
    if previewed_rule != rule:
        st.caption("The rule changed since the preview: preview again.")
        return
    report_ui(report, dry_run=True)
    if not (report.jobs or report.orphan_dirs or report.missing_files or report.caches):
        return
    if st.button(
        f"Delete now and free {human_bytes(report.bytes_freed)}",
        type="primary",
        icon=":material/delete_forever:",
        key=f"{PREFIX}_cleanup_confirm",
    ):
        with shown_errors("Cleaning up"), session_scope() as session:
            done = storage_service.cleanup_storage(session=session, dry_run=False, **rule)
            st.session_state.pop(f"{PREFIX}_preview", None)
            st.success(
                f"Removed {len(done.jobs)} job(s), {len(done.orphan_dirs)} stray folder(s) and "
                f"{len(done.caches)} cached ZIP(s); freed {human_bytes(done.bytes_freed)}.",
                icon=":material/check_circle:",
            )


def report_ui(report: CleanupReport, *, dry_run: bool) -> None:
    jobs, orphans, missing = report.jobs, report.orphan_dirs, report.missing_files
    verb = "would be" if dry_run else "were"
    st.markdown(
        f"**{len(jobs)} job(s) and {len(orphans)} stray folder(s) {verb} removed, freeing "
        f"{human_bytes(report.bytes_freed)}.**"
    )
    if jobs:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Video": usage.original_name,
                        "Status": usage.status,
                        "Size": human_bytes(usage.bytes),
                        "Job ID": usage.job_id,
                    }
                    for usage in jobs
                ]
            ),
            hide_index=True,
        )
    if orphans:
        st.caption("Stray folders: " + ", ".join(orphans))
    if report.caches:
        st.caption(
            f"{len(report.caches)} cached ZIP(s) {verb} removed "
            f"({human_bytes(report.cache_bytes_freed)}); the outputs stay: "
            + ", ".join(report.caches)
        )
    if missing:
        st.caption(f"{len(missing)} file(s) missing on disk {verb} flagged: " + ", ".join(missing))


st.title("Admin")
if password_gate_ui():
    processing_tab, storage_tab, cleanup_tab = st.tabs(["Processing", "Storage", "Cleanup"])
    with processing_tab, shown_errors("Loading processor status"):
        processor_ui()
    with storage_tab, shown_errors("Loading storage statistics"):
        storage_ui()
    with cleanup_tab:
        cleanup_ui()
