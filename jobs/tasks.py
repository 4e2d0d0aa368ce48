"""The task that analyses one job: claim it, run the pipeline, record the outcome.

It never raises for a bad video or a pipeline bug: the job is marked failed (reason in
Job.error, traceback in run.log) and the worker goes on to the next job.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import traceback
from dataclasses import dataclass

from huey import Huey
from huey.api import TaskWrapper
from sqlmodel import Session

from backend.config import with_machine_settings
from backend.db import WORKER_WRITE_DEADLINE_S, retry_when_locked, session_scope
from backend.models import Job
from backend.pipeline.errors import PipelineCancelled, PipelineError
from backend.pipeline.settings import PipelineSettings, Progress
from backend.services import analysis, runner
from backend.services.files import job_outputs_dir

TASK_NAME = "run_analysis"
# Beats from a side thread so long steps without progress callbacks (model load, final
# encode) never look like a dead worker; well under NETBALL_HEARTBEAT_TIMEOUT_S.
HEARTBEAT_INTERVAL_S = 5.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"

log = logging.getLogger("courtside.worker")


@dataclass(frozen=True)
class Outcome:
    status: str  # "completed" | "failed" | "cancelled"
    reason: str | None = None
    summary: dict | None = None


def register_tasks(huey: Huey) -> TaskWrapper:
    return huey.task(name=TASK_NAME)(run_analysis)


def run_analysis(job_id: str) -> None:
    # A claim lost to a locked database would leave the job queued with its message consumed.
    claimed = retry_when_locked(
        lambda session: runner.claim_job(session=session, job_id=job_id, prepare=False),
        deadline_s=WORKER_WRITE_DEADLINE_S,
        what=f"claiming job {job_id}",
    )
    if claimed is None:
        log.info("job %s skipped: no longer queued (cancelled or deleted)", job_id)
        return
    job = retry_when_locked(
        lambda session: runner.prepare_claimed(session=session, job_id=job_id),
        deadline_s=WORKER_WRITE_DEADLINE_S,
        what=f"preparing job {job_id}",
    )
    log.info("job %s started (attempt %d, pid %d)", job_id, job.attempts, os.getpid())
    try:
        outcome = _run_claimed(job)
        _record(job_id, outcome)
    except Exception as exc:
        # Recovery never takes a job from a live worker process, so a row left 'running' by an
        # error outside the analysis (run.log not writable, database locked) would stay so.
        log.exception("job %s: worker error around the analysis", job_id)
        reason = f"worker error: {type(exc).__name__}: {exc}"
        if runner.is_disk_full(exc):  # the outcome itself could not be recorded
            frames = job.frames_total or 0
            reason = runner.disk_full_reason(
                exc, frames_done=frames, frames_total=frames,
                bytes_written=runner.discard_outputs(job_id),
            ) or reason  # fmt: skip

        def fail(session: Session) -> None:
            if runner.still_owned(session=session, job_id=job_id):
                runner.fail_job(session=session, job_id=job_id, reason=reason)

        retry_when_locked(fail, deadline_s=WORKER_WRITE_DEADLINE_S, what=f"failing job {job_id}")
        return
    log.info("job %s %s%s", job_id, outcome.status, f": {outcome.reason}" if outcome.reason else "")


def _run_claimed(job: Job) -> Outcome:
    recorder = runner.ProgressRecorder(job.id)
    job_log, handler = _open_job_log(job.id)
    beat = _Heartbeat(recorder)
    beat.start()
    try:
        return _analyse(job, recorder, job_log)
    except KeyboardInterrupt:
        # The consumer is stopping (Ctrl-C / SIGTERM): hand the job to the next worker start.
        job_log.warning("worker shutting down; job returned to the queue")
        beat.stop()
        handler.close()
        with session_scope() as session:
            runner.return_to_queue(session=session, job_id=job.id, note="worker stopped; re-queued")
        raise
    finally:
        beat.stop()
        handler.close()
        job_log.removeHandler(handler)


def _record(job_id: str, outcome: Outcome) -> None:
    def record(session: Session) -> None:
        if not runner.still_owned(session=session, job_id=job_id):
            log.warning("job %s was recovered by another worker meanwhile; result dropped", job_id)
            return
        if outcome.status == "completed":
            runner.complete_job(session=session, job_id=job_id, summary=outcome.summary)
        elif outcome.status == "cancelled":
            runner.cancel_running_job(session=session, job_id=job_id)
        else:
            # Half a result is no result: only the log of a failed attempt is kept (on a full
            # disk this also frees the space the failure itself needs to be recorded).
            runner.discard_outputs(job_id)
            runner.fail_job(session=session, job_id=job_id, reason=outcome.reason or "failed")

    # A live worker's job is never recovered, so a final status lost to a lock would leave
    # it 'running' for good: this write waits the lock out.
    retry_when_locked(record, deadline_s=WORKER_WRITE_DEADLINE_S, what=f"recording job {job_id}")


def _analyse(job: Job, recorder: runner.ProgressRecorder, job_log: logging.Logger) -> Outcome:
    job_log.info("job %s: %s (attempt %d)", job.id, job.original_name, job.attempts)
    try:
        from backend.workflow import analyse_match

        settings = with_machine_settings(PipelineSettings.from_dict(job.settings))
        if settings.torch_threads is None and os.environ.get("NETBALL_TORCH_THREADS"):
            threads = int(os.environ["NETBALL_TORCH_THREADS"])
            settings = dataclasses.replace(settings, torch_threads=threads)
        job_log.info("settings: %s", settings.to_dict())

        def on_progress(progress: Progress) -> None:
            recorder.record(
                progress.frames_done,
                progress.frames_total,
                progress.fps,
                progress.eta_s,
                phase=progress.phase,
            )

        with session_scope() as session:
            stored = analysis.stored_inputs(session=session, job_id=job.id)
        result = analyse_match(
            runner.input_path(job),
            job_outputs_dir(job.id),
            settings,
            calibration=job.settings.get("calibration"),
            inputs=analysis.inputs_for(job, stored),
            on_progress=on_progress,
            should_cancel=recorder.cancel_requested,
            logger=job_log,
        )
    except PipelineCancelled:
        job_log.info("cancelled by request")
        return Outcome("cancelled")
    except PipelineError as exc:
        job_log.error("analysis failed: %s\n%s", exc, traceback.format_exc())
        return Outcome("failed", reason=_disk_full(exc, recorder) or str(exc))
    except Exception as exc:
        job_log.error("unexpected error:\n%s", traceback.format_exc())
        return Outcome(
            "failed",
            reason=_disk_full(exc, recorder) or f"unexpected error: {type(exc).__name__}: {exc}",
        )
    job_log.info("completed: %d files", len(result.files))
    return Outcome("completed", summary=_json_safe(result.summary))


def _disk_full(exc: BaseException, recorder: runner.ProgressRecorder) -> str | None:
    # Stage 1 reports what its removed partial files held; a later step fills the disk with
    # stage 1's published outputs in place.
    outputs = job_outputs_dir(recorder.job_id)
    published = sum(p.stat().st_size for p in outputs.rglob("*") if p.is_file())
    return runner.disk_full_reason(
        exc,
        frames_done=recorder.frames_done,
        frames_total=recorder.frames_total,
        bytes_written=max(getattr(exc, "bytes_written", 0), published),
    )


def _json_safe(summary: dict) -> dict:
    return json.loads(json.dumps(summary, default=str))


def _open_job_log(job_id: str) -> tuple[logging.Logger, logging.Handler]:
    """A logger writing data/jobs/<id>/outputs/run.log (the outputs folder exists once claimed)."""
    job_log = logging.getLogger(f"courtside.job.{job_id}")
    job_log.setLevel(logging.INFO)
    job_log.propagate = False
    for old in list(job_log.handlers):
        job_log.removeHandler(old)
    path = job_outputs_dir(job_id) / "run.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    job_log.addHandler(handler)
    return job_log, handler


class _Heartbeat(threading.Thread):
    def __init__(self, recorder: runner.ProgressRecorder) -> None:
        super().__init__(name="job-heartbeat", daemon=True)
        self._recorder = recorder
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(HEARTBEAT_INTERVAL_S):
            try:
                self._recorder.heartbeat()
            except Exception:
                log.exception("heartbeat of job %s failed", self._recorder.job_id)

    def stop(self) -> None:
        self._stop_event.set()
