"""Team labels on generated clips of several sizes, with and without an official.

Small clips once put a real player into "other": the detector often boxes only a player's
legs (or upper body), and that box's "torso" crop, trousers, was far from both kits; and with
an official's third kit, k=2 could pair the official with a team and leave the other team out.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.pipeline import PipelineSettings, analyze_video
from backend.pipeline.detection import PersonHeights
from backend.pipeline.teams import OTHER, TeamClassifier
from tests.pipeline.evaluate import read_tracks, track_people
from tests.synthetic import make_match_clip

# (size, officials, seed, fps, players per team): the product default settings throughout.
CLIPS = [
    ((640, 360), 0, 2, 25, 2),
    ((640, 360), 1, 1, 25, 2),
    ((640, 360), 0, 0, 15, 3),  # like the dashboard's browser-test clip
    ((960, 540), 0, 0, 25, 2),
    ((960, 540), 1, 1, 25, 2),
    ((1280, 720), 0, 1, 25, 2),
    ((1280, 720), 1, 0, 25, 2),
    ((1280, 720), 1, 2, 25, 2),
]


def _clip_id(clip) -> str:
    (w, h), officials, seed, fps, per_team = clip
    return f"{w}x{h}-officials{officials}-seed{seed}-{fps}fps-{per_team}a-side"


@pytest.fixture(scope="module", params=CLIPS, ids=_clip_id)
def run(request, tmp_path_factory):
    size, officials, seed, fps, per_team = request.param
    folder = tmp_path_factory.mktemp("teams")
    truth = make_match_clip(
        folder / "clip.mp4",
        seconds=3.0,
        fps=fps,
        size=size,
        players_per_team=per_team,
        officials=officials,
        seed=seed,
    )
    result = analyze_video(truth.path, folder / "out", PipelineSettings())
    tracks = folder / "out" / "tracks.csv"
    labels = {int(r["track_id"]): r["team"] for r in read_tracks(tracks) if r["class"] == "player"}
    # Each track's true kit: that of the person its boxes overlap most often.
    kits = {tid: truth.teams[p] for tid, p in track_people(truth, tracks).items()}
    return truth, result, kits, labels


def test_each_team_gets_one_label_of_its_own_and_no_player_is_other(run):
    _, _, kits, labels = run
    by_kit = {kit: {labels[t] for t, k in kits.items() if k == kit} for kit in ("A", "B")}
    assert all(len(found) == 1 for found in by_kit.values()), by_kit
    assert by_kit["A"] | by_kit["B"] == {"A", "B"}, by_kit


def test_officials_and_only_officials_are_other(run):
    truth, result, kits, labels = run
    assert {labels[t] for t, k in kits.items() if k == OTHER} <= {OTHER}
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert summary["counts"]["players_by_team"][OTHER] == truth.teams.count(OTHER)


def _people(rows_px, heights_px, width_px=40.0, x_px=100.0):
    return np.array(
        [[x_px, y - h, x_px + width_px, y] for y, h in zip(rows_px, heights_px, strict=True)]
    )


@pytest.mark.parametrize(
    ("boxes", "whole"),
    [
        # Height grows with the row (100 px at row 200, 160 px at row 500); legs-only boxes
        # (about half) and an upper body whose feet are hidden are parts, whoever's they are.
        (
            np.r_[
                _people(
                    [200, 250, 300, 350, 400, 450, 500, 300, 420],
                    [100, 110, 120, 130, 140, 150, 160, 122, 143],
                ),
                _people([300, 480], [60, 78]),
                _people([330], [80]),
            ],
            [True] * 9 + [False, False, False],
        ),
        # Too few boxes to learn from: every box counts as whole.
        (_people([200, 300, 400], [100, 50, 140]), [True, True, True]),
    ],
)
def test_person_heights_tell_part_boxes_from_whole_people(boxes, whole):
    assert PersonHeights().fit(boxes).whole(boxes).tolist() == whole


def test_official_kit_is_the_one_fewest_people_wear_at_once():
    # Colours as the pipeline sees them (weighted Lab) on the generated clips: red and blue
    # teams, white official. Blue was boxed whole less often (its other player only showed
    # legs), so blue and white have the same number of crops; k=2 alone paired blue and white.
    red, blue, white = [57, 191, 172], [56, 142, 70], [108, 127, 129]
    crops, frames = [], []
    for frame in range(6):
        kits = [red, red, white] + ([blue, blue] if frame < 2 else [blue] if frame < 4 else [])
        crops += kits
        frames += [frame] * len(kits)
    feats = np.array(crops, np.float32) + np.random.default_rng(0).normal(0, 2, (len(crops), 3))
    labels = TeamClassifier().fit(feats, np.array(frames)).predict(feats)
    assert [lab for lab, c in zip(labels, crops, strict=True) if c == white] == [OTHER] * 6
    assert {lab for lab, c in zip(labels, crops, strict=True) if c == blue} in ({"A"}, {"B"})
    assert {lab for lab, c in zip(labels, crops, strict=True) if c == red} in ({"A"}, {"B"})
    assert len(set(labels) - {OTHER}) == 2
