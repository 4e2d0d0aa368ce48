"""Netball court geometry in metres, and the zone a court position falls in.

Court frame: x runs along the 30.5 m length from the left goal line (as seen from the camera),
y runs across the 15.25 m width from the far sideline towards the camera. With that choice the
image's downward direction roughly follows +y, so a correct calibration never mirrors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ZONES = ("left_circle", "left_third", "centre_third", "right_third", "right_circle", "out")
# The areas seen from a team: where it attacks (towards the goal it shoots at) and defends.
AREAS = (
    "attacking_circle",
    "attacking_third",
    "centre_third",
    "defending_third",
    "defending_circle",
    "out",
)
ENDS = ("right", "left")
_AREA_OF_ZONE = {
    "right": {
        "right_circle": "attacking_circle",
        "right_third": "attacking_third",
        "centre_third": "centre_third",
        "left_third": "defending_third",
        "left_circle": "defending_circle",
        "out": "out",
    },
    "left": {
        "left_circle": "attacking_circle",
        "left_third": "attacking_third",
        "centre_third": "centre_third",
        "right_third": "defending_third",
        "right_circle": "defending_circle",
        "out": "out",
    },
}


def other_end(end: str) -> str:
    """The end the opponents attack: `right` <-> `left`."""
    if end not in ENDS:
        raise ValueError(f"An attacking end is 'right' or 'left', got {end!r}.")
    return "left" if end == "right" else "right"


def area_of_zone(zone: str, attacking: str) -> str:
    """The AREAS name of a ZONES name for a team attacking towards `attacking`."""
    if attacking not in ENDS:
        raise ValueError(f"An attacking end is 'right' or 'left', got {attacking!r}.")
    try:
        return _AREA_OF_ZONE[attacking][zone]
    except KeyError:
        raise ValueError(f"Unknown zone {zone!r}; expected one of {', '.join(ZONES)}.") from None


@dataclass(frozen=True)
class NetballCourt:
    length_m: float = 30.5
    width_m: float = 15.25
    goal_circle_radius_m: float = 4.9
    centre_circle_diameter_m: float = 0.9
    thirds: int = 3
    quarter_duration_s: float = 15 * 60
    quarters: int = 4
    obstruction_distance_m: float = 0.9
    ball_hold_limit_s: float = 3.0

    @property
    def third_length_m(self) -> float:
        return self.length_m / self.thirds

    @property
    def centre_m(self) -> tuple[float, float]:
        return (self.length_m / 2, self.width_m / 2)

    @property
    def left_goal_post_m(self) -> tuple[float, float]:
        return (0.0, self.width_m / 2)

    @property
    def right_goal_post_m(self) -> tuple[float, float]:
        return (self.length_m, self.width_m / 2)

    def corners_m(self) -> list[tuple[float, float]]:
        """Far-left, far-right, near-right, near-left: the order the calibration UI asks for."""
        length, width = self.length_m, self.width_m
        return [(0.0, 0.0), (length, 0.0), (length, width), (0.0, width)]

    def landmarks_m(self) -> dict[str, tuple[float, float]]:
        """Points an analyst can click in a frame: corners, third lines on both sidelines, posts."""
        t = self.third_length_m
        return {
            "far_left_corner": (0.0, 0.0),
            "far_right_corner": (self.length_m, 0.0),
            "near_right_corner": (self.length_m, self.width_m),
            "near_left_corner": (0.0, self.width_m),
            "far_left_third": (t, 0.0),
            "far_right_third": (2 * t, 0.0),
            "near_left_third": (t, self.width_m),
            "near_right_third": (2 * t, self.width_m),
            "left_goal_post": self.left_goal_post_m,
            "right_goal_post": self.right_goal_post_m,
            "centre": self.centre_m,
            **self.circle_goal_line_points_m(),
        }

    def goal_post_m(self, end: str) -> tuple[float, float]:
        """The post a team attacking towards `end` ('right' or 'left') shoots at."""
        if end not in ENDS:
            raise ValueError(f"An end is 'right' or 'left', got {end!r}.")
        return self.right_goal_post_m if end == "right" else self.left_goal_post_m

    def circle_goal_line_points_m(self) -> dict[str, tuple[float, float]]:
        """Where each goal circle meets its goal line: four points a camera often sees."""
        half_w, r = self.width_m / 2, self.goal_circle_radius_m
        return {
            "left_circle_far": (0.0, half_w - r),
            "left_circle_near": (0.0, half_w + r),
            "right_circle_far": (self.length_m, half_w - r),
            "right_circle_near": (self.length_m, half_w + r),
        }

    def circle_top_m(self, end: str) -> tuple[float, float]:
        """The point of a goal circle farthest from its goal line (on the court's long axis)."""
        half_w, r = self.width_m / 2, self.goal_circle_radius_m
        return (r, half_w) if end == "left" else (self.length_m - r, half_w)

    def contains(self, x_m: float, y_m: float, margin_m: float = 0.0) -> bool:
        return (
            -margin_m <= x_m <= self.length_m + margin_m
            and -margin_m <= y_m <= self.width_m + margin_m
        )

    def zone_of(self, x_m: float, y_m: float) -> str:
        """One of ZONES. Lines belong to the zone they bound (a ball on the line is in court)."""
        if not (math.isfinite(x_m) and math.isfinite(y_m)) or not self.contains(x_m, y_m):
            return "out"
        half_w = self.width_m / 2
        if math.hypot(x_m, y_m - half_w) <= self.goal_circle_radius_m:
            return "left_circle"
        if math.hypot(self.length_m - x_m, y_m - half_w) <= self.goal_circle_radius_m:
            return "right_circle"
        t = self.third_length_m
        if x_m < t:
            return "left_third"
        if x_m <= 2 * t:
            return "centre_third"
        return "right_third"

    def area_of(self, x_m: float, y_m: float, attacking: str) -> str:
        """One of AREAS for a team attacking towards `attacking` ('right' or 'left')."""
        return area_of_zone(self.zone_of(x_m, y_m), attacking)

    def zones_of(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Vectorised zone_of: an int8 index into ZONES per point (NaN -> 'out')."""
        x = np.asarray(x_m, dtype=np.float64)
        y = np.asarray(y_m, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            inside = (x >= 0) & (x <= self.length_m) & (y >= 0) & (y <= self.width_m)
            t = self.third_length_m
            idx = np.where(x < t, 1, np.where(x <= 2 * t, 2, 3)).astype(np.int8)
            half_w, r = self.width_m / 2, self.goal_circle_radius_m
            idx[np.hypot(self.length_m - x, y - half_w) <= r] = 4
            idx[np.hypot(x, y - half_w) <= r] = 0
        idx[~inside] = 5
        return idx


DEFAULT_COURT = NetballCourt()


def zone_of(x_m: float, y_m: float, court: NetballCourt = DEFAULT_COURT) -> str:
    return court.zone_of(x_m, y_m)
