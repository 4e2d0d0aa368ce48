"""Calibrate the court on a frame of the video: click landmarks (or detect the court lines),
check the fit drawn back on the frame and the players on a court diagram, save, copy."""

from __future__ import annotations

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from backend.db import session_scope
from backend.services import calibration as calibration_service
from backend.services import jobs as job_service
from backend.services.calibration import CalibrationFit
from backend.services.files import job_outputs_dir
from dashboard.components import calibration_view as view
from dashboard.components.feedback import shown_errors
from dashboard.components.job_view import JobView
from dashboard.components.outputs import load_job_outputs

PREFIX = "calibrate"
CHOOSER_JOBS = 50
BACKGROUND = "Court without players"
AT_TIME = "Video at a time"


def _key(job_id: str, name: str) -> str:
    return f"{PREFIX}_{job_id}_{name}"


def job_chooser_ui() -> str | None:
    with session_scope() as session:
        rows, _ = job_service.list_jobs(session=session, page=1, page_size=CHOOSER_JOBS)
        jobs = {row.id: JobView.from_job(row) for row in rows}
    wanted = st.query_params.get("job")
    if not jobs and not wanted:
        st.info("No analyses yet: upload a video on the New analysis page first.")
        st.page_link("dashboard/pages/new_analysis.py", label="New analysis", icon="➡️")
        return None
    options = list(jobs)
    if wanted and wanted not in jobs:
        options.append(wanted)
    index = options.index(wanted) if wanted in options else 0
    chosen = st.selectbox(
        "Analysis",
        options,
        index=index,
        format_func=lambda i: jobs[i].choice_label if i in jobs else f"job {i}",
        key=f"{PREFIX}_job",
    )
    st.query_params["job"] = chosen
    return chosen


@st.cache_data(show_spinner=False, max_entries=8)
def _frame(job_id: str, time_s: float | None, stamp: float):
    with session_scope() as session:
        return calibration_service.calibration_frame(session=session, job_id=job_id, time_s=time_s)


def frame_ui(job_id: str):
    """The frame to click on, the time it was taken at (None: the background frame)."""
    with session_scope() as session:
        duration = calibration_service.video_duration_s(session=session, job_id=job_id)
    has_background = (job_outputs_dir(job_id) / calibration_service.BACKGROUND_FRAME).exists()
    choices = [BACKGROUND, AT_TIME] if has_background else [AT_TIME]
    which = st.radio("Frame", choices, horizontal=True, key=_key(job_id, "which"))
    time_s = None
    if which == AT_TIME:
        time_s = st.slider(
            "Time (s)", 0.0, max(duration - 0.05, 0.0) or 0.0, 0.0, 0.5, key=_key(job_id, "time")
        ) if duration > 0.5 else 0.0  # fmt: skip
    stamp = (job_outputs_dir(job_id) / "summary.json").stat().st_mtime if has_background else 0.0
    with shown_errors("Reading the frame"):
        return _frame(job_id, time_s, stamp), time_s
    return None, time_s


def clicks_state(job_id: str) -> dict[str, list[float]]:
    key = _key(job_id, "points")
    if key not in st.session_state:
        with session_scope() as session:
            saved = calibration_service.saved_calibration(session=session, job_id=job_id) or {}
        st.session_state[key] = dict(saved.get("landmarks") or {})
    return st.session_state[key]


def prompt_ui(job_id: str, clicked: dict[str, list[float]]) -> str | None:
    """Which landmark the next click sets: the next one missing, or one chosen to correct."""
    suggestion = view.next_landmark(clicked)
    target_key = _key(job_id, "target")
    if st.session_state.get(target_key) in clicked or target_key not in st.session_state:
        st.session_state[target_key] = suggestion
    names = list(view.LANDMARK_ORDER)
    target = st.selectbox(
        "Next click sets",
        names,
        format_func=lambda n: view.label(n) + (" (clicked: moves it)" if n in clicked else ""),
        key=target_key,
    )  # fmt: skip
    undo, clear, detect = st.columns(3)
    if undo.button("Undo last point", disabled=not clicked, icon=":material/undo:"):
        clicked.pop(next(reversed(clicked)))
        st.session_state.pop(target_key, None)
        st.rerun()
    if clear.button("Clear all points", disabled=not clicked, icon=":material/delete:"):
        clicked.clear()
        st.session_state.pop(target_key, None)
        st.rerun()
    st.session_state[_key(job_id, "detect")] = detect.button(
        "Detect court lines", icon=":material/auto_fix_high:"
    )
    return target


def detect_ui(job_id: str, frame, clicked: dict[str, list[float]]) -> None:
    if not st.session_state.get(_key(job_id, "detect")):
        return
    with st.spinner("Looking for the court lines..."):
        guess = calibration_service.auto_fit(frame)
    st.session_state[_key(job_id, "auto")] = {"status": guess.status, "reason": guess.reason}
    if guess.homography is not None:
        clicked.clear()
        clicked.update(guess.landmarks_px)
        st.session_state.pop(_key(job_id, "target"), None)
    st.rerun()


def click_ui(job_id: str, frame, clicked, fit, target: str | None) -> None:
    width = frame.shape[1]
    # As wide as the column: the click comes back in displayed pixels, scaled back below.
    value = streamlit_image_coordinates(
        view.annotated_frame(frame, clicked, fit), width="stretch", key=_key(job_id, "image")
    )
    if value is None or target is None:
        return
    stamp = (value.get("x"), value.get("y"), value.get("unix_time"))
    if st.session_state.get(_key(job_id, "last_click")) == stamp:
        return
    st.session_state[_key(job_id, "last_click")] = stamp
    scale = width / float(value.get("width") or width)
    clicked[target] = [round(value["x"] * scale, 1), round(value["y"] * scale, 1)]
    st.session_state.pop(_key(job_id, "target"), None)
    st.rerun()


def fit_ui(job_id: str, clicked, fit: CalibrationFit | None) -> None:
    auto = st.session_state.get(_key(job_id, "auto"))
    if auto:
        st.caption(
            f"Automatic guess: {auto['status']} ({auto['reason']}). Accept it with Save, "
            "correct a point by choosing it above and clicking, or reject it with Clear."
        )
    if fit is None:
        st.info(
            f"{len(clicked)} of at least 4 landmarks clicked. "
            f"Click: **{view.label(view.next_landmark(clicked) or '')}**."
        )
        return
    message = f"Calibration {fit.status}: {fit.reason}"
    {"ok": st.success, "unsure": st.warning, "refused": st.error}[fit.status](
        message, icon=view.STATUS_ICONS[fit.status]
    )
    if fit.mean_error_m is not None:
        st.metric("Mean error of the points", f"{fit.mean_error_m:.2f} m")


def save_ui(job_id: str, clicked, fit: CalibrationFit | None, frame, time_s) -> None:
    can_save = fit is not None and fit.status == "ok"
    if st.button("Save calibration and reanalyse", type="primary", disabled=not can_save,
                 icon=":material/save:"):  # fmt: skip
        with st.spinner("Saving, checking the clip for camera motion, reanalysing..."):
            result = None
            with shown_errors("Saving the calibration"), session_scope() as session:
                result = calibration_service.calibrate_job(
                    session=session, job_id=job_id, points=dict(clicked), time_s=time_s
                )
        if result is not None and result.get("saved"):
            st.session_state[f"{PREFIX}_notice"] = (
                "Calibration saved"
                + (" and the netball analytics rerun: metres, zones and speeds now follow it. "
                   "The annotated video's minimap follows on a new run."
                   if result.get("reanalysed") else "; it is used when the analysis runs.")
            )  # fmt: skip
            st.rerun()


def saved_ui(job_id: str) -> None:
    with session_scope() as session:
        saved = calibration_service.saved_calibration(session=session, job_id=job_id)
    if not saved or saved.get("homography") is None:
        st.caption("No calibration saved for this analysis yet.")
        return
    origin = f", copied from job {saved['copied_from']}" if saved.get("copied_from") else ""
    st.caption(
        f"Saved calibration: {saved.get('source', 'manual')}, {len(saved.get('landmarks') or {})} "
        f"landmarks, mean error {saved.get('mean_error_m') or 0:.2f} m{origin}."
    )
    coverage = saved.get("coverage") or {}
    if coverage.get("camera_moved"):
        st.warning(calibration_service.coverage_warning(coverage), icon=":material/videocam:")


def copy_ui(job_id: str) -> None:
    with session_scope() as session:
        saved = calibration_service.saved_calibration(session=session, job_id=job_id)
        rows, _ = job_service.list_jobs(session=session, page=1, page_size=CHOOSER_JOBS)
        others = {r.id: JobView.from_job(r).choice_label for r in rows if r.id != job_id}
    if not saved or not others:
        return
    with st.expander("Copy to other analyses filmed from the same camera position"):
        targets = st.multiselect("Analyses", list(others), format_func=others.get,
                                 key=_key(job_id, "copy_to"))  # fmt: skip
        if st.button("Copy calibration", disabled=not targets):
            done = None
            with shown_errors("Copying the calibration"), session_scope() as session:
                done = calibration_service.copy_calibration(
                    session=session, from_job_id=job_id, to_job_ids=targets
                )
            if done is not None:
                st.success(f"Copied to {len(done)} analysis(es).")


def main() -> None:
    st.title("Calibrate the court")
    st.caption(
        "Click court landmarks on a frame of the video (any 4 or more well spread), or let "
        "the court lines be detected. Metres, zones, offside, distances and speeds all follow "
        "the saved calibration."
    )
    notice = st.session_state.pop(f"{PREFIX}_notice", None)
    if notice:
        st.success(notice)
    job_id = job_chooser_ui()
    if job_id is None:
        return
    frame, time_s = frame_ui(job_id)
    if frame is None:
        return
    clicked = clicks_state(job_id)
    fit = calibration_service.fit_points(clicked) if len(clicked) >= 4 else None
    target = prompt_ui(job_id, clicked)
    detect_ui(job_id, frame, clicked)
    left, right = st.columns([3, 2])
    with left:
        click_ui(job_id, frame, clicked, fit, target)
    with right:
        fit_ui(job_id, clicked, fit)
        if fit is not None and fit.homography is not None:
            outputs = load_job_outputs(job_outputs_dir(job_id))
            fps = float((outputs.summary.get("video") or {}).get("fps") or 25.0)
            players = view.players_on_court(
                outputs.tracks, round((time_s or 0.0) * fps), fit.homography
            )
            st.plotly_chart(view.players_figure(players), key=_key(job_id, "players"))
        save_ui(job_id, clicked, fit, frame, time_s)
    if clicked:
        st.dataframe(view.points_table(clicked, fit), hide_index=True)
    saved_ui(job_id)
    copy_ui(job_id)
    st.page_link("dashboard/pages/results.py", label="Back to the results", icon="➡️",
                 query_params={"job": job_id})  # fmt: skip


main()
