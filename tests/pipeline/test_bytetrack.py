"""bytetrack.py gives what ultralytics' BYTETracker gives, without importing torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.pipeline.bytetrack import ByteTrackArgs, BYTETracker
from backend.pipeline.detection import PLAYER, Detections

ROOT = Path(__file__).resolve().parents[2]


def moving_players(seed: int, frames: int) -> list[Detections]:
    """Players walking (some crossing each other) with jittery boxes and scores: some vanish
    for a few frames, some come and go for good, some boxes score low, a few are degenerate."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 13))
    pos = rng.uniform([50, 100], [1200, 600], size=(n, 2))
    vel = rng.normal(0, 6, size=(n, 2))
    # Two pairs walk straight at each other, so their boxes cross.
    for a, b in ((0, 1), (2, 3)):
        pos[b] = pos[a] + [300, rng.uniform(-20, 20)]
        vel[a], vel[b] = [5, 0], [-5, 0]
    size = np.c_[rng.uniform(30, 60, n), rng.uniform(80, 160, n)]
    born = rng.integers(0, frames // 2, n) * (rng.random(n) < 0.3)
    dies = np.where(rng.random(n) < 0.3, rng.integers(frames // 3, frames, n), frames)
    hidden_until = np.zeros(n, dtype=int)
    out = []
    for f in range(frames):
        pos += vel + rng.normal(0, 1.5, size=pos.shape)
        vel += rng.normal(0, 0.5, size=vel.shape)
        boxes, scores = [], []
        for i in range(n):
            if not born[i] <= f < dies[i] or f < hidden_until[i]:
                continue
            if rng.random() < 0.05:
                hidden_until[i] = f + int(rng.integers(1, 6))
                continue
            wh = size[i] * rng.uniform(0.9, 1.1, 2)
            box = np.r_[pos[i] - wh / 2, pos[i] + wh / 2]
            if rng.random() < 0.01:
                box[2] = box[0]  # zero width: both trackers must skip it
            boxes.append(box)
            # Mostly confident; sometimes a low score only the second association takes.
            scores.append(rng.uniform(0.05, 0.3) if rng.random() < 0.15 else rng.uniform(0.3, 0.95))
        if rng.random() < 0.2:  # a stray false positive
            boxes.append(np.r_[rng.uniform(0, 1200, 2), 0, 0] + [0, 0, 40, 100])
            boxes[-1][2:] += boxes[-1][:2]
            scores.append(rng.uniform(0.1, 0.5))
        order = rng.permutation(len(boxes))  # detector order is arbitrary
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)[order]
        scores = np.asarray(scores, dtype=np.float32)[order]
        out.append(Detections(boxes, scores, np.full(len(boxes), PLAYER)))
    return out


def ultralytics_tracker(args: ByteTrackArgs):
    from ultralytics.trackers.basetrack import BaseTrack
    from ultralytics.trackers.byte_tracker import BYTETracker as UltralyticsBYTETracker
    from ultralytics.utils import IterableSimpleNamespace

    BaseTrack.reset_id()  # older ultralytics counted IDs per process
    return UltralyticsBYTETracker(
        IterableSimpleNamespace(tracker_type="bytetrack", fuse_score=False, **vars(args))
    )


def assert_same(ours: np.ndarray, theirs: np.ndarray, frame: int) -> None:
    assert ours.shape == theirs.shape, f"frame {frame}: {ours.shape} vs {theirs.shape}"
    if len(ours):
        assert ours[:, 4].tolist() == theirs[:, 4].tolist(), f"frame {frame}: track IDs"
        assert ours[:, 7].tolist() == theirs[:, 7].tolist(), f"frame {frame}: detection rows"
        assert np.allclose(ours, theirs, atol=1e-4), f"frame {frame}: boxes or scores"


@pytest.mark.parametrize(
    ("seed", "conf_min", "buffer"), [(0, 0.3, 10), (1, 0.3, 2), (2, 0.5, 5), (3, 0.25, 30)]
)
def test_same_tracks_as_ultralytics(seed, conf_min, buffer):
    args = ByteTrackArgs(
        track_high_thresh=conf_min,
        track_low_thresh=min(0.1, conf_min),
        new_track_thresh=conf_min,
        track_buffer=buffer,
        match_thresh=0.8,
    )
    frames = moving_players(seed, 90)
    ours, theirs = BYTETracker(args), ultralytics_tracker(args)
    ids, lost_and_found = set(), 0
    for f, dets in enumerate(frames):
        if f == 70:  # a second analysis in the same tracker starts its IDs afresh
            ours.reset()
            theirs.reset()
        a, b = ours.update(dets), theirs.update(dets)
        assert_same(a, b, f)
        ids |= set(a[:, 4].astype(int).tolist()) if len(a) else set()
        lost_and_found += sum(
            t.tracklet_len == 0 and t.start_frame < f for t in ours.tracked_stracks
        )
    # The sequence exercises what it is meant to: many tracks, and lost tracks found again.
    assert len(ids) >= 8 and lost_and_found > 0


def test_two_trackers_count_ids_separately():
    args = ByteTrackArgs(0.3, 0.1, 0.3, 10, 0.8)
    frames = moving_players(5, 10)
    first, second = BYTETracker(args), BYTETracker(args)
    a = [first.update(d) for d in frames]
    b = [second.update(d) for d in frames]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0][:, 4].min() == 1


def test_player_tracker_does_not_import_torch():
    code = """
import sys
import numpy as np
from backend.pipeline.detection import Detections
from backend.pipeline.tracking import PlayerTracker
tracker = PlayerTracker(conf_min=0.3, lost_track_buffer_keyframes=10)
for x in range(5):
    boxes = np.array([[100 + 5 * x, 100, 140 + 5 * x, 200], [400, 120, 440, 220]], np.float32)
    out = tracker.update_with_detections(Detections(boxes, [0.9, 0.8], [0, 0]))
assert sorted(out.tracker_id.tolist()) == [1, 2], out.tracker_id
heavy = [m for m in ("torch", "ultralytics") if m in sys.modules]
assert not heavy, heavy
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_lost_track_over_a_tracked_one_is_dropped_like_ultralytics():
    """A lost track's prediction that drifts onto a longer-lived tracked player is a duplicate:
    both trackers drop it, so the walker who vanished comes back under a new ID."""
    args = ByteTrackArgs(0.3, 0.1, 0.3, 30, 0.8)
    # Tracked from frame 1, never moves; the walker's prediction passes within a pixel of it.
    still = [596, 300, 636, 400]
    frames = []
    for f in range(40):
        boxes = [still]
        x = 300 + 12 * f  # walks right at the still player, vanishes at f 15 (x = 480)
        if f < 15 or f >= 35:
            boxes.append([x, 300, x + 40, 400] if f < 15 else [900, 300, 940, 400])
        frames.append(
            Detections(
                np.asarray(boxes, np.float32), np.full(len(boxes), 0.9), [PLAYER] * len(boxes)
            )
        )
    ours, theirs = BYTETracker(args), ultralytics_tracker(args)
    walker_lost_at = None
    for f, dets in enumerate(frames):
        a, b = ours.update(dets), theirs.update(dets)
        assert_same(a, b, f)
        if f == 15:
            walker_lost_at = [t.track_id for t in ours.lost_stracks]
    assert walker_lost_at == [2]
    assert [t.track_id for t in ours.lost_stracks] == []  # dropped as the duplicate, not aged out
    assert sorted(a[:, 4].astype(int).tolist()) == [1, 3]  # the walker is back under a new ID
