"""Honest warnings about a result that is usable but weak, each saying what to do about it.

Pure: the engine hands over what it measured (counts, team colours, person heights, camera
motion) and gets back the sentences for summary.json's `warnings` and the top of Results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from backend.pipeline.camera import CAMERA_SHIFT_FRAC_MAX, CameraMotion
from backend.pipeline.teams import OTHER_DISTANCE_MIN_LAB

# A ball placed (detected or filled in) on fewer than this share of the frames leaves most
# possession and passes unseen.
BALL_PLACED_SHARE_MIN = 0.5
# Ball gaps left empty (too long to fill) on at least this share of the frames are worth a
# warning; a single short dropout in a long match is not.
BALL_UNFILLED_SHARE_MIN = 0.05
# Two team colours closer than this (weighted Lab units) are one kit: a shirt that close to a
# team's colour already counts as that team (teams.OTHER_DISTANCE_MIN_LAB).
TEAM_COLOUR_DISTANCE_MIN_LAB = OTHER_DISTANCE_MIN_LAB
# A person of COCO's "small" size (area under 32x32 px) at the usual 1:2.5 build is about
# 50 px tall at the detector's input; smaller ones are missed more often than found.
PLAYER_HEIGHT_AT_INPUT_MIN_PX = 50.0
# Input sizes suggested when players are small, in order.
SUGGESTED_IMGSZ = (640, 960, 1280)


@dataclass
class QualityInputs:
    """What one run measured; every field has a neutral default so a part can be left out.

    frame_size: (width, height) of the upright video in pixels.
    counts: summary["counts"] (frames, ball_frames_detected, ball_frames_interpolated,
        players_by_team, ball_unfilled_gaps, ball_unfilled_gap_frames,
        ball_longest_unfilled_gap_s).
    team_colour_distance: distance between the two team colours, None when not split.
    people_together_max: most whole people seen in one of the frames sampled for teams.
    person_heights_px: heights of whole-person boxes in those frames, video pixels.
    """

    frame_size: tuple[int, int]
    imgsz: int
    calibrated: bool = False
    counts: Mapping = field(default_factory=dict)
    team_colour_distance: float | None = None
    people_together_max: int = 0
    person_heights_px: np.ndarray = field(default_factory=lambda: np.empty(0))
    camera: CameraMotion | None = None
    ball_gap_fill_max_s: float = 0.5


def quality_warnings(q: QualityInputs) -> list[str]:
    """The warnings for one run, most important first; empty when nothing looks weak."""
    warnings = [
        *_ball_warnings(q),
        *_team_warnings(q),
        *_size_warnings(q),
        *_camera_warnings(q),
    ]
    return [w for w in warnings if w]


def _ball_warnings(q: QualityInputs) -> list[str]:
    out = []
    frames = int(q.counts.get("frames") or 0)
    detected = int(q.counts.get("ball_frames_detected") or 0)
    placed = detected + int(q.counts.get("ball_frames_interpolated") or 0)
    if frames and placed < BALL_PLACED_SHARE_MIN * frames:
        out.append(
            f"The ball was placed on only {placed} of {frames} frames ({placed / frames:.0%}; "
            f"detected on {detected}), so possession, passes and events are incomplete. Try a "
            f"higher input size (e.g. {_next_imgsz(q.imgsz)}) or a custom ball model "
            "(NETBALL_MODEL)."
        )
    gaps = int(q.counts.get("ball_unfilled_gaps") or 0)
    unfilled = int(q.counts.get("ball_unfilled_gap_frames") or 0)
    if gaps and unfilled >= BALL_UNFILLED_SHARE_MIN * max(frames, 1):
        longest = float(q.counts.get("ball_longest_unfilled_gap_s") or 0.0)
        out.append(
            f"The ball was lost {gaps} time(s) for longer than {q.ball_gap_fill_max_s:g} s "
            f"(longest {longest:.1f} s); those stretches are left empty rather than guessed "
            "with a straight line, and are not drawn or counted. A higher input size or a "
            "custom ball model finds the ball more often."
        )
    return out


def _team_warnings(q: QualityInputs) -> list[str]:
    by_team = q.counts.get("players_by_team") or {}
    a, b = int(by_team.get("A") or 0), int(by_team.get("B") or 0)
    if q.people_together_max == 1:
        return [
            "Only one player was seen at a time, so the two teams' kits could not be learnt: "
            "team labels and possession shares are not meaningful. Rename or merge the teams "
            "on the Results page, or film both teams."
        ]
    if q.team_colour_distance is not None and q.team_colour_distance < TEAM_COLOUR_DISTANCE_MIN_LAB:
        return [
            f"The two team colours are too close to tell apart (distance "
            f"{q.team_colour_distance:.0f}, under {TEAM_COLOUR_DISTANCE_MIN_LAB:.0f}): probably "
            "one kit split in two by the lighting, so team labels and possession shares are not "
            "meaningful. Check the annotated video and rename or merge the teams."
        ]
    if (a == 0) != (b == 0):
        seen = "A" if a else "B"
        return [
            f"Only Team {seen}'s kit was seen on court; the other team has no players, so "
            "possession shares are one-sided. Check the annotated video and rename or merge "
            "the teams."
        ]
    return []


def _size_warnings(q: QualityInputs) -> list[str]:
    heights = np.asarray(q.person_heights_px, dtype=np.float64)
    heights = heights[np.isfinite(heights) & (heights > 0)]
    if not len(heights):
        return []
    scale = q.imgsz / max(q.frame_size)
    at_input = float(np.median(heights)) * scale
    if at_input >= PLAYER_HEIGHT_AT_INPUT_MIN_PX:
        return []
    needed = PLAYER_HEIGHT_AT_INPUT_MIN_PX / at_input * q.imgsz
    return [
        f"Players are about {at_input:.0f} px tall at the detector's input size of "
        f"{q.imgsz} px (under {PLAYER_HEIGHT_AT_INPUT_MIN_PX:.0f} px), so far players are "
        f"missed. Use a higher input size (about {_next_imgsz(needed - 1)}) or a custom model."
    ]


def _camera_warnings(q: QualityInputs) -> list[str]:
    out = []
    width, height = q.frame_size
    if height > width:
        out.append(
            f"The video is portrait ({width}×{height}): it shows only part of the court, so "
            "positions, heatmaps and distances cover that part only. Film landscape with the "
            "whole court in view" + (", and calibrate the court." if not q.calibrated else ".")
        )
    if q.camera is not None and q.camera.moving:
        out.append(
            f"The camera moves (the picture shifts by about {q.camera.median_shift_frac:.0%} "
            f"of its width between sampled moments, {q.camera.moved_pairs} of "
            f"{q.camera.pairs} times by more than {CAMERA_SHIFT_FRAC_MAX:.0%}): "
            "pixel positions, heatmaps and a court calibration assume a fixed camera. Use a "
            "camera on a tripod that shows the whole court."
        )
    return out


def _next_imgsz(imgsz: float) -> int:
    return next((size for size in SUGGESTED_IMGSZ if size > imgsz), SUGGESTED_IMGSZ[-1])
