"""Service objects -> the dicts the response models describe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.services.jobs import allowed_actions

if TYPE_CHECKING:
    from backend.models import Job, JobFile

SERVICE_NAME = "courtside"


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "original_name": job.original_name,
        "status": job.status,
        "priority": job.priority,
        "progress": job.progress,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "fps": job.fps,
        "eta_s": job.eta_s,
        "error": job.error,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "input_size_bytes": job.input_size_bytes,
        "created_at": job.created_at,
        "queued_at": job.queued_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "heartbeat_at": job.heartbeat_at,
        "settings": job.settings,
        "video_info": job.video_info,
        "allowed_actions": sorted(allowed_actions(job)),
    }


STATUS_KEYS = (
    "id", "status", "progress", "frames_done", "frames_total", "fps", "eta_s", "error",
    "cancel_requested", "attempts", "started_at", "finished_at", "heartbeat_at", "allowed_actions",
)  # fmt: skip


def status_payload(job: Job) -> dict[str, Any]:
    full = job_payload(job)
    return {key: full[key] for key in STATUS_KEYS}


def file_payload(row: JobFile) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "role": row.role,
        "relpath": row.relpath,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "mime": row.mime,
        "created_at": row.created_at,
        "missing": row.missing,
        "download_url": f"/jobs/{row.job_id}/download/{download_key(row)}",
    }


def download_key(row: JobFile) -> str:
    """The file_type that names this file in a download URL."""
    if row.role == "archive":
        return "archive"
    if row.role == "input":
        return "input"
    return row.relpath.removeprefix("outputs/")
