"""Re-identification undoing what the tracker did inside a crowd (reid_tracking.py): a box that
stopped looking like its player is let go, a provisional ID merges into the one let go, and the
frames still held are renamed; a legs-only box keeps its player's feet."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from backend.pipeline.reid import Candidate, ReidConfig, Reidentifier
from backend.pipeline.reid_tracking import MOVE, SWAP, relabel
from backend.pipeline.tracking import PlayerTracker
from tests.pipeline.test_reid import _box, _detections, _frame, _lost


def _run(tracker: PlayerTracker, keyframes: list[list[tuple[np.ndarray, str]]]) -> list[list]:
    out = []
    for people in keyframes:
        got = tracker.update_with_detections(
            _detections([b for b, _ in people]), _frame(people, size=(900, 400))
        )
        out.append(got.tracker_id.tolist())
    return out


@pytest.mark.parametrize("misfit_keyframes", [1, 2, 3])
def test_a_box_that_turns_into_a_rival_is_let_go_and_its_player_keeps_the_id(misfit_keyframes):
    """Red (ID 1) stands; blue (ID 2) walks up behind red and is lost there. The tracker then
    keeps red's box on blue (same place, so ByteTrack cannot tell) while red is hidden; once
    the box has looked blue for `misfit_keyframes` clean keyframes it is blue's ID again, and
    red, reappearing a step away, gets 1 back."""
    cfg = ReidConfig(misfit_keyframes=misfit_keyframes)
    tracker = PlayerTracker(0.3, 2, 10.0, reid=cfg)
    red, blue = _box(300, 300), _box(500, 300)
    frames = [[(red, "red"), (blue, "blue")] for _ in range(8)]
    frames += [[(red, "red"), (_box(500 - 40 * k, 300), "blue")] for k in range(1, 5)]
    frames += [[(red, "red")] for _ in range(2)]  # blue hidden behind red
    frames += [[(red, "blue")] for _ in range(misfit_keyframes + 1)]  # blue in red's box
    frames += [[(red, "blue"), (_box(230, 300), "red")] for _ in range(4)]
    ids = _run(tracker, frames)
    assert ids[0] == [1, 2]
    let_go = 14 + misfit_keyframes - 1  # the keyframe its box had looked blue long enough
    assert all(row == [1] for row in ids[12:let_go]), ids
    assert ids[let_go] == [2], ids
    assert ids[-1] == [2, 1], ids
    assert tracker.reid_counts["reid_releases"] == 1
    moves = [r for r in tracker.take_renames() if r[0] == MOVE]
    # After the keyframe red's box last looked red (the 14th), it was blue's.
    assert moves == [(MOVE, 1, 2, 14)]


def test_without_the_release_the_rival_keeps_the_id():
    """The control: with no misfit check (a count that is never reached), blue stays ID 1."""
    tracker = PlayerTracker(0.3, 2, 10.0, reid=ReidConfig(misfit_keyframes=10**6))
    red, blue = _box(300, 300), _box(500, 300)
    frames = [[(red, "red"), (blue, "blue")] for _ in range(8)]
    frames += [[(red, "red"), (_box(500 - 40 * k, 300), "blue")] for k in range(1, 5)]
    frames += [[(red, "red")] for _ in range(2)] + [[(red, "blue")] for _ in range(6)]
    assert _run(tracker, frames)[-1] == [1]


@dataclass
class _Held:
    index: int
    players: dict = field(default_factory=dict)


def test_relabel_renames_the_frames_still_held_from_the_keyframe_on():
    frames = [_Held(i, {1: f"box{i}", 3: "other"}) for i in range(10)]
    last_seen = {1: (9, "box9", 0.9), 2: (2, "old", 0.9)}
    relabel(frames, last_seen, (MOVE, 1, 2, 0), 5)
    assert [sorted(f.players) for f in frames[:5]] == [[1, 3]] * 5
    assert [sorted(f.players) for f in frames[5:]] == [[2, 3]] * 5
    assert frames[7].players[2] == "box7"
    assert 1 not in last_seen and last_seen[2][0] == 9
    # A box moved onto an ID the frame already has is dropped (one person's two boxes).
    frames[8].players[1] = "dup"
    relabel(frames, last_seen, (MOVE, 1, 2, 0), 0)
    assert frames[8].players == {2: "box8", 3: "other"}
    relabel(frames, last_seen, (SWAP, 2, 3, 0), 6)
    assert frames[6].players == {3: "box6", 2: "other"} and frames[5].players[2] == "box5"


def test_a_legs_only_box_clear_of_everyone_keeps_its_feet():
    """The detector sometimes boxes only a player's legs: their feet are real, so the box is
    grown up from them (not down from a 'head'), and the lost player is found there."""
    reid = Reidentifier(ReidConfig())
    _lost(reid, 5, "red", 100)
    legs = _box(160, 250, 45)  # the lower 45 px of a 100 px player, feet where they walk
    frame = _frame([(_box(160, 250), "red")])
    cand = Candidate(0, legs, frame, True, "")
    grown = [box for box, _ in cand.hypotheses(100.0)]
    assert any(abs(b[3] - 250) < 1 and abs(b[1] - 150) < 1 for b in grown)
    assert reid.assign([cand], [5], 1.3) == {0: 5}
