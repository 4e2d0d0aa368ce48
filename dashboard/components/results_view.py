"""The parts of the Results page: summary, charts, events and downloads for one job."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from backend.db import session_scope
from backend.services import files as file_service
from dashboard.components import analysis, charts, details_view, stat_tables
from dashboard.components.charts import TeamStyle
from dashboard.components.feedback import errors_shown
from dashboard.components.formatting import human_bytes, human_duration
from dashboard.components.job_view import JobView
from dashboard.components.outputs import JobOutputs, api_downloads_ui

# st.video and st.download_button hold the whole file in the server's memory while a page
# shows it, so files above these sizes are offered from disk / the ZIP instead.
VIDEO_IN_BROWSER_MAX_MB = 1024
DOWNLOAD_IN_BROWSER_MAX_MB = 1024
# events.csv column naming the event (pass, possession_change, ...); see backend/pipeline/run.py.
EVENT_TYPE_COLUMN = "type"
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def video_facts(job: JobView, summary: dict) -> dict[str, str]:
    video = summary.get("video") or job.video
    facts: dict[str, str] = {}
    if video.get("duration_s"):
        facts["Length"] = human_duration(float(video["duration_s"]))
    if video.get("width") and video.get("height"):
        facts["Resolution"] = f"{video['width']}×{video['height']}"
    if video.get("fps"):
        facts["Frame rate"] = f"{float(video['fps']):.2f} fps"
    if video.get("frames_total"):
        facts["Frames"] = f"{int(video['frames_total']):,}"
    if job.run_time_s:
        facts["Analysis time"] = human_duration(job.run_time_s)
    if job.fps:
        facts["Analysis speed"] = f"{job.fps:.1f} fps"
    return facts


def summary_ui(job: JobView, outputs: JobOutputs) -> None:
    facts = video_facts(job, outputs.summary)
    if facts:
        for column, (label, value) in zip(st.columns(len(facts)), facts.items(), strict=True):
            column.metric(label, value)
    match = job.settings.get("match") or {}
    if match:
        st.caption(" · ".join(str(value) for value in match.values() if value))


def team_swatch(style: TeamStyle) -> str:
    """Markdown (with a little HTML) of a colour square and the team's label.

    The colour comes from summary.json, a file on disk: anything but '#rrggbb' is not put into
    HTML and shows as a plain square.
    """
    colour = style.colour if HEX_COLOUR.fullmatch(style.colour) else None
    square = f'<span style="color:{colour}">■</span>' if colour else "■"
    return f"{square} **Team {style.label}** shirts"


def video_ui(outputs: JobOutputs) -> None:
    path = outputs.video_path
    if path is None:
        st.info("This job produced no annotated video.", icon=":material/videocam_off:")
        return
    if url := outputs.video_url:
        st.video(url)  # streamed by the API with Range: any size, nothing held in memory here
        return
    size = path.stat().st_size
    if size > VIDEO_IN_BROWSER_MAX_MB * 1024**2:
        st.info(
            f"The annotated video is {human_bytes(size)}, too large to stream through the "
            f"dashboard. It is in the ZIP and on the server at `{path}`.",
            icon=":material/movie:",
        )
        return
    st.html(details_view.VIDEO_STYLE)
    st.video(str(path))


def seconds_per_row(tracks: pd.DataFrame, summary: dict) -> float:
    fps = (summary.get("video") or {}).get("fps")
    if fps:
        return 1.0 / float(fps)
    times = tracks.drop_duplicates("frame").sort_values("frame")["time_s"].diff().median()
    return float(times) if times and times > 0 else 1.0


# Widgets in these parts rerun only their own fragment: choosing a player or an event filter
# must not re-send the annotated video, which st.video reads from disk on every full rerun.
@st.fragment
@errors_shown("Drawing the heatmaps")
def heatmaps_ui(
    points: pd.DataFrame,
    frame: analysis.Frame,
    styles: dict[str, TeamStyle],
    seconds_per_row: float,
    job_id: str,
) -> None:
    people = analysis.players(points)
    columns = st.columns(len(analysis.TEAM_LABELS))
    for column, label in zip(columns, analysis.TEAM_LABELS, strict=True):
        style = styles[label]
        team_points = people[people["team"] == label]
        with column:
            if team_points.empty:
                st.caption(f"No positions for {style.name}.")
                continue
            st.plotly_chart(
                charts.heatmap_figure(
                    team_points,
                    frame,
                    title=style.name,
                    colour=style.colour,
                    seconds_per_row=seconds_per_row,
                ),
                key=f"results_heatmap_{label}",
            )
    player_ids = people.groupby("track_id").size().sort_values(ascending=False)
    if player_ids.empty:
        return
    teams = people.groupby("track_id")["team"].agg(lambda values: values.mode().iat[0])

    def describe(track_id: int) -> str:
        team = styles.get(str(teams.get(track_id, "")))
        seconds = player_ids[track_id] * seconds_per_row
        return f"Player {track_id} · {team.name if team else 'no team'} · {seconds:.0f} s on court"

    # One widget per job: the browser keeps a keyed select box's own label across reruns,
    # so a key shared by all jobs showed the last job's "Player 3 · Team A · 7 s on court"
    # over another job's player once that job had a track 3 as well.
    # Half the width, like the team heatmaps: a full-width chart of a portrait frame was a
    # narrow strip in a wide white box.
    player_column, _ = st.columns(2)
    chosen = player_column.selectbox(
        "Player heatmap",
        list(player_ids.index),
        format_func=describe,
        key=player_key(job_id),
    )
    style = styles.get(str(teams.get(chosen, "")))
    player_column.plotly_chart(
        charts.heatmap_figure(
            people[people["track_id"] == chosen],
            frame,
            title=f"Player {chosen}",
            colour=style.colour if style else charts.DEFAULT_TEAM_COLOURS[""],
            seconds_per_row=seconds_per_row,
        ),
        key="results_heatmap_player",
    )


def player_key(job_id: str) -> str:
    return f"results_player_{job_id}"


def movement_ui(points: pd.DataFrame, frame: analysis.Frame, styles: dict[str, TeamStyle]) -> None:
    thinned = charts.thin_frames(points)
    if analysis.players(thinned).empty:
        st.caption("No player tracks in this job.")
    else:
        st.plotly_chart(
            charts.tracks_figure(thinned, frame, styles, title="Player tracks"),
            key="results_tracks",
        )
    if analysis.ball(thinned).empty:
        st.caption("The ball was not found in this video.")
    else:
        st.plotly_chart(
            charts.ball_path_figure(thinned, frame, title="Ball path"), key="results_ball"
        )


def possession_ui(
    outputs: JobOutputs, styles: dict[str, TeamStyle], duration_s: float | None = None
) -> None:
    """Stage 2's possession: shares from summary.json, spells from possession.csv."""
    shares = {
        label: share
        for label, share in (outputs.summary.get("possession") or {}).items()
        if label in styles and share is not None
    }
    segments = outputs.possession()
    if not shares or segments.empty:
        st.caption(
            "Possession needs the ball at a player's hands: none was found in this video "
            "(a small or fast ball is often missed; a custom model via NETBALL_MODEL helps)."
        )
        return
    for column, (label, share) in zip(st.columns(len(shares)), shares.items(), strict=True):
        column.metric(f"{styles[label].name} possession", f"{share:.0%}")
    st.plotly_chart(
        charts.possession_timeline_figure(segments, styles, duration_s=duration_s),
        key="results_possession",
    )
    st.caption(
        "Each bar is one player's hold; gaps are a loose ball. A pass in flight still belongs "
        "to the passing team in the shares."
    )


@st.fragment
@errors_shown("Showing the events")
def events_ui(events: pd.DataFrame | None, styles: dict[str, TeamStyle]) -> None:
    if events is None:
        st.caption("This job has no events file: the analysis version that made it had none.")
        return
    if events.empty:
        st.caption("No events were detected.")
        return
    shown = events
    type_column = EVENT_TYPE_COLUMN if EVENT_TYPE_COLUMN in events.columns else None
    left, right = st.columns(2)
    if type_column:
        kinds = sorted(events[type_column].dropna().astype(str).unique())
        picked = left.multiselect(
            "Event types",
            kinds,
            default=kinds,
            format_func=lambda kind: stat_tables.EVENT_NAMES.get(kind, kind),
            key="results_event_types",
        )
        shown = shown[shown[type_column].astype(str).isin(picked)]
    if "team" in events.columns:
        labels = sorted(events["team"].dropna().astype(str).unique())
        picked_teams = right.multiselect(
            "Teams",
            labels,
            default=labels,
            format_func=lambda label: styles[label].name if label in styles else label,
            key="results_event_teams",
        )
        shown = shown[shown["team"].astype(str).isin(picked_teams)]
    st.dataframe(
        stat_tables.event_sheet(shown, styles),
        hide_index=True,
        column_config={
            # Text or numbers, depending on blanks (for_display): any column type.
            stat_tables.EVENT_LABELS["to_track_id"]: st.column_config.Column(
                help=stat_tables.OTHER_PLAYER_HELP
            )
        },
    )
    st.caption(f"{len(shown)} of {len(events)} events")
    if type_column and charts.has_court_positions(shown):
        st.plotly_chart(
            charts.events_on_court_figure(shown, type_column, styles), key="results_events_court"
        )


def _file_reader(path: Path) -> Callable[[], bytes]:
    return lambda: path.read_bytes()


def _archive_reader(job_id: str) -> Callable[[], bytes]:
    def read() -> bytes:
        # Runs on click, in its own thread: the ZIP is built (or reused) only when wanted.
        with session_scope() as session:
            return file_service.build_archive(session=session, job_id=job_id).read_bytes()

    return read


def files_ui(job_id: str, files: list) -> None:
    """Every output with kind and size and its own download, plus the whole set as a ZIP."""
    outputs = [f for f in files if str(f.role) == "output"]
    if not outputs:
        st.info("This job has no output files yet.", icon=":material/folder_off:")
        return
    if api_downloads_ui(job_id, outputs):
        return
    total = sum(int(f.size_bytes) for f in outputs)
    limit = DOWNLOAD_IN_BROWSER_MAX_MB * 1024**2
    if total <= limit:
        st.download_button(
            f"Download all (ZIP, about {human_bytes(total)})",
            data=_archive_reader(job_id),
            file_name=f"courtside-{job_id}.zip",
            mime="application/zip",
            type="primary",
            icon=":material/folder_zip:",
            key="results_zip",
            # No rerun on click: a rerun re-registers the deferred download while the browser
            # is still fetching it, which can leave the button spinning.
            on_click="ignore",
        )
    else:
        st.info(
            f"All outputs together are {human_bytes(total)}, too large for a browser download. "
            f"Build the ZIP on the server with `python -m backend archive {job_id}`.",
            icon=":material/folder_zip:",
        )
    for row in outputs:
        path = file_service.job_file_path(row)
        name_col, kind_col, size_col, button_col = st.columns([4, 1, 1, 2])
        name_col.markdown(f"`{row.name}`")
        kind_col.caption(str(row.kind))
        size_col.caption(human_bytes(row.size_bytes))
        if row.missing or not path.is_file():
            button_col.caption(":material/warning: missing on disk")
        elif row.size_bytes > limit:
            button_col.caption("in the ZIP / on the server")
        else:
            button_col.download_button(
                "Download",
                data=_file_reader(path),
                file_name=row.name,
                mime=row.mime or None,
                key=f"results_file_{row.relpath}",
                on_click="ignore",
                icon=":material/download:",
            )
