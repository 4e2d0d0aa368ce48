"""Automatic first guess of the court calibration from the painted lines of one frame.

Painted-line mask (pixels that differ from their local median and are thin) -> line segments
(probabilistic Hough) -> two families by vanishing point -> the distinct lines of each
family -> every assignment of two lines of one family to the sidelines and two of the other
to goal/third lines -> each candidate scored by how much of the reprojected court model lands
on the mask -> the best few refined by iterating closest line pixels -> the best one, with a
status that says when it is unsure (weak support, or a different court placement that fits
almost as well) rather than showing a wrong court confidently. Pure: numpy and OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from backend.analytics.calibration import (
    CalibrationFit,
    CalibrationRefused,
    apply,
    fit_landmarks,
)
from backend.analytics.court import DEFAULT_COURT, NetballCourt
from backend.analytics.court_placements import LineScorer, camera_ok, placements, plausible


@dataclass(frozen=True)
class CourtLineSettings:
    """Every threshold of the automatic guess, with its unit. Pixels are at `work_width_px`."""

    work_width_px: int = 960  # frames are resized to this width first (speed, fixed scales)
    line_contrast: float = 35.0  # colour distance (0-441) of a line pixel from its background
    max_line_width_px: int = 6  # thicker structures (people, boards) are not painted lines
    hough_threshold: int = 25  # Hough votes for a segment
    min_segment_px: int = 25
    max_segment_gap_px: int = 4
    line_angle_tolerance_deg: float = 2.0  # segments of one line point the same way
    line_merge_px: float = 5.0  # and lie within this of the line
    min_line_length_px: float = 60.0  # summed segment length for a court line candidate
    max_lines: int = 10  # keep the longest (bounds the candidate count)
    # Two sidelines and two cross lines of a real camera view meet at vanishing points that
    # imply a focal length in this range (multiples of the frame width), or one is at infinity.
    focal_range_widths: tuple[float, float] = (0.2, 20.0)
    # A camera films a court from above head height: a placement that needs the camera at
    # the floor squeezes the court onto a stripe of lines (boards, the far sideline).
    min_camera_height_m: float = 1.5
    max_squareness: float = 1.25  # court metres along and across must come out alike
    # A frame worth analysing shows the court large: a placement covering less of the frame
    # (a tiny court fitted onto a row of advertising boards) is not considered.
    min_court_area_share: float = 0.08
    score_sigma_px: float = 2.0  # model point -> line pixel distance of half credit
    refine_radii_px: tuple[float, ...] = (12.0, 8.0, 5.0, 3.0, 3.0, 3.0)
    refine_candidates: int = 6  # best raw candidates refined
    hit_px: float = 2.5  # a model point this close to a line pixel is supported
    ok_support: float = 0.98  # share of visible model points supported for status ok
    unsure_support: float = 0.45  # below this nothing is shown
    min_visible_share: float = 0.25  # of the court model inside the frame for status ok
    ambiguity_ratio: float = 0.97  # a different placement scoring this close makes it unsure
    distinct_px: float = 15.0  # placements whose landmarks differ this much are different


DEFAULT_SETTINGS = CourtLineSettings()
MIN_LINES = 4  # two sidelines and two lines across the court


@dataclass(frozen=True)
class CourtGuess:
    fit: CalibrationFit
    support: float  # share of visible model points on a painted line (0-1)
    visible_share: float  # share of the court model inside the frame
    runner_up_ratio: float | None  # best different placement's score / the best score
    lines_found: int

    @property
    def status(self) -> str:
        return self.fit.status

    def to_dict(self) -> dict:
        return self.fit.to_dict() | {
            "support": round(self.support, 3),
            "visible_share": round(self.visible_share, 3),
            "runner_up_ratio": None
            if self.runner_up_ratio is None
            else round(self.runner_up_ratio, 3),
            "lines_found": self.lines_found,
        }


def line_mask(image_bgr: np.ndarray, settings: CourtLineSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """uint8 0/255: thin ridges of any colour, i.e. pixels unlike the floor on both sides.

    A pixel is on a painted line when, along some direction, the pixels half a line width
    away on both sides differ from it. Inside a big blob (a player, a board) both sides
    look the same; at the edge between two regions one side does, so neither is a line,
    and a line touching a board row (the far sideline) still is one.
    """
    img = cv2.GaussianBlur(image_bgr, (3, 3), 0).astype(np.float32)
    d = settings.max_line_width_px // 2 + 1
    h, w = img.shape[:2]
    padded = cv2.copyMakeBorder(img, d, d, d, d, cv2.BORDER_REPLICATE)
    ridge = np.zeros((h, w), np.float32)
    for dx, dy in ((d, 0), (0, d), (d, d), (d, -d)):
        ahead = padded[d + dy : d + dy + h, d + dx : d + dx + w]
        behind = padded[d - dy : d - dy + h, d - dx : d - dx + w]
        contrast = np.minimum(
            np.linalg.norm(img - ahead, axis=2), np.linalg.norm(img - behind, axis=2)
        )
        np.maximum(ridge, contrast, out=ridge)
    return (ridge > settings.line_contrast).astype(np.uint8) * 255


def find_segments(mask: np.ndarray, settings: CourtLineSettings = DEFAULT_SETTINGS) -> np.ndarray:
    found = cv2.HoughLinesP(
        mask,
        1,
        np.pi / 720,
        settings.hough_threshold,
        minLineLength=settings.min_segment_px,
        maxLineGap=settings.max_segment_gap_px,
    )
    return np.empty((0, 4)) if found is None else found.reshape(-1, 4).astype(np.float64)


def _homogeneous_lines(segments: np.ndarray) -> np.ndarray:
    a = np.c_[segments[:, :2], np.ones(len(segments))]
    b = np.c_[segments[:, 2:], np.ones(len(segments))]
    lines = np.cross(a, b)
    return lines / np.linalg.norm(lines[:, :2], axis=1, keepdims=True)


def distinct_lines(segments: np.ndarray, settings: CourtLineSettings) -> list[np.ndarray]:
    """Collinear segments merged into lines (longest first), as homogeneous 3-vectors.

    Short chords of the circles stay below `min_line_length_px` and drop out here.
    """
    lengths = np.linalg.norm(segments[:, 2:] - segments[:, :2], axis=1)
    lines = _homogeneous_lines(segments)
    tol_cos = np.cos(np.radians(settings.line_angle_tolerance_deg))
    members: list[list[int]] = []
    anchors: list[np.ndarray] = []
    for k in np.argsort(-lengths):
        for cluster, anchor in zip(members, anchors, strict=True):
            if abs(anchor[:2] @ lines[k, :2]) < tol_cos:
                continue
            ends = np.c_[segments[k].reshape(2, 2), np.ones(2)] @ anchor
            if np.abs(ends).max() <= settings.line_merge_px:
                cluster.append(k)
                break
        else:
            members.append([k])
            anchors.append(lines[k])
    found = []
    for cluster in members:
        total = float(lengths[cluster].sum())
        if total < settings.min_line_length_px:
            continue
        pts = np.concatenate(
            [
                np.linspace(segments[k, :2], segments[k, 2:], max(2, int(lengths[k] / 4)))
                for k in cluster
            ]
        )
        vx, vy, x0, y0 = cv2.fitLine(pts.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        line = np.cross([x0, y0, 1.0], [x0 + vx, y0 + vy, 1.0])
        found.append((total, line / np.linalg.norm(line[:2])))
    found.sort(key=lambda f: -f[0])
    return [f[1] for f in found[: settings.max_lines]]


def _sane(c2i: np.ndarray, court: NetballCourt, size: tuple[int, int]) -> bool:
    """The placement's landmarks pass the same checks as an analyst's clicks."""
    return fit_landmarks(_framed_landmarks(c2i, court, size), court=court).status != "refused"


def _landmark_px(c2i: np.ndarray, court: NetballCourt) -> np.ndarray:
    return apply(c2i, np.float64(list(court.landmarks_m().values())))


def detect_court(
    image_bgr: np.ndarray,
    *,
    court: NetballCourt = DEFAULT_COURT,
    settings: CourtLineSettings = DEFAULT_SETTINGS,
) -> CourtGuess:
    """The best court placement for one frame, as a CalibrationFit with status and reason."""
    scale = settings.work_width_px / image_bgr.shape[1]
    work = cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    size = (work.shape[1], work.shape[0])
    mask = line_mask(work, settings)
    segments = find_segments(mask, settings)
    lines = distinct_lines(segments, settings) if len(segments) else []
    n_lines = len(lines)
    if n_lines < MIN_LINES:
        return _refused(
            f"Found {n_lines} court line(s); two sidelines and two lines across the court are "
            "needed. Pick a frame that shows more of the court, or click the landmarks.",
            n_lines,
        )
    scorer = LineScorer(mask, court, settings)
    scored = []
    for c2i in placements(lines, court, size, settings):
        if plausible(c2i, court) and camera_ok(c2i, size, settings):
            scored.append((scorer.score(c2i)[0], c2i))
    if not scored:
        return _refused(
            "No placement of the court fits the lines found; click the landmarks.", n_lines
        )
    scored.sort(key=lambda s: -s[0])
    full_size = (image_bgr.shape[1], image_bgr.shape[0])
    to_full = np.diag([1 / scale, 1 / scale, 1.0])
    refined = []
    for _, c2i in scored:
        if len(refined) >= settings.refine_candidates:
            break
        if not _sane(to_full @ c2i, court, full_size):
            continue
        better = scorer.refine(c2i)
        if not (
            plausible(better, court)
            and camera_ok(better, size, settings)
            and _sane(to_full @ better, court, full_size)
        ):
            better = c2i
        refined.append((*scorer.score(better), better))
    if not refined:
        return _refused(
            "No placement of the court fits the lines found; click the landmarks.", n_lines
        )
    refined.sort(key=lambda r: -r[0])
    best_score, support, visible, best = refined[0]
    # Placements are told apart by the landmarks in the frame: off-frame ones can swing far.
    best_lm = _landmark_px(best, court)
    w, h = size
    framed = (
        np.isfinite(best_lm).all(axis=1)
        & (best_lm[:, 0] >= 0) & (best_lm[:, 0] < w) & (best_lm[:, 1] >= 0) & (best_lm[:, 1] < h)
    )  # fmt: skip
    if framed.sum() < 4:
        framed[:] = True
    runner_up = None
    for other_score, _, _, other in refined[1:]:
        moved = np.linalg.norm(_landmark_px(other, court)[framed] - best_lm[framed], axis=1)
        if np.nanmean(moved) > settings.distinct_px:
            runner_up = other_score / best_score if best_score > 0 else 1.0
            break
    # Back to the caller's pixels; the fit goes through the one checked fitter.
    c2i_full = to_full @ best
    points = _framed_landmarks(c2i_full, court, (image_bgr.shape[1], image_bgr.shape[0]))
    fit = fit_landmarks(points, court=court, source="auto")
    if fit.status == "refused":
        return CourtGuess(fit, support, visible, runner_up, n_lines)
    status, reason = _judge(support, visible, runner_up, settings)
    fit = CalibrationFit(
        status, reason, fit.homography, fit.points, fit.mean_error_m, source="auto"
    )
    return CourtGuess(fit, support, visible, runner_up, n_lines)


# Landmarks this far outside the frame (share of its size) are still worth fitting on.
LANDMARK_FRAME_MARGINS = (0.1, 0.5, 3.0)


def _framed_landmarks(
    c2i: np.ndarray, court: NetballCourt, size: tuple[int, int]
) -> dict[str, list[float]]:
    """The guessed pixel of each landmark in (or near) the frame: what an analyst would click."""
    px = _landmark_px(c2i, court)
    w, h = size
    for margin in LANDMARK_FRAME_MARGINS:
        inside = (
            np.isfinite(px).all(axis=1)
            & (px[:, 0] >= -margin * w)
            & (px[:, 0] <= (1 + margin) * w)
            & (px[:, 1] >= -margin * h)
            & (px[:, 1] <= (1 + margin) * h)
        )
        if inside.sum() >= 6:
            break
    names = list(court.landmarks_m())
    return {names[i]: px[i].tolist() for i in np.flatnonzero(inside)}


def _judge(
    support: float, visible: float, runner_up: float | None, settings: CourtLineSettings
) -> tuple[str, str]:
    facts = f"{support:.0%} of the visible court lines found on the frame"
    if support < settings.unsure_support:
        return "refused", f"Only {facts}: no court placement fits well enough to show."
    if runner_up is not None and runner_up >= settings.ambiguity_ratio:
        return "unsure", (
            f"{facts}, but a different placement of the court fits almost as well "
            f"({runner_up:.0%} of the score): check the lines before accepting."
        )
    if support < settings.ok_support:
        return "unsure", f"Only {facts}: check the drawn lines before accepting."
    if visible < settings.min_visible_share:
        return "unsure", f"{facts}, but only {visible:.0%} of the court is in the frame."
    return "ok", f"{facts}."


def _refused(reason: str, n_lines: int) -> CourtGuess:
    return CourtGuess(
        CalibrationFit("refused", reason, None, source="auto"), 0.0, 0.0, None, n_lines
    )


__all__ = ["CalibrationRefused", "CourtGuess", "CourtLineSettings", "detect_court", "line_mask"]
