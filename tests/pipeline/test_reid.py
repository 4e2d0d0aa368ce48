"""Re-identification (backend/pipeline/reid.py) on boxes drawn with OpenCV: looks, gates, swaps."""

from __future__ import annotations

import numpy as np
import pytest

from backend.pipeline.detection import Detections
from backend.pipeline.reid import (
    Candidate,
    ReidConfig,
    Reidentifier,
    appearance,
    appearance_distance,
    clean_boxes,
)
from backend.pipeline.tracking import PlayerTracker

FLOOR_BGR = (60, 140, 180)
KITS = {  # (shirt, trousers) BGR
    "red": ((40, 40, 215), (40, 30, 30)),
    "blue": ((215, 110, 20), (40, 30, 30)),
    "yellow": ((30, 220, 230), (200, 200, 200)),
    "green": ((40, 170, 40), (120, 60, 20)),
}


def _frame(people: list[tuple[np.ndarray, str]], size=(640, 360), light: float = 1.0):
    """A floor with each (box, kit) drawn as a person: shirt over trousers, a head on top."""
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    frame[:] = FLOOR_BGR
    rng = np.random.default_rng(0)
    for box, kit in people:
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        h = y2 - y1
        shirt, trousers = KITS[kit]
        frame[y1 : y1 + h // 5, x1 + (x2 - x1) // 3 : x2 - (x2 - x1) // 3] = (120, 150, 200)
        frame[y1 + h // 5 : y1 + h // 2, x1:x2] = shirt
        frame[y1 + h // 2 : y2, x1 + 2 : x2 - 2] = trousers
    noise = rng.normal(0, 6, frame.shape)
    return np.clip(frame * light + noise, 0, 255).astype(np.uint8)


def _box(cx: float, feet_y: float, h: float = 100.0) -> np.ndarray:
    return np.array([cx - 0.2 * h, feet_y - h, cx + 0.2 * h, feet_y], np.float64)


@pytest.mark.parametrize("kit,rival", [("red", "blue"), ("yellow", "green"), ("blue", "green")])
@pytest.mark.parametrize("light", [0.6, 1.3])
def test_a_kit_looks_like_itself_under_other_light_and_not_like_a_rival(kit, rival, light):
    box = _box(200, 250)
    mine = appearance(_frame([(box, kit)]), box)
    lit = appearance(_frame([(box, kit)], light=light), box)
    other = appearance(_frame([(box, rival)]), box)
    cfg = ReidConfig()
    assert appearance_distance(mine, lit) < cfg.appearance_distance_max
    assert appearance_distance(mine, other) > cfg.partial_distance_max


def test_clean_boxes_are_clear_of_every_other_box():
    boxes = np.array([_box(100, 200), _box(120, 210), _box(400, 200)])
    assert clean_boxes(boxes, 0.05).tolist() == [False, False, True]
    assert clean_boxes(boxes[:1], 0.05).tolist() == [True]


def _lost(reid: Reidentifier, tid: int, kit: str, x_px: float, team: str = "A") -> None:
    """A player seen clean, walking right at 40 px/s for a second, then lost."""
    for k in range(11):
        t = k / 10
        box = _box(x_px + 40 * t, 250)
        frame = _frame([(box, kit)])
        reid.observe(
            tid, t, np.array([x_px + 40 * t, 250]), 100.0, appearance(frame, box), True, team
        )


def _cand(key: int, cx: float, kit: str, team: str = "") -> Candidate:
    box = _box(cx, 250)
    return Candidate(key, box, _frame([(box, kit)]), True, team)


@pytest.mark.parametrize("gap_s", [0.5, 1.5, 2.5])
def test_a_lost_player_is_found_where_they_could_have_walked_in_their_kit(gap_s):
    reid = Reidentifier(ReidConfig())  # no calibration: pixels, 100 px a player
    _lost(reid, 7, "red", 100)
    t = 1.0 + gap_s
    ahead = 140 + 40 * gap_s  # kept walking
    assert reid.assign([_cand(0, ahead, "red")], [7], t) == {0: 7}
    # Another kit at the same spot, or the same kit far beyond a sprint: someone else.
    assert reid.assign([_cand(0, ahead, "blue")], [7], t) == {}
    too_far = 140 + (ReidConfig().max_speed_m_per_s * gap_s + 2) * 100 / 1.75
    assert reid.assign([_cand(0, too_far, "red")], [7], t) == {}
    # Gone longer than reid_lost_max_s: the ID is not handed out any more.
    assert reid.assign([_cand(0, ahead, "red")], [7], 1.0 + 6.5) == {}


def test_a_rival_never_takes_an_id_even_in_a_look_alike_kit():
    reid = Reidentifier(ReidConfig())
    _lost(reid, 3, "red", 100, team="A")
    assert reid.assign([_cand(0, 160, "red", team="B")], [3], 1.5) == {}
    assert reid.assign([_cand(0, 160, "red", team="A")], [3], 1.5) == {0: 3}


def test_two_lost_players_go_to_the_new_tracks_that_fit_them_one_id_each():
    reid = Reidentifier(ReidConfig())
    _lost(reid, 1, "red", 100)
    _lost(reid, 2, "blue", 180)
    # Both reappear beside each other; each kit keeps its ID whichever is listed first.
    got = reid.assign([_cand(10, 200, "blue"), _cand(11, 170, "red")], [1, 2], 1.8)
    assert got == {10: 2, 11: 1}
    # Two red candidates for one red ID: one owner.
    got = reid.assign([_cand(10, 170, "red"), _cand(11, 176, "red")], [1], 1.8)
    assert list(got.values()) == [1]


def test_a_crossing_swap_is_found_from_the_looks_and_only_then():
    reid = Reidentifier(ReidConfig())
    _lost(reid, 1, "red", 100)
    _lost(reid, 2, "blue", 300)
    red = appearance(_frame([(_box(200, 250), "red")]), _box(200, 250))
    blue = appearance(_frame([(_box(200, 250), "blue")]), _box(200, 250))
    assert reid.should_swap(1, 2, {1: blue, 2: red})
    assert not reid.should_swap(1, 2, {1: red, 2: blue})


def _detections(boxes: list[np.ndarray]) -> Detections:
    n = len(boxes)
    return Detections(np.array(boxes).reshape(-1, 4), np.full(n, 0.9), np.zeros(n, np.int64))


@pytest.mark.parametrize("hidden_keyframes", [6, 12, 20])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_player_hidden_behind_others_comes_back_with_their_id(hidden_keyframes, seed):
    """The tracker forgets the hidden player after 2 keyframes; re-identification must not."""
    rng = np.random.default_rng(seed)
    tracker = PlayerTracker(0.3, 2, 10.0, reid=ReidConfig())
    speed = rng.uniform(80, 120)  # px per second: 1.4-2.1 m/s for a 1.75 m, 100 px player
    behind = rng.uniform(300, 340)
    standers = [(_box(behind, 300, 110), "blue"), (_box(behind + 45, 302, 112), "blue")]
    # Hidden from keyframe 10 on, halfway behind the pair when out of sight for half the time.
    x0 = behind + 22 - speed * (1.0 + hidden_keyframes / 20)
    walker_ids = []
    for k in range(40):
        x = x0 + speed * k / 10
        people = list(standers)
        if not 10 <= k < 10 + hidden_keyframes:
            people.append((_box(x, 240, 95), "red"))
        frame = _frame(people)
        out = tracker.update_with_detections(_detections([b for b, _ in people]), frame)
        if len(people) == 3 and len(out) == 3:
            walker = np.argmin(np.abs(out.xyxy[:, 3] - 240))
            walker_ids.append(int(out.tracker_id[walker]))
    assert len(walker_ids) >= 40 - hidden_keyframes - 4
    assert len(set(walker_ids[1:])) == 1, walker_ids
    assert tracker.reid_counts["reid_matches"] >= 1


def test_without_reid_the_same_hidden_walk_breaks_the_id():
    """The control: after a 2 s occlusion the older stitching gives a new ID."""
    tracker = PlayerTracker(0.3, 2, 10.0)
    ids = []
    for k in range(40):
        people = [(_box(350, 300, 110), "blue")]
        if not 10 <= k < 30:
            people.append((_box(80 + 50 * k / 10, 240, 95), "red"))
        out = tracker.update_with_detections(_detections([b for b, _ in people]), _frame(people))
        if len(people) == 2 and len(out) == 2:
            ids.append(int(out.tracker_id[np.argmin(np.abs(out.xyxy[:, 3] - 240))]))
    assert len(set(ids[1:])) == 2
