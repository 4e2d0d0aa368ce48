"""Pass networks per team: who passed to whom how often, drawn at the players' mean spots."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt

from backend.analytics.court import DEFAULT_COURT, NetballCourt

TEAM_COLOURS = {"A": "#dc2626", "B": "#2563eb"}
FIGURE_DPI = 100
NODE_SIZE_BASE = 120
NODE_SIZE_PER_PASS = 40
EDGE_WIDTH_PER_PASS = 1.2


def pass_network(events: list[dict], players: list[dict], calibrated: bool) -> dict:
    """{team: {nodes, edges}} from the completed passes of the final events."""
    out = {}
    for team in ("A", "B"):
        edges = Counter()
        made, received = Counter(), Counter()
        for e in events:
            d = e.get("details") or {}
            if e["type"] != "pass" or e["team"] != team or not d.get("completed", True):
                continue
            if e.get("track_id") is None or e.get("to_track_id") is None:
                continue
            edges[(e["track_id"], e["to_track_id"])] += 1
            made[e["track_id"]] += 1
            received[e["to_track_id"]] += 1
        nodes = []
        for p in players:
            if p["team"] != team:
                continue
            t = p["track_id"]
            x, y = (p["mean_court_x"], p["mean_court_y"]) if calibrated else (None, None)
            nodes.append(
                {
                    "track_id": t,
                    "position": p["position"] or None,
                    "x": x,
                    "y": y,
                    "passes_made": made[t],
                    "passes_received": received[t],
                }
            )
        out[team] = {
            "nodes": nodes,
            "edges": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(edges.items())],
        }
    return out


def _draw_court(ax, court: NetballCourt) -> None:
    length, width, r = court.length_m, court.width_m, court.goal_circle_radius_m
    ax.add_patch(plt.Rectangle((0, 0), length, width, fill=False, lw=1.5, color="#64748b"))
    for x in (court.third_length_m, 2 * court.third_length_m):
        ax.plot([x, x], [0, width], color="#64748b", lw=1)
    for cx, theta in ((0.0, (-90, 90)), (length, (90, 270))):
        ax.add_patch(
            matplotlib.patches.Arc(
                (cx, width / 2),
                2 * r,
                2 * r,
                theta1=theta[0],
                theta2=theta[1],
                color="#64748b",
                lw=1,
            )
        )
    ax.add_patch(
        plt.Circle(
            court.centre_m, court.centre_circle_diameter_m / 2, fill=False, color="#64748b", lw=1
        )
    )
    ax.set_xlim(-1, length + 1)
    ax.set_ylim(width + 1, -1)  # y grows towards the camera, drawn downwards like the video


def render_pass_network(
    path: Path, network: dict, team: str, title: str, court: NetballCourt = DEFAULT_COURT
) -> None:
    """PNG of one team's network; without court positions, nodes sit on a circle."""
    import math

    fig, ax = plt.subplots(figsize=(8, 4.4), dpi=FIGURE_DPI)
    try:
        nodes = network["nodes"]
        placed = [n for n in nodes if n["x"] is not None and n["y"] is not None]
        if len(placed) == len(nodes):
            _draw_court(ax, court)
            where = {n["track_id"]: (n["x"], n["y"]) for n in nodes}
        else:
            where = {
                n["track_id"]: (
                    math.cos(2 * math.pi * i / max(len(nodes), 1)),
                    math.sin(2 * math.pi * i / max(len(nodes), 1)),
                )
                for i, n in enumerate(nodes)
            }
            ax.set_xlim(-1.5, 1.5)
            ax.set_ylim(-1.3, 1.3)
        colour = TEAM_COLOURS.get(team, "#6b7280")
        for edge in network["edges"]:
            if edge["from"] in where and edge["to"] in where:
                (x1, y1), (x2, y2) = where[edge["from"]], where[edge["to"]]
                ax.annotate(
                    "",
                    xy=(x2, y2),
                    xytext=(x1, y1),
                    arrowprops={
                        "arrowstyle": "->",
                        "color": colour,
                        "alpha": 0.7,
                        "lw": EDGE_WIDTH_PER_PASS * edge["count"],
                    },
                )
        for n in nodes:
            x, y = where[n["track_id"]]
            size = NODE_SIZE_BASE + NODE_SIZE_PER_PASS * (n["passes_made"] + n["passes_received"])
            ax.scatter([x], [y], s=size, color=colour, zorder=3, edgecolors="white")
            label = n["position"] or f"#{n['track_id']}"
            ax.annotate(
                label, (x, y), ha="center", va="center", color="white", fontsize=8, zorder=4
            )
        if not nodes:
            ax.text(0.5, 0.5, "No players of this team", ha="center", transform=ax.transAxes)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.axis("off")
        fig.savefig(path, format="png", bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
