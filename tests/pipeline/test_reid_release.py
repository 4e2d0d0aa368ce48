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


def _at(frame: int) -> int:
    return frame  # the tests name frames, not keyframes, in their renames


def _held(x: float, name: str, h: float = 100.0) -> tuple:
    """A held player's value as the engine keeps it: (box, confidence, detected), plus a
    name for the test to follow the box by."""
    return (np.array([x, 200.0 - h, x + 40.0, 200.0]), 0.9, True, name)


def _names(frame: _Held) -> dict:
    return {tid: value[3] for tid, value in frame.players.items()}


def test_relabel_renames_the_frames_still_held_from_the_keyframe_on():
    frames = [_Held(i, {1: _held(100, f"box{i}"), 3: _held(400, "other")}) for i in range(10)]
    last_seen = {1: (9, "box9", 0.9), 2: (2, "old", 0.9)}
    relabel(frames, last_seen, [(MOVE, 1, 2, 5)], _at)
    assert [sorted(f.players) for f in frames[:5]] == [[1, 3]] * 5
    assert [sorted(f.players) for f in frames[5:]] == [[2, 3]] * 5
    assert _names(frames[7])[2] == "box7"
    assert 1 not in last_seen and last_seen[2][0] == 9
    relabel(frames, last_seen, [(SWAP, 2, 3, 6)], _at)
    assert _names(frames[6]) == {3: "box6", 2: "other"} and _names(frames[5])[2] == "box5"


def test_a_box_moved_onto_an_id_whose_own_box_is_there_keeps_its_id_unless_inside_it():
    """The target ID's own box was its player: a moved box elsewhere in the frame was someone
    else's and stays as it was; a legs-only box inside the target's box is its player's
    second box and goes."""
    frames = [_Held(i, {1: _held(100, f"a{i}"), 2: _held(300, f"b{i}")}) for i in range(4)]
    frames[3].players[1] = _held(305, "legs", h=45)
    relabel(frames, {}, [(MOVE, 1, 2, 1)], _at)
    assert _names(frames[0]) == {1: "a0", 2: "b0"}
    assert _names(frames[2]) == {1: "a2", 2: "b2"}
    assert _names(frames[3]) == {2: "b3"}


def test_the_moves_of_one_keyframe_apply_at_once():
    """Two IDs let go together and placed on each other's boxes: where both moves reach, a
    swap; where only one does, its box meets the other ID's own box and keeps its ID."""
    frames = [_Held(i, {4: _held(100, f"x{i}"), 8: _held(300, f"y{i}")}) for i in range(10)]
    last_seen = {4: (9, "x9", 0.9), 8: (9, "y9", 0.9)}
    relabel(frames, last_seen, [(MOVE, 4, 8, 6), (MOVE, 8, 4, 3)], _at)
    assert [_names(frames[i]) for i in (2, 4, 7)] == [
        {4: "x2", 8: "y2"},
        {4: "x4", 8: "y4"},
        {8: "x7", 4: "y7"},
    ]
    assert last_seen == {8: (9, "x9", 0.9), 4: (9, "y9", 0.9)}
    # A provisional ID (5) merged into an ID (2) let go at the same keyframe, whose box moves
    # on to a third (7): each box ends with the ID named for it, not passed along twice.
    frames = [_Held(i, {5: _held(100, f"p{i}"), 2: _held(300, f"q{i}")}) for i in range(4)]
    relabel(frames, {}, [(MOVE, 5, 2, 0), (MOVE, 2, 7, 0)], _at)
    assert _names(frames[3]) == {2: "p3", 7: "q3"}


KIT_TEAMS = {"red": "A", "yellow": "A", "blue": "B"}  # yellow is red's team-mate


def _refound(reid: ReidConfig | None) -> list[list]:
    """Blue (ID 2, team B) stands right of red (ID 1, team A) and goes undetected for three
    keyframes; then yellow (team A) steps out where blue stood (from behind blue, unseen till
    now), and blue reappears 90 px further right two keyframes later."""
    kits = list(KIT_TEAMS)
    tracker = PlayerTracker(
        0.3, 10, 10.0, reid=reid,
        team_of={1: "A", 2: "B"}.get,  # the teams the IDs' votes gave them
        team_of_colour=lambda colour: KIT_TEAMS[kits[int(colour[0])]],
    )  # fmt: skip
    red, blue = _box(250, 300), _box(500, 300)
    frames = [[(red, "red"), (blue, "blue")] for _ in range(8)]
    frames += [[(red, "red")] for _ in range(3)]
    frames += [[(red, "red"), (blue, "yellow")] for _ in range(2)]
    frames += [[(red, "red"), (blue, "yellow"), (_box(590, 300), "blue")] for _ in range(3)]
    ids = []
    for people in frames:
        players = _detections([b for b, _ in people])
        players.data["color"] = np.array([[float(kits.index(kit))] * 3 for _, kit in people])
        got = tracker.update_with_detections(players, _frame(people, size=(900, 400)))
        ids.append(got.tracker_id.tolist())
    return ids


def test_a_track_found_again_on_a_rivals_box_does_not_keep_the_id():
    """ByteTrack finds its lost track again on the yellow box by motion alone; the box is in
    the other team's kit, so it gets an ID of its own and blue takes 2 back."""
    ids = _refound(ReidConfig())
    assert ids[7] == [1, 2] and ids[10] == [1]
    assert ids[11] == [1, 3] and ids[12] == [1, 3], ids
    assert ids[-1] == [1, 3, 2], ids


def test_without_reidentification_the_found_track_hands_the_id_over():
    """The control: the stitching alone keeps ByteTrack's choice."""
    ids = _refound(None)
    assert ids[11] == [1, 2] and ids[-1][:2] == [1, 2], ids


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
