"""Stage 2 for a job: the analyst's inputs, and rerunning the netball analytics on them.

Detection (stage 1) runs once in the worker; everything the analyst can change afterwards
(calibration, positions, quarters, attacking direction, event corrections) reruns only
stage 2 here, in seconds, in the calling process. The job's files, summary and ZIP follow.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from backend.analytics.inputs import AnalyticsInputs
from backend.analytics.stage import run_analytics
from backend.models import Job, JobAnalysis, JobStatus, utcnow
from backend.services.errors import InvalidArgument, JobNotFound, JobStateError
from backend.services.files import job_outputs_dir, register_outputs

# Keys of JobAnalysis.inputs an analyst may set; the rest of AnalyticsInputs comes from the job.
ANALYST_INPUT_KEYS = ("periods", "team_a_attacks", "positions", "team_overrides", "corrections")
EMPTY_CORRECTIONS: dict[str, Any] = {"added": [], "deleted": [], "changed": {}, "confirmed": []}
ANALYSIS_LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


@dataclass(frozen=True)
class ReanalysisResult:
    job_id: str
    seconds: float
    files: list[str]
    analytics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "warnings": list(self.analytics.get("warnings") or []),
            "counts": dict(self.analytics.get("counts") or {}),
            "score": self.analytics.get("score"),
        }


def homography_of(job: Job) -> list[list[float]] | None:
    """The job's saved court calibration as an image-pixel -> court-metre matrix."""
    from backend.pipeline.view import ViewTransformer

    calibration = (job.settings or {}).get("calibration")
    if not calibration:
        return None
    if calibration.get("homography") is not None:
        return [list(map(float, row)) for row in calibration["homography"]]
    return ViewTransformer.from_dict(calibration).matrix.tolist()


def stored_inputs(*, session: Session, job_id: str) -> dict[str, Any]:
    """The analyst's stage-2 inputs of a job (empty ones when never set)."""
    row = session.get(JobAnalysis, job_id)
    stored = dict(row.inputs) if row is not None else {}
    stored.setdefault("corrections", {k: type(v)() for k, v in EMPTY_CORRECTIONS.items()})
    return stored


def inputs_for(job: Job, stored: dict[str, Any]) -> AnalyticsInputs:
    data = {k: v for k, v in stored.items() if k in ANALYST_INPUT_KEYS}
    data["homography"] = homography_of(job)
    data["team_names"] = {k: v for k, v in job.team_names.items() if k in ("A", "B")}
    try:
        return AnalyticsInputs.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"invalid analysis inputs: {exc}") from None


def update_inputs(*, session: Session, job_id: str, **changes: Any) -> dict[str, Any]:
    """Validate and store some of ANALYST_INPUT_KEYS; returns the whole stored inputs.

    Raises InvalidArgument naming the bad key; nothing is stored then.
    """
    job = _get_job(session, job_id)
    unknown = set(changes) - set(ANALYST_INPUT_KEYS)
    if unknown:
        raise InvalidArgument(
            f"unknown analysis input(s) {', '.join(sorted(unknown))}; "
            f"expected among {', '.join(ANALYST_INPUT_KEYS)}"
        )
    merged = {**stored_inputs(session=session, job_id=job_id), **changes}
    inputs_for(job, merged)  # raises before anything is stored
    row = session.get(JobAnalysis, job_id) or JobAnalysis(job_id=job_id)
    row.inputs = merged
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return merged


def run_stage2(job: Job, stored: dict[str, Any], logger: logging.Logger) -> dict[str, Any]:
    """Run the analytics on the job's stage-1 outputs; returns summary.json as written."""
    outputs = job_outputs_dir(job.id)
    run_analytics(outputs, inputs_for(job, stored), logger=logger)
    return json.loads((outputs / "summary.json").read_text())


def reanalyse_job(*, session: Session, job_id: str) -> ReanalysisResult:
    """Rerun stage 2 on a completed job with its current inputs, without detection.

    Raises JobStateError unless the job is completed, InvalidArgument for bad inputs; an
    analytics failure leaves the previous outputs in place and is recorded with its reason.
    """
    job = _get_job(session, job_id)
    if job.status != JobStatus.completed.value:
        raise JobStateError(
            f"job {job_id} is {job.status}: only a completed analysis can be reanalysed"
        )
    stored = stored_inputs(session=session, job_id=job_id)
    logger, handler = _job_logger(job_id)
    started = time.perf_counter()
    row = session.get(JobAnalysis, job_id) or JobAnalysis(job_id=job_id, inputs=stored)
    try:
        logger.info("reanalysing job %s (netball analytics only)", job_id)
        summary = run_stage2(job, stored, logger)
    except Exception as exc:
        row.error = f"{type(exc).__name__}: {exc}"
        session.add(row)
        session.commit()
        logger.exception("reanalysis failed")
        raise
    finally:
        handler.close()
        logger.removeHandler(handler)
    seconds = time.perf_counter() - started
    register_outputs(session=session, job_id=job_id)
    job.summary = summary
    row.analysed_at, row.analysis_s, row.error = utcnow(), seconds, None
    session.add_all([job, row])
    session.commit()
    analytics = summary.get("analytics") or {}
    return ReanalysisResult(job_id, seconds, list(summary.get("files") or []), analytics)


def _get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def _job_logger(job_id: str) -> tuple[logging.Logger, logging.Handler]:
    """Appends to the job's run.log, so the reanalysis is part of the job's story."""
    logger = logging.getLogger(f"courtside.reanalyse.{job_id}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(job_outputs_dir(job_id) / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter(ANALYSIS_LOG_FORMAT))
    logger.addHandler(handler)
    return logger, handler
