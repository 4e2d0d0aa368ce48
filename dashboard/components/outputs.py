"""Reading a job's output files for charts: tolerant of older, partial or failed runs.

The pure `read_*` functions parse a file and say precisely what is wrong with it; the
`load_*` wrappers cache the parsed result keyed on path, modification time and size, so a
rerun does not re-read a large tracks.csv but a rewritten file is picked up at once.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import streamlit as st

from backend.config import get_settings
from backend.services.results import (
    OutputFormatError,
    read_json_file,
    read_summary_json,
    read_table_csv,
    read_tracks_csv,
)
from backend.services.storage import data_dir_id
from dashboard.components import analysis
from dashboard.components.formatting import human_bytes

TRACKS_CACHE_ENTRIES = 8
# Where the REST API runs (./run.sh starts it), the browser plays and downloads files straight
# from its streamed, Range-capable URLs; Streamlit would hold each file in memory instead.
API_CHECK_TIMEOUT_S = 0.5
API_CHECK_CACHE_S = 30.0
API_SERVICE_NAME = "courtside"
_api_checks: dict[tuple[str, str], tuple[float, bool]] = {}


def _file_key(path: Path) -> tuple[str, int, int]:
    """Path, mtime and size: the cache key that notices a rewritten file."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@st.cache_data(max_entries=TRACKS_CACHE_ENTRIES, show_spinner="Reading tracks…")
def _cached_tracks(path: str, mtime_ns: int, size_bytes: int) -> pd.DataFrame:
    return read_tracks_csv(Path(path))


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_summary(path: str, mtime_ns: int, size_bytes: int) -> dict:
    return read_summary_json(Path(path))


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_table(path: str, mtime_ns: int, size_bytes: int) -> pd.DataFrame:
    return read_table_csv(Path(path))


@st.cache_data(max_entries=TRACKS_CACHE_ENTRIES, show_spinner="Placing positions…")
def _cached_points(
    path: str, mtime_ns: int, size_bytes: int
) -> tuple[analysis.Space, pd.DataFrame]:
    """Court or image space and one x/y per row: derived once per tracks file, not per rerun."""
    tracks = _cached_tracks(path, mtime_ns, size_bytes)
    space = analysis.choose_space(tracks)
    return space, analysis.positions(tracks, space)


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_json(path: str, mtime_ns: int, size_bytes: int) -> dict:
    return read_json_file(Path(path))


def possession_segments(spells: pd.DataFrame) -> pd.DataFrame:
    """possession.csv's spells as the timeline chart draws them: team, start, end, duration."""
    columns = ["team", "start_s", "end_s", "duration_s"]
    if spells is None or spells.empty:
        return pd.DataFrame(columns=columns)
    segments = spells[["team", "start_s", "end_s"]].copy()
    segments["team"] = segments["team"].astype(str)
    segments["duration_s"] = segments["end_s"] - segments["start_s"]
    return segments[columns].reset_index(drop=True)


@dataclass
class JobOutputs:
    """Whatever a job's outputs folder holds; `problems` explains what could not be read."""

    folder: Path
    tracks: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)
    events: pd.DataFrame | None = None
    players: pd.DataFrame | None = None
    ball: pd.DataFrame | None = None
    teams: pd.DataFrame | None = None
    spells: pd.DataFrame | None = None
    events_doc: dict | None = None
    pass_network: dict | None = None
    problems: list[str] = field(default_factory=list)

    def positions(self) -> tuple[analysis.Space, pd.DataFrame]:
        """(space, points) of tracks.csv; call only when `tracks` is loaded."""
        return _cached_points(*_file_key(self.folder / "tracks.csv"))

    def possession(self) -> pd.DataFrame:
        """Possession spells (stage 2's possession.csv) as timeline segments."""
        return possession_segments(self.spells)

    @property
    def job_id(self) -> str:
        return self.folder.parent.name  # data/jobs/<job_id>/outputs

    @property
    def video_url(self) -> str | None:
        """The API's URL of the annotated video, when the API runs; else None."""
        return api_file_url(self.job_id, "video") if self.video_path else None

    @property
    def video_path(self) -> Path | None:
        path = self.folder / "annotated.mp4"
        return path if path.is_file() and path.stat().st_size > 0 else None

    @property
    def heatmap_images(self) -> list[Path]:
        return sorted(self.folder.glob("heatmap_*.png"))


def load_job_outputs(folder: Path) -> JobOutputs:
    outputs = JobOutputs(folder=folder)
    if not folder.is_dir():
        outputs.problems.append("This job has no outputs folder yet.")
        return outputs
    loaders = (
        ("tracks.csv", _cached_tracks, "tracks"),
        ("summary.json", _cached_summary, "summary"),
        ("events.csv", _cached_table, "events"),
        ("players.csv", _cached_table, "players"),
        ("ball.csv", _cached_table, "ball"),
        ("teams.csv", _cached_table, "teams"),
        ("possession.csv", _cached_table, "spells"),
        ("events.json", _cached_json, "events_doc"),
        ("pass_network.json", _cached_json, "pass_network"),
    )
    for name, loader, attribute in loaders:
        path = folder / name
        if not path.is_file():
            continue
        try:
            setattr(outputs, attribute, loader(*_file_key(path)))
        except OutputFormatError as exc:
            outputs.problems.append(str(exc))
    return outputs


def _api_answers(base_url: str) -> bool:
    """True when `base_url` is a Courtside API serving this dashboard's data folder."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=API_CHECK_TIMEOUT_S) as reply:
            data = json.load(reply).get("data") or {}
    except (OSError, ValueError, AttributeError):
        return False
    return data.get("service") == API_SERVICE_NAME and data.get("data_dir_id") == data_dir_id()


def api_base_url() -> str | None:
    """NETBALL_API_PUBLIC_URL when the API answers there (checked at most every
    API_CHECK_CACHE_S), else None. None too when API reads need a key: a link cannot send it."""
    settings = get_settings()
    if settings.api_key is not None and settings.api_key_reads:
        return None
    url = settings.api_public_url
    key = (url, data_dir_id())
    checked = _api_checks.get(key)
    now = time.monotonic()
    if checked is None or now - checked[0] > API_CHECK_CACHE_S:
        checked = (now, _api_answers(url))
        _api_checks[key] = checked
    return url if checked[1] else None


def api_file_url(job_id: str, file_type: str) -> str | None:
    base = api_base_url()
    if base is None:
        return None
    return f"{base}/jobs/{quote(job_id, safe='')}/download/{quote(file_type, safe='')}"


def api_downloads_ui(job_id: str, outputs: list) -> bool:
    """Download links to the API for the ZIP and every output, any size; False (nothing
    drawn) when the API does not run, so the caller offers its own downloads."""
    archive_url = api_file_url(job_id, "archive")
    if archive_url is None:
        return False
    total = sum(int(f.size_bytes) for f in outputs)
    st.link_button(
        f"Download all (ZIP, about {human_bytes(total)})",
        archive_url,
        type="primary",
        icon=":material/folder_zip:",
    )
    for row in outputs:
        name_col, kind_col, size_col, button_col = st.columns([4, 1, 1, 2])
        name_col.markdown(f"`{row.name}`")
        kind_col.caption(str(row.kind))
        size_col.caption(human_bytes(row.size_bytes))
        if row.missing:
            button_col.caption(":material/warning: missing on disk")
        else:
            key = row.relpath.removeprefix("outputs/")
            button_col.link_button(
                "Download", f"{api_file_url(job_id, key)}", icon=":material/download:"
            )
    return True
