"""A detached, read-only picture of a job for rendering.

Pages read jobs inside a `session_scope()` and turn them into `JobView`s there, so nothing is
rendered from an ORM object whose session has closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from backend.services.jobs import ACTIVE_STATUSES
from dashboard.components.formatting import as_utc, human_duration, human_time, progress_line

if TYPE_CHECKING:  # the dashboard gets jobs from the services, it never queries models itself
    from backend.models import Job

# What a running job is doing before its frames count (backend.models.PHASE_LABELS in words).
PHASE_TEXT = {
    "starting": "starting the analysis",
    "loading_model": "loading the detector (once per worker)",
    "learning_teams": "learning the team colours from sampled frames",
    "writing_outputs": "writing the outputs and netball statistics",
}
STATUS_BADGES = {
    "queued": ":material/schedule: queued",
    "running": ":material/autorenew: running",
    "completed": ":material/check_circle: completed",
    "failed": ":material/error: failed",
    "cancelled": ":material/block: cancelled",
}


@dataclass(frozen=True)
class JobView:
    id: str
    name: str
    status: str
    priority: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    progress: float
    frames_done: int | None
    frames_total: int | None
    fps: float | None
    eta_s: float | None
    error: str
    attempt: int
    cancel_requested: bool
    settings: dict = field(default_factory=dict)
    video: dict = field(default_factory=dict)
    phase: str = "queued"
    queued_at: datetime | None = None
    # summary.json "timings" of a finished run (model_load_s, team_fit_s, main_pass_s, ...).
    timings: dict = field(default_factory=dict)

    @classmethod
    def from_job(cls, job: Job) -> JobView:
        return cls(
            id=job.id,
            name=job.original_name,
            status=str(job.status),
            priority=str(job.priority),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            progress=min(max(job.progress or 0.0, 0.0), 1.0),
            frames_done=job.frames_done,
            frames_total=job.frames_total,
            fps=job.fps,
            eta_s=job.eta_s,
            error=job.error or "",
            attempt=job.attempts,
            cancel_requested=job.cancel_requested,
            settings=dict(job.settings or {}),
            video=dict(job.video_info or {}),
            phase=str(job.phase or "queued"),
            queued_at=job.queued_at,
            timings=_timings(job.summary or {}),
        )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def badge(self) -> str:
        return STATUS_BADGES.get(self.status, self.status)

    @property
    def progress_text(self) -> str:
        if self.status == "queued":
            return "waiting for a free worker"
        if self.cancel_requested and self.status == "running":
            return "stopping at the next frame batch"
        if self.status == "running" and self.phase != "analysing":
            # Before the first frame the count reads 0 for a while: say what it waits for.
            return PHASE_TEXT.get(self.phase, self.phase.replace("_", " "))
        return progress_line(
            frames_done=self.frames_done,
            frames_total=self.frames_total,
            fps=self.fps,
            eta_s=self.eta_s,
        )

    @property
    def run_time_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def running_for_s(self) -> float | None:
        """How long a running job has been at it so far (the live tables tick it on)."""
        if self.status != "running" or self.started_at is None:
            return None
        return max(0.0, (datetime.now(UTC) - as_utc(self.started_at)).total_seconds())

    @property
    def run_time_text(self) -> str:
        if self.running_for_s is not None:
            return f"{human_duration(self.running_for_s)} so far"
        return human_duration(self.run_time_s)

    @property
    def wait_s(self) -> float | None:
        if self.queued_at is None or self.started_at is None:
            return None
        return max(0.0, (as_utc(self.started_at) - as_utc(self.queued_at)).total_seconds())

    @property
    def finished_text(self) -> str:
        """Which time is which: the run (start-up + analysis + writing) and the queue wait."""
        run = self.run_time_s
        analysis = self.timings.get("main_pass_s")
        # Stage 2 (netball analytics) runs after stage 1 has written its files.
        writing = (self.timings.get("finalize_s") or 0.0) + (self.timings.get("analytics_s") or 0.0)
        parts = []
        if run is not None and isinstance(analysis, int | float):
            startup = max(0.0, run - analysis - writing)
            parts.append(
                f"start-up {human_duration(startup)} (loading the detector, learning "
                "the team colours)"
            )
            frames = self.frames_total or self.frames_done
            speed = f" at {self.fps:.1f} frames per second" if self.fps else ""
            parts.append(
                f"analysis {human_duration(analysis)}"
                + (f" for {frames:,} frames" if frames else "")
                + speed
            )
            if writing:
                parts.append(f"writing the outputs and statistics {human_duration(writing)}")
        elif self.fps:
            parts.append(f"{self.fps:.1f} frames per second")
        text = f"Finished in {human_duration(run)}"
        if parts:
            text += ": " + ", ".join(parts)
        wait = self.wait_s
        if wait is not None:
            text += f". Waited {human_duration(wait)} in the queue before that"
        return text + "."

    @property
    def choice_label(self) -> str:
        """How a job reads in a select box. No status: a select box keeps showing the label it
        was first drawn with, so a live status would go stale on screen."""
        return f"{self.name} · {human_time(self.created_at)} · {self.id}"

    @property
    def team_names(self) -> dict[str, str]:
        names = self.settings.get("team_names") or {}
        return {"A": names.get("A") or "Team A", "B": names.get("B") or "Team B"}


def _timings(summary: dict) -> dict:
    """Stage 1's timings plus the analytics stage's total as `analytics_s`."""
    timings = dict(summary.get("timings") or {})
    analytics = ((summary.get("analytics") or {}).get("timings") or {}).get("total_s")
    if isinstance(analytics, int | float):
        timings["analytics_s"] = float(analytics)
    return timings


def jobs_table(jobs: list[JobView]) -> pd.DataFrame:
    """The rows of the Jobs and Overview tables, newest first as the services return them."""
    return pd.DataFrame(
        [
            {
                "Video": job.name,
                "Status": job.status,
                "Progress": round(job.progress * 100)
                if job.is_active or job.status == "completed"
                else None,
                "Priority": job.priority,
                "Created": human_time(job.created_at),
                "Run time": job.run_time_text,
                "Job ID": job.id,
            }
            for job in jobs
        ],
        columns=["Video", "Status", "Progress", "Priority", "Created", "Run time", "Job ID"],
    )


def progress_column() -> dict:
    """Whole percent: "12%" reads better in a table than "11.67%"."""
    return st.column_config.ProgressColumn("Progress", min_value=0, max_value=100, format="%d%%")
