"""Reading a finished job's output files for the API, the CLI and the dashboard.

Generic over whatever outputs a job has: stage 1 writes summary.json, tracks.csv, ball.csv,
players.csv and events.json today; stage 2 adds teams.csv, possession.csv and the `analytics`
key of summary.json (docs/analytics-contract.md). Readers parse, never recompute. Missing
files raise OutputNotFound, unknown jobs JobNotFound, unreadable files StorageError.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlmodel import Session

from backend.services.errors import InvalidArgument, JobStateError, OutputNotFound, StorageError
from backend.services.files import FileProblem, check_job_files
from backend.services.filestore import job_store
from backend.services.jobs import PAGE_SIZE_MAX, get_job, has_results

# A plain output file name: no folders, so a name from a URL cannot leave the outputs folder.
_OUTPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _output_path(job_id: str, name: str, default_suffix: str) -> tuple[str, str]:
    """(job id, path in the job) of an existing output file."""
    if not _OUTPUT_NAME.fullmatch(name) or ".." in name:
        raise InvalidArgument(f"{name!r} is not an output file name such as players.csv")
    if "." not in name:
        name += default_suffix
    if not job_store().exists(job_id, f"outputs/{name}"):
        raise OutputNotFound(f"job {job_id} has no {name}")
    return job_id, f"outputs/{name}"


def _read_text(where: tuple[str, str]) -> str:
    with job_store().open_read(*where) as stream:
        return io.TextIOWrapper(stream, encoding="utf-8", newline="").read()


def _cell(value: str) -> Any:
    """CSV text -> None (empty), int, float or the text itself."""
    if value == "":
        return None
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


def _read_json(where: tuple[str, str]) -> Any:
    try:
        return json.loads(_read_text(where))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        name = where[1].rsplit("/", 1)[-1]
        raise StorageError(f"{name} cannot be read as JSON ({exc})") from exc


def read_summary(*, session: Session, job_id: str) -> dict[str, Any]:
    """summary.json as a dict (with its `analytics` key once stage 2 has run)."""
    get_job(session=session, job_id=job_id)
    summary = _read_json(_output_path(job_id, "summary.json", ".json"))
    if not isinstance(summary, dict):
        raise StorageError(f"summary.json of job {job_id} holds no JSON object")
    return summary


def read_rows(*, session: Session, job_id: str, name: str) -> list[dict[str, Any]]:
    """One CSV output (`players`, `teams.csv`, ...) as dicts: empty cells None, numbers parsed."""
    get_job(session=session, job_id=job_id)
    where = _output_path(job_id, name, ".csv")
    try:
        with job_store().open_read(*where) as stream:
            handle = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            return [{k: _cell(v or "") for k, v in row.items()} for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        name = where[1].rsplit("/", 1)[-1]
        raise StorageError(f"{name} of job {job_id} cannot be read as CSV ({exc})") from exc


def read_events(
    *,
    session: Session,
    job_id: str,
    page: int = 1,
    page_size: int = 100,
    event_type: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of events.json's `events` (optionally of one type) and how many match."""
    if page < 1:
        raise InvalidArgument(f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise InvalidArgument(f"page_size must be between 1 and {PAGE_SIZE_MAX}, got {page_size}")
    get_job(session=session, job_id=job_id)
    document = _read_json(_output_path(job_id, "events.json", ".json"))
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise StorageError(f"events.json of job {job_id} has no 'events' list")
    if event_type:
        events = [e for e in events if isinstance(e, dict) and e.get("type") == event_type]
    start = (page - 1) * page_size
    return events[start : start + page_size], len(events)


def file_problems(*, session: Session, job_id: str) -> list[FileProblem]:
    """The job's inputs and outputs that are missing or changed on disk (Results page)."""
    return check_job_files(session=session, job_id=job_id)


def read_result(
    *,
    session: Session,
    job_id: str,
    events_page: int = 1,
    events_page_size: int = 100,
    event_type: str | None = None,
) -> dict[str, Any]:
    """Summary, per-player and per-team rows and one page of events of a completed job.

    Files a job does not have (teams.csv before stage 2) come back empty, not as errors.
    """
    job = get_job(session=session, job_id=job_id)
    if not has_results(job):
        raise JobStateError(
            f"job {job_id} is {job.status}; results can be read once it has completed"
        )

    def rows_or_empty(name: str) -> list[dict[str, Any]]:
        try:
            return read_rows(session=session, job_id=job_id, name=name)
        except OutputNotFound:
            return []

    try:
        events, events_total = read_events(
            session=session,
            job_id=job_id,
            page=events_page,
            page_size=events_page_size,
            event_type=event_type,
        )
    except OutputNotFound:
        events, events_total = [], 0
    return {
        "job_id": job_id,
        # Outputs missing or changed behind the system's back: readers say which and how.
        "file_problems": [p.to_dict() for p in check_job_files(session=session, job_id=job_id)],
        "summary": read_summary(session=session, job_id=job_id),
        "players": rows_or_empty("players.csv"),
        "teams": rows_or_empty("teams.csv"),
        "events": events,
        "events_total": events_total,
    }


# --- DataFrame readers (the dashboard caches these; the API uses the dict readers above) ---
TRACK_REQUIRED_COLUMNS = ("frame", "track_id", "class", "x1", "y1", "x2", "y2")
TRACK_OPTIONAL_COLUMNS = ("time_s", "team", "confidence", "source", "court_x", "court_y", "zone")


class OutputFormatError(ValueError):
    """An output file exists but is not what the pipeline contract describes."""


def read_tracks_csv(path: Path) -> pd.DataFrame:
    try:
        tracks = pd.read_csv(path, dtype={"team": "string", "class": "string", "zone": "string"})
    except pd.errors.EmptyDataError as exc:
        raise OutputFormatError(f"{path.name} is empty.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise OutputFormatError(f"{path.name} is not a readable CSV file ({exc}).") from exc
    missing = [name for name in TRACK_REQUIRED_COLUMNS if name not in tracks.columns]
    if missing:
        raise OutputFormatError(
            f"{path.name} lacks the column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(TRACK_REQUIRED_COLUMNS)}."
        )
    for name in TRACK_OPTIONAL_COLUMNS:
        if name not in tracks.columns:
            tracks[name] = pd.NA
    tracks["team"] = tracks["team"].astype("string").fillna("")
    tracks["class"] = tracks["class"].astype("string").fillna("")
    for name in ("x1", "y1", "x2", "y2", "court_x", "court_y", "time_s"):
        tracks[name] = pd.to_numeric(tracks[name], errors="coerce")
    return tracks


def read_summary_json(path: Path) -> dict:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OutputFormatError(f"{path.name} is not valid JSON ({exc}).") from exc
    if not isinstance(summary, dict):
        raise OutputFormatError(f"{path.name} should hold a JSON object, found {type(summary)}.")
    return summary


def read_table_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise OutputFormatError(f"{path.name} is not a readable CSV file ({exc}).") from exc


def read_json_file(path: Path) -> dict:
    """Any JSON object output (events.json, pass_network.json) with a clear error."""
    return read_summary_json(path)
