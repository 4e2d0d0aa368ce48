"""One row per dropped file with its own verdict: checked on drop, and its queuing outcome.

A refusal shown below the button scrolled out of sight on a page of several files; each
file's result now sits with the file, before and after the button is pressed.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from backend.services import jobs as job_service
from backend.services.errors import ServiceError
from dashboard.components.formatting import human_bytes, human_duration
from dashboard.components.text import plain_text


@dataclass(frozen=True)
class FileVerdict:
    ok: bool
    text: str  # the reason of a refusal, or what the video is


def check_file(file) -> FileVerdict:
    """Type, size and a real decode of the first frame, from the bytes still in memory."""
    try:
        info = job_service.inspect_upload(
            original_name=file.name, size_bytes=file.size, stream=file
        )
    except ServiceError as exc:
        return FileVerdict(False, str(exc))
    shape = "portrait" if info.height > info.width else "landscape"
    return FileVerdict(
        True,
        f"{info.width}×{info.height} {shape} · {human_duration(info.duration_s)} · "
        f"{info.fps:.0f} fps · ready to analyse",
    )


def file_rows_ui(files: list, *, state_prefix: str) -> list:
    """Draw each file with its verdict; return the files that can be queued now.

    Verdicts are kept per uploaded file in the session (a file is decoded once, not on every
    rerun); `outcomes` of a queuing attempt (set by `record_outcome`) win over them.
    """
    checks: dict[str, FileVerdict] = st.session_state.setdefault(f"{state_prefix}_checks", {})
    queued: dict[str, str] = st.session_state.setdefault(f"{state_prefix}_queued_files", {})
    failed: dict[str, str] = st.session_state.setdefault(f"{state_prefix}_failed_files", {})
    ready = []
    for file in files:
        with st.container(border=True):
            st.markdown(f":material/movie: **{plain_text(file.name)}** · {human_bytes(file.size)}")
            if file.file_id in queued:
                st.markdown(
                    f":material/check: **{plain_text(file.name)}** is already queued as "
                    f"`{queued[file.file_id]}`"
                )
                continue
            if file.file_id in failed:
                st.error(f"Not queued: {plain_text(failed[file.file_id])}", icon=":material/error:")
            if file.file_id not in checks:
                checks[file.file_id] = check_file(file)
            verdict = checks[file.file_id]
            if verdict.ok:
                st.caption(f":material/check_circle: {plain_text(verdict.text)}")
                ready.append(file)
            else:
                st.error(plain_text(verdict.text), icon=":material/block:")
    return ready


def record_outcome(
    file, *, state_prefix: str, job_id: str | None = None, error: str | None = None
) -> None:
    """Remember what happened when `file` was queued, for its row after the rerun."""
    queued = st.session_state.setdefault(f"{state_prefix}_queued_files", {})
    failed = st.session_state.setdefault(f"{state_prefix}_failed_files", {})
    if job_id is not None:
        queued[file.file_id] = job_id
        failed.pop(file.file_id, None)
    else:
        failed[file.file_id] = error or "queuing failed"
