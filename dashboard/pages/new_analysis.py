"""New analysis: upload videos or pick one already on the server, choose settings, queue."""

from __future__ import annotations

import streamlit as st

from backend.config import get_settings
from backend.db import session_scope
from backend.services import competitions as competition_service
from backend.services import jobs as job_service
from dashboard.components.analysis_form import AnalysisChoices, analysis_settings_ui
from dashboard.components.feedback import error_message, shown_errors
from dashboard.components.formatting import human_bytes, human_time
from dashboard.components.text import plain_text
from dashboard.components.upload_view import file_rows_ui, record_outcome

PREFIX = "new"
settings = get_settings()

st.title("New analysis")
st.caption(
    "Each video becomes one job: players and ball are detected and tracked, teams are told "
    "apart by shirt colour, and you get an annotated video, the netball statistics "
    "(possession, passes, turnovers, shots), heatmaps, and every output as files."
)

with st.container(border=True):
    st.subheader("Analysis settings")
    choices = analysis_settings_ui(key_prefix=PREFIX)


def show_queued(names_and_ids: list[tuple[str, str]]) -> None:
    for name, job_id in names_and_ids:
        st.success(
            f"Queued **{plain_text(name)}** as job `{job_id}`.", icon=":material/check_circle:"
        )
    if names_and_ids:
        st.page_link("dashboard/pages/jobs.py", label="Follow progress on the Jobs page", icon="➡️")
    for _, job_id in names_and_ids[:1]:
        # Clicking the court on a frame is easier than typing corners before the run.
        st.page_link(
            "dashboard/pages/calibrate.py",
            label="Calibrate the court on a frame of this video",
            icon=":material/straighten:",
            query_params={"job": job_id},
        )


def link_to_match(job_id: str) -> None:
    """A job whose match details name a stored competition, round and teams joins that match,
    so its confirmed score can count in the standings."""
    with shown_errors("Linking the video to its match"), session_scope() as session:
        competition_service.link_job_from_settings(session=session, job_id=job_id)


def upload_ui(choices: AnalysisChoices) -> None:
    uploader_key = f"{PREFIX}_uploader_{st.session_state.get(f'{PREFIX}_uploads_done', 0)}"
    files = st.file_uploader(
        "Match videos",
        accept_multiple_files=True,
        help=f"{', '.join(settings.allowed_video_extensions)}; up to {settings.max_upload_mb} MB "
        "each. Bigger files: use the server inbox.",
        # The browser refuses bigger files before sending a byte: NETBALL_MAX_UPLOAD_MB wins
        # over the static server.maxUploadSize in .streamlit/config.toml.
        max_upload_size=settings.max_upload_mb,
        key=uploader_key,
    )
    if not files:
        st.info(
            "Drop one or more match videos above. Each is checked (type, size, a decoded "
            "frame) as soon as it is dropped; nothing is queued before you press the button.",
            icon=":material/upload:",
        )
        return
    accepted = file_rows_ui(files, state_prefix=PREFIX)
    queued_ids: dict[str, str] = st.session_state[f"{PREFIX}_queued_files"]
    if not accepted and all(file.file_id in queued_ids for file in files):
        return
    label = f"Analyse {len(accepted)} video{'s' if len(accepted) != 1 else ''}"
    if choices.problem:
        st.warning(f"Fix this before queuing: {choices.problem}", icon=":material/edit_note:")
    blocked = not accepted or choices.problem is not None
    if not st.button(label, type="primary", disabled=blocked, key=f"{PREFIX}_submit"):
        return
    queued: list[tuple[str, str]] = []
    for file in accepted:
        file.seek(0)
        try:
            with session_scope() as session:
                job = job_service.submit_upload(
                    session=session,
                    stream=file,
                    original_name=file.name,
                    priority=choices.priority,
                    settings=choices.settings,
                )
        except Exception as exc:
            record_outcome(
                file, state_prefix=PREFIX, error=error_message(f"Queuing {file.name}", exc)
            )
        else:
            queued.append((file.name, job.id))
            record_outcome(file, state_prefix=PREFIX, job_id=job.id)
            link_to_match(job.id)
    st.session_state[f"{PREFIX}_queued"] = queued
    if len(queued) == len(accepted):
        # A fresh uploader key empties the widget so the same files are not queued twice.
        st.session_state[f"{PREFIX}_uploads_done"] = (
            st.session_state.get(f"{PREFIX}_uploads_done", 0) + 1
        )
    # Either way each file's row says what happened to it, where the analyst is looking.
    st.rerun()


def inbox_ui(choices: AnalysisChoices) -> None:
    st.markdown(
        f"Copy long recordings into **`{settings.inbox_dir}`** on the server (for example "
        "with `scp` or a shared folder), then pick them here. Nothing goes through the browser."
    )
    with shown_errors("Reading the inbox"):
        videos = job_service.list_inbox()
        if not videos:
            st.info("The inbox folder holds no videos yet.", icon=":material/inbox:")
            return
        names = st.multiselect(
            "Videos in the inbox",
            [video.name for video in videos],
            format_func=lambda name: next(
                f"{v.name} · {human_bytes(v.size_bytes)} · {human_time(v.modified_at)}"
                for v in videos
                if v.name == name
            ),
            key=f"{PREFIX}_inbox_pick",
        )
        move = st.checkbox(
            "Move the files into job storage instead of copying them",
            help="Saves disk space and time; the inbox no longer holds the file afterwards.",
            key=f"{PREFIX}_inbox_move",
        )
        if not st.button(
            f"Analyse {len(names)} inbox video{'s' if len(names) != 1 else ''}",
            type="primary",
            disabled=not names or choices.problem is not None,
            key=f"{PREFIX}_inbox_submit",
        ):
            return
        by_name = {video.name: video for video in videos}
        queued: list[tuple[str, str]] = []
        problems: list[str] = []
        for name in names:
            try:
                with session_scope() as session:
                    job = job_service.submit_path(
                        session=session,
                        source_path=by_name[name].path,
                        priority=choices.priority,
                        settings=choices.settings,
                        move=move,
                    )
            except Exception as exc:
                problems.append(error_message(f"Queuing {name}", exc))
            else:
                queued.append((name, job.id))
                link_to_match(job.id)
        # A copied file stays in the inbox: an emptied selection keeps a second click from
        # queuing it again. The outcome is shown after the rerun.
        st.session_state[f"{PREFIX}_inbox_outcome"] = (queued, problems)
        del st.session_state[f"{PREFIX}_inbox_pick"]
        st.rerun()


def inbox_outcome_ui() -> None:
    queued, problems = st.session_state.pop(f"{PREFIX}_inbox_outcome", ([], []))
    for problem in problems:
        st.error(plain_text(problem), icon=":material/error:")
    show_queued(queued)


upload_tab, inbox_tab = st.tabs(["Upload from this computer", "File already on the server"])
with upload_tab:
    show_queued(st.session_state.pop(f"{PREFIX}_queued", []))
    upload_ui(choices)
with inbox_tab:
    inbox_outcome_ui()
    inbox_ui(choices)
