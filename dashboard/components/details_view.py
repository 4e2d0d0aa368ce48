"""The top of a job's results: the analysis' warnings, and its details as labelled tables.

summary.json is the source (see backend/pipeline/run.py for its keys); older summaries lack
some keys, and a table then simply has fewer rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

# Page CSS: a portrait video otherwise fills the column width and makes the page thousands of
# pixels tall; the player keeps its aspect ratio inside the capped height.
VIDEO_MAX_HEIGHT_VH = 75
VIDEO_STYLE = (
    f"<style>video[data-testid='stVideo'], .stVideo video {{ max-height: {VIDEO_MAX_HEIGHT_VH}vh; "
    "width: auto !important; max-width: 100%; display: block; margin: 0 auto; }</style>"
)

TIMING_LABELS = {
    "model_load_s": "Loading the detector",
    "team_fit_s": "Learning the team colours",
    "ball_colour_s": "Learning the ball's colour",
    "main_pass_s": "Analysing the frames",
    "finalize_s": "Writing the outputs",
    "total_s": "Total",
}
SPEED_LABELS = {
    "processing_fps": ("Processing speed", "frames per second"),
    "realtime_factor": ("Real-time factor", "× video length"),
}
COUNT_LABELS = {
    "frames": "Frames analysed",
    "keyframes": "Frames the detector ran on",
    "player_tracks": "Player tracks kept",
    "track_rows": "Rows in tracks.csv",
    "ball_frames_detected": "Frames with the ball detected",
    "ball_frames_interpolated": "Frames with the ball filled in",
    "ball_frames_missing": "Frames without a ball",
    "ball_unfilled_gaps": "Ball gaps too long to fill",
    "ball_longest_unfilled_gap_s": "Longest unfilled ball gap (s)",
    "ball_held_frames": "Frames the ball was held",
    "ball_flight_frames": "Frames the ball was in flight",
    "events": "Events",
    "ball_zoom_looks": "Second looks for the ball",
    "ball_colour_before_main_pass": "Ball colour known before the frames were analysed",
}
SETTING_LABELS = {
    "imgsz": "Detector input size (px)",
    "imgsz_auto_player_px": "Input raised when players are shorter than (px; 0 = never)",
    "frame_stride": "Detector runs on every Nth frame",
    "player_conf_min": "Player confidence needed",
    "ball_conf_min": "Ball confidence needed",
    "ball_gap_fill_max_s": "Longest ball gap filled in (s)",
    "device": "Device asked for (– : NETBALL_DEVICE)",
    "backend": "Inference backend asked for",
    "model_path": "Model file",
}
VERSION_LABELS = {
    "courtside": "Courtside",
    "python": "Python",
    "torch": "PyTorch",
    "ultralytics": "Ultralytics",
    "opencv": "OpenCV",
    "av": "PyAV",
    "numpy": "NumPy",
    "openvino": "OpenVINO",
}
BACKEND_NAMES = {"openvino": "OpenVINO", "pytorch": "PyTorch", "onnx": "ONNX Runtime"}


def warnings_ui(summary: dict) -> None:
    """Each of the analysis' warnings (both stages), above everything else the page shows."""
    analytics = summary.get("analytics") or {}
    for message in [*(summary.get("warnings") or []), *(analytics.get("warnings") or [])]:
        st.warning(str(message), icon=":material/report:")


def _text(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int | bool):
        return (
            f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        )
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "–"
    return str(value)


def _table(rows: list[tuple[str, Any]], value_title: str = "Value") -> pd.DataFrame:
    return pd.DataFrame([(label, _text(value)) for label, value in rows], columns=["", value_title])


def settings_rows(summary: dict) -> list[tuple[str, Any]]:
    settings = summary.get("settings") or {}
    known = [(label, settings[key]) for key, label in SETTING_LABELS.items() if key in settings]
    # Every other setting still shows, under its own name: nothing is hidden behind the JSON.
    rest = [(key, value) for key, value in settings.items() if key not in SETTING_LABELS]
    model = summary.get("model") or {}
    weights = [("Model weights", model["weights"])] if model.get("weights") else []
    return [*weights, *detector_rows(model), *input_size_rows(model, settings), *known, *rest]


def input_size_rows(model: dict, settings: dict) -> list[tuple[str, Any]]:
    """The input the main pass ran at, and why when it is not the one asked for."""
    used = model.get("main_pass_imgsz")
    if used is None:
        return []  # summaries before the input could follow the players' height
    asked = settings.get("imgsz")
    if asked is not None and used != asked:
        return [("Detector input of the main pass (px)", f"{used} (raised from {asked}: the "
                 "players looked small)")]  # fmt: skip
    return [("Detector input of the main pass (px)", used)]


def detector_rows(model: dict) -> list[tuple[str, Any]]:
    """Which backend and device ran the detector, and why when it is not what was asked."""
    if not model.get("backend"):
        return []  # summaries before the backend choice
    backend = BACKEND_NAMES.get(model["backend"], model["backend"])
    rows: list[tuple[str, Any]] = [("Detector ran on", f"{backend}, {model.get('device') or '?'}")]
    if model.get("fallback_reason"):
        rows.append(("Why not as asked", model["fallback_reason"]))
    if model.get("inference_precision"):
        rows.append(("Detector computed in", model["inference_precision"]))
    if model.get("precision_fallback_reason"):
        rows.append(("Why not int8", model["precision_fallback_reason"]))
    return rows


def timing_rows(summary: dict) -> list[tuple[str, Any]]:
    timings = summary.get("timings") or {}
    rows: list[tuple[str, Any]] = [
        (label, f"{float(timings[key]):.1f} s")
        for key, label in TIMING_LABELS.items()
        if isinstance(timings.get(key), int | float)
    ]
    rows += [
        (label, f"{float(timings[key]):.1f} {unit}")
        for key, (label, unit) in SPEED_LABELS.items()
        if isinstance(timings.get(key), int | float)
    ]
    return rows


def count_rows(summary: dict) -> list[tuple[str, Any]]:
    counts = summary.get("counts") or {}
    rows = [(label, counts[key]) for key, label in COUNT_LABELS.items() if key in counts]
    by_team = counts.get("players_by_team") or {}
    names = {team.get("label"): team.get("name") for team in summary.get("teams") or []}
    rows += [
        (f"Players of {names.get(label) or label}", by_team[label])
        for label in ("A", "B", "other")
        if label in by_team
    ]
    if by_team.get(""):
        rows.append(("Players without a team", by_team[""]))
    return rows


def version_rows(summary: dict) -> list[tuple[str, Any]]:
    versions = summary.get("versions") or {}
    return [(VERSION_LABELS.get(key, key), value) for key, value in versions.items()]


DETAIL_COLUMNS = {
    "": st.column_config.TextColumn(width="medium"),
    "Value": st.column_config.TextColumn(width="large"),
}


def analysis_details_ui(summary: dict) -> None:
    """Settings, timings, counts and versions as labelled tables; summary.json one tab away."""
    with st.expander("Analysis details (settings, timings, counts, versions)"):
        tabs = st.tabs(["Settings", "Timings", "Counts", "Versions", "summary.json"])
        parts = (settings_rows, timing_rows, count_rows, version_rows)
        for tab, rows_of in zip(tabs[:4], parts, strict=True):
            rows = rows_of(summary)
            if rows:
                # Full width, the value column the wider: sized to content, the table cut
                # long values (a fallback reason, a raised input size) to a few words.
                tab.dataframe(
                    _table(rows), hide_index=True, width="stretch", column_config=DETAIL_COLUMNS
                )
            else:
                tab.caption("Not recorded by the analysis version that made this job.")
        tabs[4].json(summary, expanded=1)
