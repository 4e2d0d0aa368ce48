"""The netball analytics of a finished job: the analyst's inputs and rerunning stage 2.

Thin over backend.services.analysis, like the Results page's Match set-up and events editor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from backend.api import schemas
from backend.api.envelope import ok
from backend.api.routes_jobs import JobId
from backend.api.security import require_read_key, require_write_key
from backend.db import session_scope
from backend.services import analysis
from backend.services import jobs as job_service

router = APIRouter(tags=["analysis"])


class AnalysisInputs(BaseModel):
    """The analyst's stage-2 inputs (docs/analytics-contract.md); omitted keys are unchanged."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "periods": [{"start_s": 0, "end_s": 900}, {"start_s": 960, "end_s": 1860}],
                    "team_a_attacks": "right",
                    "positions": {"3": "GS", "7": "GK"},
                }
            ]
        },
    )
    periods: list[dict[str, float]] | None = Field(None, description="Quarters in video seconds.")
    team_a_attacks: str | None = Field(None, description="right, left, or null to infer.")
    positions: dict[str, str] | None = Field(None, description="track id -> GS, GA, ... GK.")
    team_overrides: dict[str, str] | None = Field(None, description="track id -> A, B, other.")
    corrections: dict[str, Any] | None = Field(
        None, description="added, deleted, changed, confirmed (see the contract)."
    )


class Reanalysis(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "3f2a9c81d0e4",
                    "seconds": 1.8,
                    "files": ["events.json", "players.csv"],
                    "warnings": [],
                    "counts": {"pass": 212, "shot": 41},
                    "score": {"A": {"periods": [12, 9, 14, 11], "total": 46}},
                }
            ]
        }
    )
    job_id: str
    seconds: float
    files: list[str]
    warnings: list[str]
    counts: dict[str, int]
    score: dict[str, Any] | None


@router.get(
    "/jobs/{job_id}/analysis",
    summary="The analyst's inputs to the netball analytics of a job",
    response_model=schemas.Envelope[dict[str, Any]],
    dependencies=[Depends(require_read_key)],
)
def get_inputs(job_id: JobId) -> Response:
    with session_scope() as session:
        job_service.get_job(session=session, job_id=job_id)
        return ok(analysis.stored_inputs(session=session, job_id=job_id))


@router.put(
    "/jobs/{job_id}/analysis",
    summary="Change the analyst's inputs and recompute the statistics (no detection)",
    response_model=schemas.Envelope[Reanalysis],
    dependencies=[Depends(require_write_key)],
    responses={409: {"description": "The job has not completed"}},
)
def put_inputs(job_id: JobId, inputs: AnalysisInputs = Body(...)) -> Response:  # noqa: B008
    changes = inputs.model_dump(exclude_unset=True)
    with session_scope() as session:
        analysis.update_inputs(session=session, job_id=job_id, **changes)
        return ok(analysis.reanalyse_job(session=session, job_id=job_id).to_dict())


@router.post(
    "/jobs/{job_id}/reanalyse",
    summary="Rerun the netball analytics on a completed job with its current inputs",
    response_model=schemas.Envelope[Reanalysis],
    dependencies=[Depends(require_write_key)],
    responses={409: {"description": "The job has not completed"}},
)
def reanalyse(job_id: JobId) -> Response:
    with session_scope() as session:
        return ok(analysis.reanalyse_job(session=session, job_id=job_id).to_dict())
