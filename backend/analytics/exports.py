"""Files other tools read: CSV sheets, a Hudl Sportscode XML timeline and MOTChallenge tracks.

The timeline and MOT formats have readers here too, so tests (and importers of an analyst's
re-coded timeline) can check a round trip.
"""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from backend.analytics.possession import Spell
from backend.analytics.tables import Tracks

EVENT_CSV_COLUMNS = (
    "id",
    "frame",
    "time_s",
    "period",
    "type",
    "team",
    "track_id",
    "to_track_id",
    "court_x",
    "court_y",
    "outcome",
    "confidence",
    "source",
)
POSSESSION_COLUMNS = ("start_frame", "end_frame", "start_s", "end_s", "period", "team", "track_id")
# An event's clip in the timeline: the build-up before it and the moment after.
CLIP_BEFORE_S = 3.0
CLIP_AFTER_S = 2.0
# Sportscode row colours are 16-bit per channel (8-bit value x 257).
ROW_COLOURS_8BIT = {"A": (220, 38, 38), "B": (37, 99, 235), "other": (120, 120, 120)}
EVENT_LABELS = {
    "possession_start": "Possession start",
    "pass": "Pass",
    "turnover": "Turnover",
    "gain": "Gain",
    "intercept": "Intercept",
    "three_seconds": "Three seconds",
    "offside": "Offside",
    "shot": "Shot",
    "centre_pass": "Centre pass",
}
MOT_CHUNK_ROWS = 250_000


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_text(columns: tuple[str, ...], rows: list[dict]) -> str:
    """A CSV with blanks (not 'None') for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def possession_rows(
    spells: list[Spell], fps: float, team_of: dict[int, str], period_of_frame: np.ndarray
) -> list[dict]:
    return [
        {
            "start_frame": s.start_frame,
            "end_frame": s.end_frame,
            "start_s": round(s.start_frame / fps, 3),
            "end_s": round((s.end_frame + 1) / fps, 3),
            "period": int(period_of_frame[s.start_frame]) or None,
            "team": team_of.get(s.track_id, ""),
            "track_id": s.track_id,
        }
        for s in spells
    ]


def timeline_instances(
    events: list[dict], possession: list[dict], team_names: dict[str, str], duration_s: float
) -> list[dict]:
    """Possession spells (one instance per spell) and one clip per event, in time order."""
    items = []
    for p in possession:
        if p["team"] not in ("A", "B"):
            continue
        name = team_names.get(p["team"], p["team"])
        labels = [("Player", str(p["track_id"]))]
        if p["period"]:
            labels.append(("Period", str(p["period"])))
        items.append((p["start_s"], p["end_s"], f"{name} possession", labels))
    for e in events:
        name = team_names.get(e["team"], e["team"])
        labels = [("Event", e["id"])]
        if e.get("track_id") is not None:
            labels.append(("Player", str(e["track_id"])))
        if e.get("to_track_id") is not None:
            labels.append(("To player", str(e["to_track_id"])))
        if e.get("outcome"):
            labels.append(("Outcome", e["outcome"]))
        if e.get("period"):
            labels.append(("Period", str(e["period"])))
        t = float(e["time_s"])
        start, end = max(0.0, t - CLIP_BEFORE_S), min(max(duration_s, t), t + CLIP_AFTER_S)
        items.append(
            (
                round(start, 3),
                round(end, 3),
                f"{name} {EVENT_LABELS.get(e['type'], e['type'])}",
                labels,
            )
        )
    items.sort(key=lambda i: (i[0], i[1], i[2]))
    return [
        {"id": n, "start": s, "end": e, "code": c, "labels": labels}
        for n, (s, e, c, labels) in enumerate(items, start=1)
    ]


def timeline_rows(instances: list[dict], team_names: dict[str, str]) -> list[dict]:
    """One ROWS entry per code, coloured by the team the code starts with."""
    by_name = {name: team for team, name in team_names.items()}
    rows = []
    for code in sorted({i["code"] for i in instances}):
        team = next((t for name, t in by_name.items() if code.startswith(name + " ")), "other")
        r, g, b = ROW_COLOURS_8BIT.get(team, ROW_COLOURS_8BIT["other"])
        rows.append({"code": code, "R": r * 257, "G": g * 257, "B": b * 257})
    return rows


def timeline_xml(instances: list[dict], rows: list[dict]) -> str:
    root = ET.Element("file")
    all_instances = ET.SubElement(root, "ALL_INSTANCES")
    for inst in instances:
        node = ET.SubElement(all_instances, "instance")
        ET.SubElement(node, "ID").text = str(inst["id"])
        ET.SubElement(node, "start").text = f"{float(inst['start']):.3f}"
        ET.SubElement(node, "end").text = f"{float(inst['end']):.3f}"
        ET.SubElement(node, "code").text = inst["code"]
        for group, text in inst["labels"]:
            label = ET.SubElement(node, "label")
            ET.SubElement(label, "group").text = group
            ET.SubElement(label, "text").text = text
    rows_node = ET.SubElement(root, "ROWS")
    for row in rows:
        node = ET.SubElement(rows_node, "row")
        ET.SubElement(node, "code").text = row["code"]
        for channel in ("R", "G", "B"):
            ET.SubElement(node, channel).text = str(int(row[channel]))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def parse_timeline(text: str) -> tuple[list[dict], list[dict]]:
    """(instances, rows) of a Sportscode XML timeline; ValueError when it is not one."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"timeline is not valid XML: {exc}") from exc
    if root.tag != "file" or root.find("ALL_INSTANCES") is None:
        raise ValueError("timeline has no file/ALL_INSTANCES: not a Sportscode timeline.")
    instances = []
    for node in root.iterfind("ALL_INSTANCES/instance"):
        try:
            instances.append(
                {
                    "id": int(node.findtext("ID")),
                    "start": float(node.findtext("start")),
                    "end": float(node.findtext("end")),
                    "code": node.findtext("code") or "",
                    "labels": [
                        (lab.findtext("group") or "", lab.findtext("text") or "")
                        for lab in node.iterfind("label")
                    ],
                }
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"timeline instance without a numeric ID/start/end: {exc}") from exc
    rows = []
    for node in root.iterfind("ROWS/row"):
        colour = {c: int(node.findtext(c) or 0) for c in ("R", "G", "B")}
        if not all(0 <= v <= 65535 for v in colour.values()):
            raise ValueError(f"row {node.findtext('code')!r} has a colour outside 0..65535.")
        rows.append({"code": node.findtext("code") or "", **colour})
    return instances, rows


def write_mot(path: Path, tracks: Tracks, keep: set[int]) -> None:
    """MOTChallenge rows for the kept player tracks, 1-based frames, in chunks."""
    rows = np.flatnonzero(np.isin(tracks.track_id, np.fromiter(keep, np.int64, len(keep))))
    with path.open("w", newline="") as handle:
        for start in range(0, len(rows), MOT_CHUNK_ROWS):
            r = rows[start : start + MOT_CHUNK_ROWS]
            xyxy = tracks.xyxy[r].astype(np.float64)
            table = np.c_[
                tracks.frame[r] + 1,
                tracks.track_id[r],
                xyxy[:, 0],
                xyxy[:, 1],
                xyxy[:, 2] - xyxy[:, 0],
                xyxy[:, 3] - xyxy[:, 1],
                tracks.confidence[r],
            ]
            np.savetxt(handle, table, fmt="%d,%d,%.2f,%.2f,%.2f,%.2f,%.3f,-1,-1,-1")


def read_mot(path: Path) -> np.ndarray:
    """(n, 10) float array of a MOTChallenge file; ValueError on a malformed line."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split(",")
        if len(parts) != 10:
            raise ValueError(f"{path.name} line {n}: expected 10 values, got {len(parts)}.")
        try:
            out.append([float(p) for p in parts])
        except ValueError:
            raise ValueError(f"{path.name} line {n}: not all values are numbers.") from None
    return np.array(out, np.float64).reshape(-1, 10)
