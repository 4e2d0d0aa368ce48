"""A swap of two team-mates' IDs (a crossing the tracker got wrong) leaves team statistics alone.

Stage 2 takes each track's team from the rows stage 1 wrote for it (one final team per track,
tracks.csv), and counts team statistics by team. So two team-mates who swap IDs swap their
player lines but not their team's; re-identification never matches a track to a rival
(reid.py, the team gate), which is the swap that would move a player's play to the other team.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from backend.analytics import events
from backend.analytics.inputs import AnalyticsInputs
from backend.analytics.stage import run_analytics
from tests.analytics.scenes import Scene

FPS, SECONDS = 25.0, 8.0
FRAMES = round(FPS * SECONDS)


def _people() -> dict[str, tuple[str, np.ndarray]]:
    """Two A players crossing each other at 4 s (0.6 m apart), two B players standing."""
    t = np.arange(FRAMES) / FPS
    walk = np.clip(t / SECONDS, 0, 1)[:, None]
    return {
        "a1": ("A", np.c_[5 + 6 * walk, np.full((FRAMES, 1), 5.0)]),
        "a2": ("A", np.c_[11 - 6 * walk, np.full((FRAMES, 1), 5.6)]),
        "b1": ("B", np.tile([8.0, 11.0], (FRAMES, 1))),
        "b2": ("B", np.tile([14.0, 8.0], (FRAMES, 1))),
    }


# Who holds the ball when (seconds): passes within a team, turnovers between teams.
HOLDS = [(0.2, 1.2, "a1"), (1.6, 2.6, "a2"), (3.0, 4.0, "b1"), (4.4, 5.2, "b2"),
         (5.6, 6.4, "a2"), (6.8, 7.8, "a1")]  # fmt: skip
IDS = {"a1": 1, "a2": 2, "b1": 3, "b2": 4}


def _scene(swap: tuple[str, str] | None, swap_s: float, holds=HOLDS) -> Scene:
    """The play as stage 1 would write it when it swapped the IDs of `swap` at `swap_s`.

    Stage 1 writes one team per track (its final vote, over all its rows): a track that
    carried people of two teams gets the team it carried longest.
    """
    people, k = _people(), round(swap_s * FPS)
    scene = Scene(fps=FPS, n_frames=FRAMES)
    paths = {p: path.copy() for p, (_, path) in people.items()}
    owner = {IDS[p]: p for p in people}  # track id -> person after the swap
    if swap is not None:
        a, b = swap
        paths[a][k:], paths[b][k:] = people[b][1][k:], people[a][1][k:]
        owner[IDS[a]], owner[IDS[b]] = b, a
    for p, tid in IDS.items():
        before, after = people[p][0], people[owner[tid]][0]
        team = before if k >= FRAMES - k else after
        scene.add(tid, team, paths[p])
    for start, end, person in holds:
        # The ball is at the person's hands: after the swap that person's track is another ID.
        tid = IDS[person] if swap is None else next(t for t, o in owner.items() if o == person)
        if swap is None or end * FPS <= k:
            scene.hold(start, end, IDS[person])
        elif start * FPS >= k:
            scene.hold(start, end, tid)
        else:  # the swap happens during this hold
            scene.hold(start, swap_s, IDS[person]).hold(swap_s, end, tid)
    return scene


def _sheets(tmp_path: Path, scene: Scene) -> tuple[list[dict], list[dict]]:
    folder = scene.write(tmp_path)
    run_analytics(folder, AnalyticsInputs(team_a_attacks="right"))

    def rows(name: str) -> list[dict]:
        with (folder / name).open(newline="") as handle:
            return list(csv.DictReader(handle))

    return rows("teams.csv"), rows("players.csv")


# Team figures that count play; distance_m sums each track's path, which a swap makes jump.
PLAY_COLUMNS = ("possession_s", "possession_pct", "possessionChanges", "passes",
                "passesCompleted", "feeds", "centrePassReceives", "gain", "intercepts",
                "turnovers", "goalAttempts", "goals")  # fmt: skip


def _apart_m(swap_s: float) -> float:
    k = round(swap_s * FPS)
    people = _people()
    return float(np.linalg.norm(people["a1"][1][k] - people["a2"][1][k]))


@pytest.mark.parametrize("swap_s", [3.9, 4.2, 4.35], ids=["b-holds", "in-flight", "b-catches"])
def test_a_team_mate_swap_does_not_change_team_statistics(tmp_path: Path, swap_s: float) -> None:
    """The two A players cross at 4 s while B has the ball: where a tracker swaps them."""
    teams, players = _sheets(tmp_path / "truth", _scene(None, swap_s))
    swapped_teams, swapped_players = _sheets(tmp_path / "swap", _scene(("a1", "a2"), swap_s))
    assert sum(float(r["passes"]) for r in teams) >= 4  # there is play to count
    assert [r["team"] for r in swapped_teams] == [r["team"] for r in teams]
    for truth, swapped in zip(teams, swapped_teams, strict=True):
        assert {k: swapped[k] for k in PLAY_COLUMNS} == {k: truth[k] for k in PLAY_COLUMNS}
        # Each of the two tracks jumps once, by how far apart the two players were.
        extra = float(swapped["distance_m"]) - float(truth["distance_m"])
        assert -0.05 <= extra <= 2 * _apart_m(swap_s) + 0.05
    # The swap is real: the two A players' own lines changed.
    assert swapped_players != players


def test_a_swap_across_teams_would_change_them(tmp_path: Path) -> None:
    """The control: the comparison above can fail. Re-identification forbids this swap."""
    teams, _ = _sheets(tmp_path / "truth", _scene(None, 4.2))
    crossed, _ = _sheets(tmp_path / "cross", _scene(("a2", "b1"), 4.2))
    assert [{k: r[k] for k in PLAY_COLUMNS} for r in crossed] != [
        {k: r[k] for k in PLAY_COLUMNS} for r in teams
    ]


# a1 holds the ball through the crossing at 4 s: a swap then moves the held ball to ID 2.
HOLDS_THROUGH = [(0.2, 1.2, "b1"), (1.6, 2.6, "a2"), (3.2, 4.8, "a1"), (5.2, 6.2, "b2"),
                 (6.6, 7.6, "a2")]  # fmt: skip


@pytest.mark.parametrize("swap_s", [3.8, 4.0, 4.3])
def test_a_team_mate_swap_while_one_holds_the_ball_is_not_a_pass(
    tmp_path: Path, swap_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stage 2 joins a held ball going between two overlapping team-mates' IDs into one hold
    (possession.join_handoffs): no pass, feed or turnover is made of the swap."""
    teams, _ = _sheets(tmp_path / "truth", _scene(None, swap_s, HOLDS_THROUGH))
    swapped, _ = _sheets(tmp_path / "swap", _scene(("a1", "a2"), swap_s, HOLDS_THROUGH))
    assert sum(float(r["passes"]) for r in teams) >= 2
    for truth, got in zip(teams, swapped, strict=True):
        assert {k: got[k] for k in PLAY_COLUMNS} == {k: truth[k] for k in PLAY_COLUMNS}
    # The control: taken at face value, the swap is a pass from ID 1 to ID 2.
    monkeypatch.setattr(events, "join_handoffs", lambda spells, *_: spells)
    naive, _ = _sheets(tmp_path / "naive", _scene(("a1", "a2"), swap_s, HOLDS_THROUGH))
    a_truth, a_naive = (next(r for r in rows if r["team"] == "A") for rows in (teams, naive))
    assert float(a_naive["passes"]) == float(a_truth["passes"]) + 1
