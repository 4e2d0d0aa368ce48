"""Netball court geometry in metres, and the zone a court position falls in.

Court frame: x runs along the 30.5 m length from the left goal line (as seen from the camera),
y runs across the 15.25 m width from the far sideline towards the camera. With that choice the
image's downward direction roughly follows +y, so a correct calibration never mirrors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ZONES = ("left_circle", "left_third", "centre_third", "right_third", "right_circle", "out")


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
        }

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


DEFAULT_COURT = NetballCourt()


def zone_of(x_m: float, y_m: float, court: NetballCourt = DEFAULT_COURT) -> str:
    return court.zone_of(x_m, y_m)
