"""Health, processor status and metrics, storage statistics and clean-up."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from backend.api import schemas
from backend.api.envelope import ok
from backend.api.payloads import SERVICE_NAME
from backend.api.security import require_read_key, require_write_key
from backend.db import session_scope
from backend.services import metrics as metrics_service
from backend.services import storage as storage_service
from backend.services.storage import data_dir_id

router = APIRouter(tags=["system"])
THROUGHPUT_HOURS_MAX = 24 * 7


@router.get(
    "/health",
    summary="Database, queue, workers, model and disk checks with plain advice",
    response_model=schemas.Envelope[schemas.Health],
    dependencies=[Depends(require_read_key)],
)
def health() -> Response:
    """Always 200 when the API answers; `data.status` says ok, warn or error."""
    with session_scope() as session:
        report = metrics_service.health(session=session).to_dict()
    return ok({**report, "service": SERVICE_NAME, "data_dir_id": data_dir_id()})


@router.get(
    "/processor/status",
    summary="Worker process, queue depth by priority, running jobs",
    response_model=schemas.Envelope[schemas.ProcessorStatus],
    dependencies=[Depends(require_read_key)],
)
def processor_status() -> Response:
    with session_scope() as session:
        return ok(metrics_service.processor_status(session=session).to_dict())


@router.get(
    "/processor/metrics",
    summary="Jobs completed and failed, mean speed, wait and run times, hourly throughput",
    response_model=schemas.Envelope[schemas.ProcessorMetrics],
    dependencies=[Depends(require_read_key)],
)
def processor_metrics(
    hours: Annotated[int, Query(ge=1, le=THROUGHPUT_HOURS_MAX)] = 24,
) -> Response:
    with session_scope() as session:
        metrics = metrics_service.job_metrics(session=session).to_dict()
        series = metrics_service.throughput_series(session=session, hours=hours)
    return ok({**metrics, "throughput": series})


@router.get(
    "/storage/stats",
    summary="Bytes and files by kind, largest jobs, disk use",
    response_model=schemas.Envelope[schemas.StorageStats],
    dependencies=[Depends(require_read_key)],
)
def storage_stats() -> Response:
    with session_scope() as session:
        return ok(storage_service.storage_stats(session=session).to_dict())


@router.post(
    "/storage/cleanup",
    summary="Remove old finished jobs, orphan folders; flag vanished files (dry run by default)",
    response_model=schemas.Envelope[schemas.CleanupReport],
    dependencies=[Depends(require_write_key)],
)
def storage_cleanup(
    older_than_days: Annotated[float | None, Query(ge=0)] = None,
    status: Annotated[list[Literal["completed", "failed", "cancelled"]] | None, Query()] = None,
    dry_run: bool = True,
) -> Response:
    """Without older_than_days or status no job is removed, only orphans and vanished files."""
    with session_scope() as session:
        report = storage_service.cleanup_storage(
            session=session, older_than_days=older_than_days, statuses=status, dry_run=dry_run
        )
    return ok(report.to_dict())
