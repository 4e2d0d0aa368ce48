"""Zones and areas on and near every line and circle edge, allowed areas, offside, suggestions."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analytics.court import AREAS, DEFAULT_COURT, ZONES, NetballCourt, zone_of
from backend.analytics.positions import (
    ALLOWED_AREAS,
    area_shares,
    is_allowed,
    offside_spells,
    suggest_positions,
)

C = DEFAULT_COURT
T = C.length_m / 3  # 10.1667
MID_Y = C.width_m / 2
R = C.goal_circle_radius_m
EPS = 0.01


@pytest.mark.parametrize(
    ("x", "y", "zone"),
    [
        (0.0, MID_Y, "left_circle"),  # the post
        (R, MID_Y, "left_circle"),  # circle edge on the long axis
        (R + EPS, MID_Y, "left_third"),
        (0.0, MID_Y - R, "left_circle"),  # where the circle meets the goal line
        (0.0, MID_Y - R - EPS, "left_third"),
        (R * np.cos(0.7) - EPS, MID_Y + R * np.sin(0.7) - EPS, "left_circle"),
        (R * np.cos(0.7) + EPS, MID_Y + R * np.sin(0.7) + EPS, "left_third"),
        (T - EPS, 1.0, "left_third"),
        (T + EPS, 1.0, "centre_third"),
        (2 * T - EPS, 14.0, "centre_third"),
        (2 * T + EPS, 14.0, "right_third"),
        (C.length_m - R - EPS, MID_Y, "right_third"),
        (C.length_m - R, MID_Y, "right_circle"),
        (C.length_m, MID_Y + R, "right_circle"),
        (C.length_m, MID_Y + R + EPS, "right_third"),
        (C.length_m, 0.0, "right_third"),  # a corner is in court
        (0.0, C.width_m, "left_third"),
        (-EPS, 3.0, "out"),
        (C.length_m + EPS, 3.0, "out"),
        (15.0, -EPS, "out"),
        (15.0, C.width_m + EPS, "out"),
        (float("nan"), 3.0, "out"),
    ],
)
def test_zone_on_and_near_every_line(x: float, y: float, zone: str) -> None:
    assert zone_of(x, y) == zone
    assert ZONES[int(C.zones_of(np.array([x]), np.array([y]))[0])] == zone


@pytest.mark.parametrize(
    ("zone", "right", "left"),
    [
        ("right_circle", "attacking_circle", "defending_circle"),
        ("right_third", "attacking_third", "defending_third"),
        ("centre_third", "centre_third", "centre_third"),
        ("left_third", "defending_third", "attacking_third"),
        ("left_circle", "defending_circle", "attacking_circle"),
        ("out", "out", "out"),
    ],
)
def test_areas_per_attacking_end(zone: str, right: str, left: str) -> None:
    points = {
        "right_circle": (29.0, MID_Y),
        "right_third": (22.0, 1.0),
        "centre_third": (15, 7),
        "left_third": (8.0, 1.0),
        "left_circle": (1.0, MID_Y),
        "out": (-1.0, 3.0),
    }
    x, y = points[zone]
    assert C.area_of(x, y, "right") == right
    assert C.area_of(x, y, "left") == left


def test_vectorised_zones_match_scalar_on_a_grid() -> None:
    xs, ys = np.meshgrid(np.linspace(-0.5, 31, 157), np.linspace(-0.5, 15.8, 83))
    vec = C.zones_of(xs.ravel(), ys.ravel())
    assert [ZONES[i] for i in vec] == [
        zone_of(x, y) for x, y in zip(xs.ravel(), ys.ravel(), strict=True)
    ]


def test_landmarks_include_circle_goal_line_points_and_old_names() -> None:
    marks = C.landmarks_m()
    assert marks["left_circle_far"] == (0.0, pytest.approx(MID_Y - R))
    assert marks["right_circle_near"] == (30.5, pytest.approx(MID_Y + R))
    for old in ("far_left_corner", "near_right_third", "left_goal_post", "centre"):
        assert old in marks
    assert C.corners_m()[2] == (30.5, 15.25)
    for point in C.circle_goal_line_points_m().values():
        assert C.zone_of(*point).endswith("circle")
    assert C.goal_post_m("left") == (0.0, MID_Y)
    with pytest.raises(ValueError, match="'right' or 'left'"):
        C.area_of(1, 1, "up")
    assert NetballCourt(length_m=20.0).third_length_m == pytest.approx(20 / 3)


# Every position against every area (design.md section 5).
ALLOWED_TABLE = {
    "GS": ("attacking_circle", "attacking_third"),
    "GA": ("attacking_circle", "attacking_third", "centre_third"),
    "WA": ("attacking_third", "centre_third"),
    "C": ("attacking_third", "centre_third", "defending_third"),
    "WD": ("centre_third", "defending_third"),
    "GD": ("centre_third", "defending_third", "defending_circle"),
    "GK": ("defending_third", "defending_circle"),
}


@pytest.mark.parametrize("position", list(ALLOWED_TABLE))
@pytest.mark.parametrize("area", [a for a in AREAS if a != "out"])
def test_every_positions_allowed_areas(position: str, area: str) -> None:
    assert is_allowed(position, area) is (area in ALLOWED_TABLE[position])
    assert set(ALLOWED_AREAS[position]) == set(ALLOWED_TABLE[position])


def test_unknown_position_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown position 'XX'"):
        is_allowed("XX", "centre_third")


def _areas(*names: str) -> np.ndarray:
    return np.array([AREAS.index(n) for n in names], np.int8)


@pytest.mark.parametrize(
    ("outside_frames", "tolerance", "expected"),
    [(12, 12, 0), (13, 12, 1), (30, 12, 1), (5, 0, 1), (0, 0, 0)],
)
def test_offside_needs_more_than_the_tolerance(outside_frames, tolerance, expected) -> None:
    areas = _areas(*(["attacking_third"] * 20 + ["centre_third"] * outside_frames
                     + ["attacking_third"] * 20))  # fmt: skip
    frames = np.arange(len(areas))
    xy = np.zeros((len(areas), 2))
    spells = offside_spells(7, "GS", frames, areas, xy, tolerance)
    assert len(spells) == expected
    if expected:
        assert (spells[0].start_frame, spells[0].end_frame) == (20, 19 + outside_frames)
        assert spells[0].area == "centre_third" and spells[0].position == "GS"


def test_off_court_is_not_offside_and_gaps_split_runs() -> None:
    areas = _areas(*(["out"] * 30 + ["defending_third"] * 10 + ["defending_third"] * 10))
    frames = np.r_[np.arange(40), np.arange(50, 60)]  # a 10-frame gap in the track
    spells = offside_spells(1, "GS", frames, areas, np.zeros((50, 2)), 8)
    assert [(s.start_frame, s.end_frame) for s in spells] == [(30, 39), (50, 59)]


def test_suggested_positions_follow_where_players_go() -> None:
    def shares(*names):
        return area_shares(_areas(*names))

    by_track = {
        1: shares("attacking_circle", "attacking_third", "attacking_circle"),  # GS
        2: shares("defending_circle", "defending_third"),  # GK
        3: shares("attacking_third", "centre_third", "defending_third"),  # C
        4: shares("centre_third", "attacking_third", "attacking_circle"),  # GA
        5: shares("centre_third", "defending_third", "defending_circle"),  # GD
    }
    rows = {t: 100 for t in by_track}
    assert suggest_positions(by_track, rows, set()) == {1: "GS", 2: "GK", 3: "C", 4: "GA", 5: "GD"}
    # The analyst already named a GS: the next best fit goes elsewhere, no duplicate
    got = suggest_positions({1: by_track[1]}, {1: 100}, {"GS"})
    assert got[1] == "GA"
