"""Small builders for platform tests: jobs in any state, with real files on disk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from backend.models import FileRole, Job, JobStatus, utcnow
from backend.services.files import describe_file, job_dir, register_outputs
from tests.synthetic import make_plain_clip

OUTPUT_FILES = {
    "tracks.csv": b"frame,time_s,track_id\n" + b"0,0.0,1\n" * 200,
    "summary.json": b'{"players": 4}',
    "annotated.mp4": bytes(range(256)) * 40,
    "heatmap_A.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 300,
    "run.log": b"started\nfinished\n",
}


def make_job(
    session: Session,
    *,
    status: JobStatus = JobStatus.queued,
    name: str = "match.mp4",
    priority: str = "normal",
    outputs: dict[str, bytes] | None = None,
    with_input: bool = False,
    age: timedelta = timedelta(0),
    **fields: object,
) -> Job:
    """A Job row in `status`; `outputs` are written to its outputs folder and registered."""
    now = utcnow() - age
    job = Job(original_name=name, input_name=name, priority=priority, status=status.value)
    job.created_at = job.queued_at = now
    if status is not JobStatus.queued:
        job.started_at = now
        job.heartbeat_at = now
    if status.is_finished:
        job.finished_at = now
    for key, value in fields.items():
        setattr(job, key, value)
    session.add(job)
    session.commit()
    if with_input:
        path = job_dir(job.id) / "input" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make_plain_clip(path, frames=5)
        session.add(describe_file(job.id, path, role=FileRole.input))
        session.commit()
    if outputs:
        write_outputs(session, job.id, outputs)
    return job


def write_outputs(session: Session, job_id: str, outputs: dict[str, bytes]) -> list[Path]:
    folder = job_dir(job_id) / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in outputs.items():
        path = folder / name
        path.write_bytes(content)
        paths.append(path)
    register_outputs(session=session, job_id=job_id)
    return paths
