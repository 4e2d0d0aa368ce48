"""Scoring pipeline output against the ground truth of a generated clip."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.synthetic import ClipTruth

MATCH_IOU_MIN = 0.5


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one box `a` (4,) against boxes `b` (N, 4)."""
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(union, 1e-9)


def read_tracks(path: Path) -> list[dict[str, str]]:
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Score:
    recall: float
    track_count: int
    id_switches: int
    id_switches_per_min: float
    team_accuracy: float
    ball_frames: int
    ball_error_median_px: float
    ball_error_p90_px: float
    ball_short_gap_frames: int
    ball_short_gap_error_median_px: float
    ball_short_gap_error_p90_px: float


def player_boxes_by_frame(
    rows: list[dict[str, str]],
) -> dict[int, list[tuple[int, np.ndarray, str]]]:
    frames: dict[int, list[tuple[int, np.ndarray, str]]] = {}
    for r in rows:
        if r["class"] != "player":
            continue
        box = np.array([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
        frames.setdefault(int(r["frame"]), []).append((int(r["track_id"]), box, r["team"]))
    return frames


def detection_recall(truth: ClipTruth, frames: dict[int, list[np.ndarray]]) -> float:
    """Share of true person boxes matched (IoU >= 0.5) by some box in the same frame."""
    hits = total = 0
    for f in range(truth.frames):
        boxes = frames.get(f, [])
        for p in range(truth.people):
            total += 1
            if boxes and iou(truth.boxes[f, p], np.array(boxes)).max() >= MATCH_IOU_MIN:
                hits += 1
    return hits / max(1, total)


def score(truth: ClipTruth, tracks_csv: Path, short_gap_frames: int = 6) -> Score:
    rows = read_tracks(tracks_csv)
    by_frame = player_boxes_by_frame(rows)
    recall = detection_recall(truth, {f: [b for _, b, _ in v] for f, v in by_frame.items()})
    matched: list[list[int]] = [[] for _ in range(truth.people)]
    team_votes: dict[int, Counter] = {}
    track_team: dict[int, str] = {}
    for f in range(truth.frames):
        objs = by_frame.get(f, [])
        if not objs:
            continue
        boxes = np.array([b for _, b, _ in objs])
        for p in range(truth.people):
            ious = iou(truth.boxes[f, p], boxes)
            k = int(ious.argmax())
            if ious[k] >= MATCH_IOU_MIN:
                tid = objs[k][0]
                matched[p].append(tid)
                team_votes.setdefault(tid, Counter())[truth.teams[p]] += 1
                track_team[tid] = objs[k][2]
    switches = sum(sum(1 for a, b in itertools.pairwise(ids) if a != b) for ids in matched)
    track_ids = {int(r["track_id"]) for r in rows if r["class"] == "player"}
    # Team labels are arbitrary (A may be either shirt): score the better of the two namings.
    pairs = [(votes.most_common(1)[0][0], track_team[tid]) for tid, votes in team_votes.items()]
    direct = sum(t == p for t, p in pairs)
    swap = {"A": "B", "B": "A"}
    swapped = sum(swap.get(t, t) == p for t, p in pairs)
    team_acc = max(direct, swapped) / max(1, len(pairs))
    errors: dict[int, float] = {}
    detected = []
    for r in rows:
        if r["class"] == "ball":
            f = int(r["frame"])
            x = (float(r["x1"]) + float(r["x2"])) / 2
            y = (float(r["y1"]) + float(r["y2"])) / 2
            errors[f] = float(np.hypot(x - truth.ball_px[f, 0], y - truth.ball_px[f, 1]))
            if r["source"] == "detected":
                detected.append(f)
    err = np.array(list(errors.values())) if errors else np.array([np.inf])
    # Frames filled across a short gap (at most `short_gap_frames` between two detections):
    # the straight line between detections should then sit on the true path.
    short = [
        errors[f]
        for a, b in itertools.pairwise(detected)
        if b - a <= short_gap_frames
        for f in range(a, b + 1)
        if f in errors  # a frame the pipeline left without a ball (none written) has no error
    ]
    short_err = np.array(short) if short else np.array([np.inf])
    return Score(
        recall=recall,
        track_count=len(track_ids),
        id_switches=switches,
        id_switches_per_min=switches / (truth.seconds / 60),
        team_accuracy=team_acc,
        ball_frames=len(errors),
        ball_error_median_px=float(np.median(err)),
        ball_error_p90_px=float(np.percentile(err, 90)),
        ball_short_gap_frames=len(short),
        ball_short_gap_error_median_px=float(np.median(short_err)),
        ball_short_gap_error_p90_px=float(np.percentile(short_err, 90)),
    )


def track_people(truth: ClipTruth, tracks_csv: Path) -> dict[int, int]:
    """Each track's person: the one its boxes overlap (IoU >= 0.5) most often."""
    votes: dict[int, Counter] = {}
    for f, objs in player_boxes_by_frame(read_tracks(tracks_csv)).items():
        for tid, box, _ in objs:
            ious = iou(box, truth.boxes[f])
            p = int(ious.argmax())
            if ious[p] >= MATCH_IOU_MIN:
                votes.setdefault(tid, Counter())[p] += 1
    return {tid: c.most_common(1)[0][0] for tid, c in votes.items()}


def matched_passes(
    truth: ClipTruth, tracks_csv: Path, events: list[dict], tolerance_frames: int
) -> int:
    """True passes found as an event from the passer's track to the receiver's, on time."""
    person = track_people(truth, tracks_csv)
    found = 0
    for _, catch, passer, receiver in truth.passes:
        found += any(
            e["to_track_id"] is not None
            and person.get(e["track_id"]) == passer
            and person.get(e["to_track_id"]) == receiver
            and abs(e["frame"] - catch) <= tolerance_frames
            for e in events
        )
    return found


@dataclass
class WideShotScore:
    """The issue-15 figures: ball within `ball_widths` of the truth, passes, IDs, coverage."""

    ball_placed_share: float
    passes_found: int
    passes_total: int
    tracks_per_person: float
    coverage: float

    def to_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in vars(self).items()}


def wide_shot_score(
    truth: ClipTruth,
    tracks_csv: Path,
    events: list[dict],
    ball_widths: float = 1.5,
    pass_tolerance_frames: int = 6,
) -> WideShotScore:
    """The generator draws the ball on top of everything: it is visible on every frame."""
    rows = read_tracks(tracks_csv)
    placed = 0
    for r in rows:
        if r["class"] != "ball":
            continue
        f = int(r["frame"])
        x = (float(r["x1"]) + float(r["x2"])) / 2
        y = (float(r["y1"]) + float(r["y2"])) / 2
        err = np.hypot(x - truth.ball_px[f, 0], y - truth.ball_px[f, 1])
        placed += err <= ball_widths * truth.ball_widths_px[f]
    by_frame = player_boxes_by_frame(rows)
    recall = detection_recall(truth, {f: [b for _, b, _ in v] for f, v in by_frame.items()})
    tracks = {int(r["track_id"]) for r in rows if r["class"] == "player"}
    # A ball passed to an opponent is a turnover (or an intercept) in stage 2, still from the
    # passer to the receiver; the generator passes to the nearest player, often an opponent.
    passes = [e for e in events if e.get("type") in ("pass", "turnover", "intercept")]
    person = track_people(truth, tracks_csv)
    found = 0
    for release, catch, passer, receiver in truth.passes:
        # Stage 2 stamps a pass at the release, a turnover at the release or the catch.
        found += any(
            e.get("to_track_id") is not None
            and person.get(e["track_id"]) == passer
            and person.get(e["to_track_id"]) == receiver
            and release - pass_tolerance_frames <= e["frame"] <= catch + pass_tolerance_frames
            for e in passes
        )
    return WideShotScore(
        ball_placed_share=float(placed / truth.frames),
        passes_found=found,
        passes_total=len(truth.passes),
        tracks_per_person=len(tracks) / truth.people,
        coverage=recall,
    )
