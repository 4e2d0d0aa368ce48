"""Plotly figures for the Results, Overview and Admin pages. Pure: data in, figure out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.components import analysis
from dashboard.components.analysis import Frame
from dashboard.components.court import court_figure, image_figure

DEFAULT_TEAM_COLOURS = {"A": "#e11d48", "B": "#2563eb", "other": "#6b7280", "": "#9ca3af"}
BALL_COLOUR = "#f59e0b"
# Heatmap cells: 1 m on the court, or this many cells across the video frame.
HEATMAP_CELL_M = 1.0
HEATMAP_IMAGE_CELLS_ACROSS = 40
# Lines and markers sent to the browser per chart; beyond this, frames are thinned evenly.
CHART_MAX_POINTS = 20_000
# Up to this many jobs an axis ticks every whole job; above, Plotly picks round steps.
COUNT_AXIS_UNIT_TICKS_MAX = 10
STATUS_COLOURS = {
    "completed": "#16a34a",
    "failed": "#dc2626",
    "running": "#2563eb",
    "queued": "#a3a3a3",
    "cancelled": "#f59e0b",
}


@dataclass(frozen=True)
class TeamStyle:
    label: str
    name: str
    colour: str


def team_styles(summary: dict, team_names: dict[str, str] | None = None) -> dict[str, TeamStyle]:
    """Team names and colours: the analyst's names win over the pipeline's, colours come from
    summary.json when present (they match the annotated video)."""
    styles = {
        label: TeamStyle(label, f"Team {label}", DEFAULT_TEAM_COLOURS[label])
        for label in analysis.TEAM_LABELS
    }
    for team in summary.get("teams") or []:
        label = str(team.get("label", ""))
        if label in styles:
            styles[label] = TeamStyle(
                label,
                str(team.get("name") or styles[label].name),
                str(team.get("colour") or team.get("color") or styles[label].colour),
            )
    for label, name in (team_names or {}).items():
        if label in styles and name:
            styles[label] = TeamStyle(label, name, styles[label].colour)
    return styles


def with_alpha(hex_colour: str, alpha: float) -> str:
    """'#rrggbb' -> 'rgba(r,g,b,alpha)'; anything else is returned unchanged."""
    text = hex_colour.lstrip("#")
    if len(text) != 6:
        return hex_colour
    try:
        red, green, blue = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return hex_colour
    return f"rgba({red},{green},{blue},{alpha})"


def _base_figure(frame: Frame, title: str) -> go.Figure:
    if frame.space == "court":
        return court_figure(title=title)
    return image_figure(width_px=frame.width, height_px=frame.height, title=title)


def _edges(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    if frame.space == "court":
        size_x = size_y = HEATMAP_CELL_M
    else:
        size_x = size_y = max(frame.width / HEATMAP_IMAGE_CELLS_ACROSS, 1.0)
    x_edges = np.arange(0.0, frame.width + size_x, size_x)
    y_edges = np.arange(0.0, frame.height + size_y, size_y)
    return x_edges, y_edges


def heatmap_figure(
    points: pd.DataFrame, frame: Frame, *, title: str, colour: str, seconds_per_row: float
) -> go.Figure:
    """Where the given points spent their time, binned on the server.

    Binning here rather than in the browser keeps a full match (millions of rows) to a few
    hundred cells on the wire.
    """
    figure = _base_figure(frame, title)
    x_edges, y_edges = _edges(frame)
    counts, _, _ = np.histogram2d(points["x"], points["y"], bins=[x_edges, y_edges])
    seconds = counts.T * seconds_per_row
    z = np.where(seconds > 0, seconds, np.nan)
    figure.add_trace(
        go.Heatmap(
            x=(x_edges[:-1] + x_edges[1:]) / 2,
            y=(y_edges[:-1] + y_edges[1:]) / 2,
            z=z,
            # Even the least-visited cell shows the team's colour faintly, never plain white.
            colorscale=[[0.0, with_alpha(colour, 0.2)], [1.0, colour]],
            zmin=0,
            hoverongaps=False,
            colorbar={"title": {"text": "seconds"}, "thickness": 10},
            hovertemplate=f"x %{{x:.1f}} {frame.unit}<br>y %{{y:.1f}} {frame.unit}"
            "<br>%{z:.1f} s<extra></extra>",
            name=title,
        )
    )
    figure.update_layout(showlegend=False)
    return figure


def thin_frames(points: pd.DataFrame, max_points: int = CHART_MAX_POINTS) -> pd.DataFrame:
    """Keep every Nth frame so a long match stays light in the browser; tracks stay aligned."""
    if len(points) <= max_points:
        return points
    step = int(np.ceil(len(points) / max_points))
    return points[points["frame"] % step == 0]


def tracks_figure(
    points: pd.DataFrame, frame: Frame, styles: dict[str, TeamStyle], *, title: str
) -> go.Figure:
    """One line per player track, coloured by team; hover shows track and time."""
    figure = _base_figure(frame, title)
    people = analysis.players(points).sort_values(["track_id", "frame"])
    shown_teams: set[str] = set()
    for track_id, track in people.groupby("track_id", sort=True):
        team = str(track["team"].mode().iat[0]) if not track["team"].empty else ""
        style = styles.get(team)
        colour = style.colour if style else DEFAULT_TEAM_COLOURS.get(team, "#9ca3af")
        # Tracks outside both teams are mostly umpires; the pipeline labels them "other".
        legend_name = style.name if style else "Officials / other"
        figure.add_trace(
            go.Scatter(
                x=track["x"],
                y=track["y"],
                mode="lines",
                line={"color": colour, "width": 1.5},
                opacity=0.75,
                name=legend_name,
                legendgroup=legend_name,
                showlegend=legend_name not in shown_teams,
                customdata=track[["time_s"]].to_numpy(),
                hovertemplate=f"track {track_id}<br>%{{customdata[0]:.1f}} s"
                f"<extra>{legend_name}</extra>",
            )
        )
        shown_teams.add(legend_name)
    return figure


def ball_path_figure(points: pd.DataFrame, frame: Frame, *, title: str) -> go.Figure:
    figure = _base_figure(frame, title)
    balls = analysis.ball(points).sort_values("frame")
    figure.add_trace(
        go.Scatter(
            x=balls["x"],
            y=balls["y"],
            mode="lines+markers",
            line={"color": BALL_COLOUR, "width": 1},
            marker={
                "size": 5,
                "color": balls["time_s"],
                "colorscale": "YlOrRd",
                "showscale": True,
                "colorbar": {"title": {"text": "time (s)"}, "thickness": 10},
            },
            name="ball",
            hovertemplate="%{marker.color:.1f} s<extra>ball</extra>",
        )
    )
    figure.update_layout(showlegend=False)
    return figure


def possession_timeline_figure(
    segments: pd.DataFrame, styles: dict[str, TeamStyle], *, duration_s: float | None = None
) -> go.Figure:
    """Horizontal bars along the match clock, one colour per team, grey when the ball is loose."""
    figure = go.Figure()
    for team, rows in segments.groupby("team", sort=True):
        style = styles.get(str(team))
        name = style.name if style else "loose ball"
        colour = style.colour if style else "#d1d5db"
        figure.add_trace(
            go.Bar(
                x=rows["duration_s"],
                base=rows["start_s"],
                y=[name] * len(rows),
                orientation="h",
                width=0.7,
                marker={"color": colour},
                name=name,
                hovertemplate="%{base:.1f}–%{x:.1f} s<extra>" + name + "</extra>",
            )
        )
    figure.update_layout(
        barmode="overlay",
        height=220,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis_title="match time (s)",
        showlegend=False,
    )
    if duration_s:
        figure.update_xaxes(range=[0, duration_s])
    return figure


EVENT_SYMBOLS = ("circle", "diamond", "square", "x", "triangle-up", "star", "cross", "hexagon")


def has_court_positions(events: pd.DataFrame) -> bool:
    if not {"court_x", "court_y"} <= set(events.columns):
        return False
    xs = pd.to_numeric(events["court_x"], errors="coerce")
    ys = pd.to_numeric(events["court_y"], errors="coerce")
    return bool((xs.notna() & ys.notna()).any())


def events_on_court_figure(
    events: pd.DataFrame, type_column: str, styles: dict[str, TeamStyle]
) -> go.Figure:
    """Where each event happened: one marker shape per event type, coloured by team."""
    figure = court_figure(title="Events on court")
    located = events.assign(
        court_x=pd.to_numeric(events["court_x"], errors="coerce"),
        court_y=pd.to_numeric(events["court_y"], errors="coerce"),
    ).dropna(subset=["court_x", "court_y"])
    teams = located["team"].astype(str) if "team" in located else pd.Series("", located.index)
    colours = [styles[t].colour if t in styles else DEFAULT_TEAM_COLOURS[""] for t in teams]
    located = located.assign(_colour=colours)
    for index, (kind, rows) in enumerate(located.groupby(type_column, sort=True)):
        times = rows["time_s"] if "time_s" in rows else rows.index.to_series()
        figure.add_trace(
            go.Scatter(
                x=rows["court_x"],
                y=rows["court_y"],
                mode="markers",
                name=str(kind),
                marker={
                    "symbol": EVENT_SYMBOLS[index % len(EVENT_SYMBOLS)],
                    "size": 11,
                    "color": rows["_colour"],
                    "line": {"color": "white", "width": 1},
                },
                customdata=times.to_numpy(),
                hovertemplate=f"{kind}<br>%{{customdata:.1f}} s<extra></extra>",
            )
        )
    return figure


def throughput_figure(series: list[dict]) -> go.Figure:
    """Completed and failed jobs per hour, with the failure rate on a second axis.

    `series` is metrics.throughput_series(): [{"hour", "completed", "failed"}, ...].
    """
    frame = pd.DataFrame(series)
    figure = go.Figure()
    if frame.empty:
        return figure
    hours, completed, failed = frame["hour"], frame["completed"], frame["failed"]
    finished = completed + failed
    # Hours without finished jobs have no failure rate: a gap, not a misleading 0 %.
    failure_rate = failed / finished.where(finished > 0) * 100
    figure.add_trace(go.Bar(x=hours, y=completed, name="completed", marker_color="#16a34a"))
    figure.add_trace(go.Bar(x=hours, y=failed, name="failed", marker_color="#dc2626"))
    figure.add_trace(
        go.Scatter(
            x=hours,
            y=failure_rate,
            name="failure rate (%)",
            yaxis="y2",
            mode="markers",
            marker={"color": "#7c3aed", "size": 8},
        )
    )
    figure.update_layout(
        barmode="stack",
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"title": "jobs per hour", "rangemode": "tozero", "dtick": _count_step(finished)},
        yaxis2={
            "title": "failure rate (%)",
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "tickvals": [0, 25, 50, 75, 100],
            "showgrid": False,
        },
        legend={"orientation": "h", "y": 1.12},
    )
    return figure


def status_counts_figure(counts: dict[str, int]) -> go.Figure:
    labels = [status for status in STATUS_COLOURS if counts.get(status)]
    figure = go.Figure(
        go.Bar(
            x=[counts[status] for status in labels],
            y=labels,
            orientation="h",
            marker_color=[STATUS_COLOURS[status] for status in labels],
        )
    )
    figure.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    figure.update_xaxes(dtick=_count_step(pd.Series(list(counts.values()), dtype=float)))
    return figure


def _count_step(values: pd.Series) -> int | None:
    """Whole-number ticks for small counts (no "0.5 jobs"); Plotly's own beyond that."""
    peak = float(values.max()) if len(values) else 0.0
    return 1 if peak <= COUNT_AXIS_UNIT_TICKS_MAX else None


def storage_breakdown_figure(bytes_by_kind: dict[str, int]) -> go.Figure:
    kinds = sorted(bytes_by_kind, key=lambda kind: -bytes_by_kind[kind])
    figure = go.Figure(
        go.Pie(
            labels=kinds,
            values=[bytes_by_kind[kind] / 1024**2 for kind in kinds],
            hole=0.5,
            hovertemplate="%{label}: %{value:.1f} MB<extra></extra>",
            textinfo="label+percent",
            # Outside labels of tiny slices (logs, JSON) were clipped by the chart's edge;
            # inside, those that don't fit are hidden and the legend still names them.
            textposition="inside",
            insidetextorientation="horizontal",
        )
    )
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        uniformtext={"minsize": 11, "mode": "hide"},
    )
    return figure
