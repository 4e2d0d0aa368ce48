"""A netball court drawn with Plotly shapes, in metres, x along the length."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from backend.analytics.court import DEFAULT_COURT

COURT_LENGTH_M = DEFAULT_COURT.length_m
COURT_WIDTH_M = DEFAULT_COURT.width_m
GOAL_CIRCLE_RADIUS_M = DEFAULT_COURT.goal_circle_radius_m
CENTRE_CIRCLE_DIAMETER_M = DEFAULT_COURT.centre_circle_diameter_m
COURT_LINE_COLOUR = "#64748b"
COURT_FLOOR_COLOUR = "#f8fafc"
_ARC_POINTS = 48
# Video-pixel charts: the width a chart gets in a half-page column of the wide layout, the
# height of its title and margins, and the bounds that keep it on a laptop screen.
IMAGE_PLOT_NOMINAL_WIDTH_PX = 520
IMAGE_PLOT_CHROME_PX = 60
IMAGE_PLOT_HEIGHT_MIN_PX = 300
IMAGE_PLOT_HEIGHT_MAX_PX = 700


def _goal_circle_path(goal_line_x_m: float) -> str:
    """SVG path of the semicircle on a goal line, bulging towards the court centre."""
    centre_y = COURT_WIDTH_M / 2
    direction = 1.0 if goal_line_x_m == 0 else -1.0
    angles = np.linspace(-np.pi / 2, np.pi / 2, _ARC_POINTS)
    xs = goal_line_x_m + direction * GOAL_CIRCLE_RADIUS_M * np.cos(angles)
    ys = centre_y + GOAL_CIRCLE_RADIUS_M * np.sin(angles)
    return "M " + " L ".join(f"{x:.3f},{y:.3f}" for x, y in zip(xs, ys, strict=True))


def court_shapes() -> list[dict]:
    line = {"color": COURT_LINE_COLOUR, "width": 2}
    third_m = DEFAULT_COURT.third_length_m
    centre_x, centre_y = COURT_LENGTH_M / 2, COURT_WIDTH_M / 2
    radius = CENTRE_CIRCLE_DIAMETER_M / 2
    shapes: list[dict] = [
        {
            "type": "rect",
            "x0": 0,
            "y0": 0,
            "x1": COURT_LENGTH_M,
            "y1": COURT_WIDTH_M,
            "line": line,
            "fillcolor": COURT_FLOOR_COLOUR,
            "layer": "below",
        }
    ]
    for x in (third_m, 2 * third_m):
        shapes.append(
            {"type": "line", "x0": x, "y0": 0, "x1": x, "y1": COURT_WIDTH_M, "line": line}
        )
    for goal_x in (0.0, COURT_LENGTH_M):
        shapes.append({"type": "path", "path": _goal_circle_path(goal_x), "line": line})
    shapes.append(
        {
            "type": "circle",
            "x0": centre_x - radius,
            "y0": centre_y - radius,
            "x1": centre_x + radius,
            "y1": centre_y + radius,
            "line": line,
        }
    )
    return shapes


def court_figure(*, title: str | None = None, height_px: int = 380) -> go.Figure:
    """An empty court, axes in metres with equal scale, ready for traces."""
    figure = go.Figure()
    margin_m = 0.8
    figure.update_layout(
        shapes=court_shapes(),
        title=title,
        height=height_px,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor="white",
        showlegend=True,
        legend={"orientation": "h", "y": -0.05},
    )
    figure.update_xaxes(
        range=[-margin_m, COURT_LENGTH_M + margin_m],
        showgrid=False,
        zeroline=False,
        title_text="length (m)",
        constrain="domain",
    )
    # Reversed like the picture: y runs from the far sideline towards the camera.
    figure.update_yaxes(
        range=[COURT_WIDTH_M + margin_m, -margin_m],
        showgrid=False,
        zeroline=False,
        title_text="width (m)",
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
    )
    return figure


def image_plot_height_px(width_px: float, height_px: float) -> int:
    """A chart height that lets a frame of this shape fill a half-page column.

    With one fixed height a portrait frame (equal axis scales) came out a narrow strip in a
    wide white box; a wide frame needs less height than a court.
    """
    aspect = height_px / max(width_px, 1.0)
    wanted = IMAGE_PLOT_NOMINAL_WIDTH_PX * aspect + IMAGE_PLOT_CHROME_PX
    return int(min(max(wanted, IMAGE_PLOT_HEIGHT_MIN_PX), IMAGE_PLOT_HEIGHT_MAX_PX))


def image_figure(
    *,
    width_px: float,
    height_px: float,
    title: str | None = None,
    plot_height_px: int | None = None,
) -> go.Figure:
    """The video frame as a drawing area, y pointing down as in the picture; the chart's
    height follows the frame's shape unless `plot_height_px` is given."""
    if plot_height_px is None:
        plot_height_px = image_plot_height_px(width_px, height_px)
    figure = go.Figure()
    figure.update_layout(
        shapes=[
            {
                "type": "rect",
                "x0": 0,
                "y0": 0,
                "x1": width_px,
                "y1": height_px,
                "line": {"color": COURT_LINE_COLOUR, "width": 1, "dash": "dot"},
                "layer": "below",
            }
        ],
        title=title,
        height=plot_height_px,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.05},
    )
    figure.update_xaxes(
        range=[0, width_px], showgrid=False, title_text="image x (px)", constrain="domain"
    )
    figure.update_yaxes(
        range=[height_px, 0],
        showgrid=False,
        title_text="image y (px)",
        scaleanchor="x",
        constrain="domain",
    )
    return figure
