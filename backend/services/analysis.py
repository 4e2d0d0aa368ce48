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
from backend.services.analysed_scores import apply_analysed_score_for_job
from backend.services.errors import InvalidArgument, JobNotFound, JobStateError
from backend.services.files import job_outputs_dir, register_outputs
from backend.services.filestore import job_store, read_text

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
    # The analytics stage works on a local folder (see filestore.local_path).
    run_analytics(job_outputs_dir(job.id), inputs_for(job, stored), logger=logger)
    return json.loads(read_text(job_store(), job.id, "outputs/summary.json"))


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
    # A linked match takes its score from the confirmed goals at once, not at the next ladder.
    apply_analysed_score_for_job(session=session, job_id=job_id)
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


# Fields the events editor shows and may change; the rest of an event is stage 2's.
EDITOR_FIELDS = ("time_s", "type", "team", "track_id", "to_track_id", "outcome")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-6
    return a == b


def corrections_from_rows(
    automatic: list[dict[str, Any]], rows: list[dict[str, Any]], confirmed: list[str]
) -> dict[str, Any]:
    """The corrections that turn `automatic` into the analyst's edited table `rows`.

    A row with an automatic event's id is that event (changed where its EDITOR_FIELDS
    differ); an automatic event without a row was deleted; a row without an id, or with an
    analyst id (m-...), is the analyst's own event. The result is the whole state, so saving
    the same table twice stores the same corrections.
    """
    by_id = {e["id"]: e for e in automatic}
    seen: set[str] = set()
    changed: dict[str, dict[str, Any]] = {}
    added: list[dict[str, Any]] = []
    for row in rows:
        event_id = row.get("id") or ""
        fields = {k: row.get(k) for k in EDITOR_FIELDS if k in row}
        if event_id in by_id:
            seen.add(event_id)
            diff = {k: v for k, v in fields.items() if not _same(v, by_id[event_id].get(k))}
            if diff:
                changed[event_id] = diff
        else:
            if fields.get("time_s") is None or not fields.get("type"):
                raise InvalidArgument("a new event needs at least a type and a time (s)")
            added.append({k: v for k, v in fields.items() if v is not None})
    deleted = sorted(set(by_id) - seen)
    kept_confirmed = sorted(set(confirmed) & (seen - set(changed)))
    return {"added": added, "deleted": deleted, "changed": changed, "confirmed": kept_confirmed}


def _events_document(job_id: str) -> dict[str, Any]:
    try:
        document = json.loads(read_text(job_store(), job_id, "outputs/events.json"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"job {job_id} has no readable events.json ({exc})") from None
    if document.get("schema_version", 1) < 2 or "automatic" not in document:
        raise InvalidArgument(
            f"job {job_id} was analysed before events could be edited: reanalyse it first"
        )
    return document


def save_event_edits(
    *, session: Session, job_id: str, rows: list[dict[str, Any]]
) -> ReanalysisResult:
    """Store the analyst's edited events table as corrections and rerun stage 2."""
    automatic = _events_document(job_id)["automatic"]
    current = stored_inputs(session=session, job_id=job_id)["corrections"]
    corrections = corrections_from_rows(automatic, rows, list(current.get("confirmed") or []))
    update_inputs(session=session, job_id=job_id, corrections=corrections)
    return reanalyse_job(session=session, job_id=job_id)


def confirm_events(
    *, session: Session, job_id: str, event_ids: list[str], outcome: str | None = None
) -> ReanalysisResult:
    """Mark automatic events as checked by the analyst, optionally with a shot's outcome.

    A confirmed score is what the standings may count; the analyst's word beats automation.
    """
    automatic = {e["id"]: e for e in _events_document(job_id)["automatic"]}
    unknown = [i for i in event_ids if i not in automatic]
    if unknown:
        raise InvalidArgument(f"no automatic event {', '.join(unknown)} in job {job_id}")
    corrections = dict(stored_inputs(session=session, job_id=job_id)["corrections"])
    changed = dict(corrections.get("changed") or {})
    confirmed = set(corrections.get("confirmed") or [])
    for event_id in event_ids:
        if outcome is not None and automatic[event_id].get("outcome") != outcome:
            changed[event_id] = {**changed.get(event_id, {}), "outcome": outcome}
            confirmed.discard(event_id)
        elif event_id not in changed:
            confirmed.add(event_id)
    corrections.update(changed=changed, confirmed=sorted(confirmed))
    update_inputs(session=session, job_id=job_id, corrections=corrections)
    return reanalyse_job(session=session, job_id=job_id)
