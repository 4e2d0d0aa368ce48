"""Pure stages on hand-made inputs: detections, team colours, ball choice, tracking, possession."""

from __future__ import annotations

import numpy as np
import pytest

from backend.pipeline.ball import BallSelector
from backend.pipeline.detection import BALL, PLAYER, Detections, class_map, drop_part_boxes
from backend.pipeline.errors import ModelError
from backend.pipeline.teams import TeamClassifier, TeamVotes, torso_features
from backend.pipeline.tracking import PlayerTracker


def mock_detections(boxes, conf=0.9, class_id=PLAYER) -> Detections:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return Detections(boxes, np.full(len(boxes), conf), np.full(len(boxes), class_id))


def test_detections_validate_row_counts():
    with pytest.raises(ValueError, match="confidence must have 2 rows"):
        Detections(np.zeros((2, 4)), np.zeros(3), np.zeros(2))
    dets = mock_detections([[0, 0, 10, 20], [5, 5, 15, 45]])
    assert dets[np.array([False, True])].feet.tolist() == [[10.0, 45.0]]


@pytest.mark.parametrize(
    ("boxes", "kept"),
    [
        ([[100, 100, 140, 200], [102, 150, 138, 200]], [[100, 100, 140, 200]]),  # legs of one
        ([[100, 100, 140, 200], [105, 80, 130, 150]], [[100, 100, 140, 200], [105, 80, 130, 150]]),
        (
            [[100, 100, 140, 200], [300, 100, 340, 200]],
            [[100, 100, 140, 200], [300, 100, 340, 200]],
        ),
    ],
)
def test_drop_part_boxes_keeps_whole_people_and_players_behind(boxes, kept):
    assert drop_part_boxes(mock_detections(boxes)).xyxy.tolist() == kept


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({0: "person", 32: "sports ball", 5: "bus"}, {0: PLAYER, 32: BALL}),
        ({0: "hoop", 1: "Ball", 2: "player"}, {1: BALL, 2: PLAYER}),
    ],
)
def test_class_map_matches_by_name(names, expected):
    assert class_map(names) == expected


def test_class_map_without_players_is_a_model_error():
    with pytest.raises(ModelError, match="no player class"):
        class_map({0: "cat", 1: "dog"})


def _frame_with_shirts(colors):
    frame = np.full((200, 100 * len(colors), 3), 90, np.uint8)
    boxes = []
    for i, color in enumerate(colors):
        frame[40:120, i * 100 + 20 : i * 100 + 80] = color
        boxes.append([i * 100 + 20, 20, i * 100 + 80, 190])
    return frame, np.array(boxes, dtype=np.float32)


def test_team_classifier_splits_two_shirts_and_spots_the_official():
    red, blue, black = (30, 30, 220), (220, 100, 20), (20, 20, 20)
    frame, boxes = _frame_with_shirts([red, blue, red, blue, red, blue, red, blue, black])
    feats = torso_features(frame, boxes)
    labels = TeamClassifier().fit(feats).predict(feats)
    assert labels[8] == "other"
    assert len(set(labels[0:8:2])) == 1 and len(set(labels[1:8:2])) == 1
    assert {labels[0], labels[1]} == {"A", "B"}


def test_team_votes_keep_the_majority():
    votes = TeamVotes()
    for label in ["A", "A", "B", "A", "other"]:
        votes.add(7, label)
    votes.add(8, "B")
    assert votes.final() == {7: "A", 8: "B"}


def test_ball_selector_ignores_static_spots_and_impossible_jumps():
    selector = BallSelector(max_speed_px_per_frame=10, reacquire_after_frames=30,
                            static_window_frames=300, static_cell_px=10)  # fmt: skip
    marking = [320.0, 200.0]
    samples = [np.array([marking]) for _ in range(6)]
    assert selector.learn_static_spots(samples) == 1
    first = selector.select(
        0, mock_detections([[315, 195, 325, 205], [95, 95, 105, 105]], 0.5, BALL)
    )
    assert first is not None and first.xy.tolist() == [100.0, 100.0]
    # 200 px away three frames later is faster than any pass: not the ball.
    assert selector.select(3, mock_detections([[295, 95, 305, 105]], 0.9, BALL)) is None
    near = selector.select(6, mock_detections([[115, 95, 125, 105]], 0.3, BALL))
    assert near is not None and near.xy.tolist() == [120.0, 100.0]


def test_player_tracker_keeps_ids_through_a_missed_keyframe():
    tracker = PlayerTracker(conf_min=0.3, lost_track_buffer_keyframes=10)
    ids = []
    for k in range(8):
        boxes = [[100 + 4 * k, 100, 140 + 4 * k, 200], [400 - 4 * k, 120, 440 - 4 * k, 220]]
        dets = mock_detections(boxes[:1] if k in (3, 4) else boxes)
        out = tracker.update_with_detections(dets)
        ids.append(
            sorted(zip(out.xyxy[:, 0].round().tolist(), out.tracker_id.tolist(), strict=True))
        )
    left_ids = {row[0][1] for row in ids}
    right_ids = {row[-1][1] for row in ids if len(row) == 2}
    assert len(left_ids) == 1 and len(right_ids) == 1 and left_ids != right_ids
