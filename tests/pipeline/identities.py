"""Identity figures of a run against a generated clip: who was who, frame by frame.

Each frame, true players are matched one-to-one to the predicted player boxes (IoU, then
feet distance for boxes of partly hidden players), so a player's matched track IDs over the
clip say how many identities the pipeline gave them and how often their ID changed.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.synthetic import ClipTruth

# A predicted box matches a true player when their IoU is at least this, or when its feet
# are within FEET_HEIGHTS_MAX of the player's box height from the true feet.
IOU_MIN = 0.3
FEET_HEIGHTS_MAX = 0.35
# IDs that stay on a player for fewer frames than this are flickers of the matching (two
# players' boxes overlapping), not identities the pipeline gave.
IDENTITY_FRAMES_MIN = 3


@dataclass
class IdentityScore:
    people: int
    identities_per_player: float  # mean distinct track IDs a true player was given
    tracks_per_person: float  # every player track ID in tracks.csv / true players
    id_switches: int  # times a player's matched ID changed between matched frames
    coverage: float  # share of player-frames matched by some predicted box
    per_player_identities: list[int]

    def to_dict(self) -> dict:
        return {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in vars(self).items()
            if k != "per_player_identities"
        }


def _boxes_by_frame(tracks_csv: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rows: dict[int, list[tuple[int, list[float]]]] = {}
    with Path(tracks_csv).open(newline="") as handle:
        for r in csv.DictReader(handle):
            if r["class"] == "player":
                box = [float(r[k]) for k in ("x1", "y1", "x2", "y2")]
                rows.setdefault(int(r["frame"]), []).append((int(r["track_id"]), box))
    return {
        f: (np.array([t for t, _ in v], np.int64), np.array([b for _, b in v], np.float64))
        for f, v in rows.items()
    }


def _match(true_boxes: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of true players (rows) to predicted boxes (cols)."""
    t = true_boxes[:, None, :]
    b = boxes[None, :, :]
    ix = np.clip(np.minimum(t[..., 2], b[..., 2]) - np.maximum(t[..., 0], b[..., 0]), 0, None)
    iy = np.clip(np.minimum(t[..., 3], b[..., 3]) - np.maximum(t[..., 1], b[..., 1]), 0, None)
    inter = ix * iy
    area_t = (t[..., 2] - t[..., 0]) * (t[..., 3] - t[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    iou = inter / np.maximum(area_t + area_b - inter, 1e-9)
    tf = np.stack([(t[..., 0] + t[..., 2]) / 2, t[..., 3]], -1)
    bf = np.stack([(b[..., 0] + b[..., 2]) / 2, b[..., 3]], -1)
    feet = np.linalg.norm(tf - bf, axis=-1) / np.maximum(t[..., 3] - t[..., 1], 1.0)
    ok = np.isfinite(iou) & ((iou >= IOU_MIN) | (feet <= FEET_HEIGHTS_MAX))
    # Higher IoU first, then nearer feet.
    cost = np.where(ok, -iou + 0.1 * feet, np.inf)
    pairs, used_t, used_b = [], set(), set()
    for flat in np.argsort(cost, axis=None):
        i, j = np.unravel_index(flat, cost.shape)
        if not np.isfinite(cost[i, j]):
            break
        if i in used_t or j in used_b:
            continue
        used_t.add(int(i))
        used_b.add(int(j))
        pairs.append((int(i), int(j)))
    return pairs


def identity_score(truth: ClipTruth, tracks_csv: Path) -> IdentityScore:
    by_frame = _boxes_by_frame(tracks_csv)
    ids_of: list[list[int]] = [[] for _ in range(truth.people)]
    matched = total = 0
    for f in range(truth.frames):
        visible = np.isfinite(truth.boxes[f]).all(axis=1)
        total += int(visible.sum())
        if f not in by_frame or not visible.any():
            continue
        tids, boxes = by_frame[f]
        people = np.flatnonzero(visible)
        for i, j in _match(truth.boxes[f, people], boxes):
            ids_of[people[i]].append(int(tids[j]))
            matched += 1
    per_player = []
    switches = 0
    for ids in ids_of:
        runs = [(tid, len(list(group))) for tid, group in itertools.groupby(ids)]
        kept = [tid for tid, n in runs if n >= IDENTITY_FRAMES_MIN]
        per_player.append(len(set(kept)))
        switches += sum(1 for a, b in itertools.pairwise(kept) if a != b)
    all_ids = {int(t) for tids, _ in by_frame.values() for t in tids}
    return IdentityScore(
        people=truth.people,
        identities_per_player=float(np.mean(per_player)) if per_player else 0.0,
        tracks_per_person=len(all_ids) / max(1, truth.people),
        id_switches=switches,
        coverage=matched / max(1, total),
        per_player_identities=per_player,
    )


def ids_of_player(truth: ClipTruth, tracks_csv: Path, player: int) -> list[int]:
    """The track ID matched to `player` on each frame where one is (flickers dropped)."""
    by_frame = _boxes_by_frame(tracks_csv)
    ids = []
    for f in range(truth.frames):
        if f not in by_frame or not np.isfinite(truth.boxes[f, player]).all():
            continue
        visible = np.flatnonzero(np.isfinite(truth.boxes[f]).all(axis=1))
        tids, boxes = by_frame[f]
        for i, j in _match(truth.boxes[f, visible], boxes):
            if visible[i] == player:
                ids.append(int(tids[j]))
    runs = [(tid, len(list(group))) for tid, group in itertools.groupby(ids)]
    return [tid for tid, n in runs for _ in range(n) if n >= IDENTITY_FRAMES_MIN]
