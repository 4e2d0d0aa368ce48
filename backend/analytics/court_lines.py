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

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from backend.analytics.calibration import (
    CalibrationFit,
    CalibrationRefused,
    apply,
    court_polylines_m,
    fit_landmarks,
)
from backend.analytics.court import DEFAULT_COURT, NetballCourt


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


def _focal_px(v1: np.ndarray, v2: np.ndarray, centre: np.ndarray) -> float | None:
    """Focal length that makes two vanishing points square directions (square pixels,
    principal point at the centre); None when they cannot be, inf when one is at infinity."""
    a = v1[:2] - centre * v1[2]
    b = v2[:2] - centre * v2[2]
    ww = v1[2] * v2[2]
    dot = float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    if abs(ww) < 1e-12 * np.linalg.norm(a) * np.linalg.norm(b):
        return np.inf if abs(dot) < 0.2 else None
    f2 = -float(a @ b) / ww
    return float(np.sqrt(f2)) if f2 > 0 else None


class _Scorer:
    """Scores a court -> image homography by how much of the court model lands on the mask."""

    def __init__(self, mask: np.ndarray, court: NetballCourt, settings: CourtLineSettings) -> None:
        self.h, self.w = mask.shape
        self.settings = settings
        self.model_m = np.concatenate(court_polylines_m(court))
        zero = (mask == 0).astype(np.uint8)
        self.dist, labels = cv2.distanceTransformWithLabels(
            zero, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        on = mask > 0
        self.nearest = np.zeros((labels.max() + 1, 2), np.float64)
        ys, xs = np.nonzero(on)
        self.nearest[labels[on]] = np.c_[xs, ys]
        self.labels = labels

    def project(self, c2i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.c_[self.model_m, np.ones(len(self.model_m))] @ c2i.T
        with np.errstate(divide="ignore", invalid="ignore"):
            px = h[:, :2] / h[:, 2:3]
        inside = (
            (h[:, 2] > 0)
            & (px[:, 0] >= 0)
            & (px[:, 0] < self.w - 1)
            & (px[:, 1] >= 0)
            & (px[:, 1] < self.h - 1)
        )
        return px, inside

    def score(self, c2i: np.ndarray) -> tuple[float, float, float]:
        """(score, support share, visible share) of a court -> image homography.

        Counted over the distinct pixels the model lands on, so a placement that squeezes
        the court onto one painted line earns no more than that line's length.
        """
        px, inside = self.project(c2i)
        if not inside.any():
            return -np.inf, 0.0, 0.0
        ij = np.round(px[inside]).astype(int)
        _, first = np.unique(ij[:, 1] * self.w + ij[:, 0], return_index=True)
        ij = ij[first]
        d = self.dist[ij[:, 1], ij[:, 0]]
        credit = np.exp(-0.5 * (d / self.settings.score_sigma_px) ** 2)
        score = float(credit.sum() - 0.5 * (1 - credit).sum())
        support = float((d <= self.settings.hit_px).mean())
        return score, support, float(inside.mean())

    def refine(self, c2i: np.ndarray) -> np.ndarray:
        """Iterate: each visible model point to its closest line pixel, refit the homography.

        A refit is kept only when it scores at least as well, so the iteration cannot slide
        into a degenerate placement that hugs one line.
        """
        best_score = self.score(c2i)[0]
        for radius in self.settings.refine_radii_px:
            px, inside = self.project(c2i)
            ij = np.round(px[inside]).astype(int)
            d = self.dist[ij[:, 1], ij[:, 0]]
            near = d <= radius
            if near.sum() < 8:
                break
            target = self.nearest[self.labels[ij[near, 1], ij[near, 0]]]
            refit, _ = cv2.findHomography(self.model_m[inside][near], target, cv2.RANSAC, radius)
            if refit is None or not np.isfinite(refit).all():
                break
            score = self.score(refit)[0]
            if score < best_score:
                continue
            c2i, best_score = refit, score
        return c2i


def _intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    p = np.cross(a, b)
    if abs(p[2]) < 1e-9:
        return None
    return p[:2] / p[2]


def _candidates(
    lines: list[np.ndarray],
    court: NetballCourt,
    image_size: tuple[int, int],
    settings: CourtLineSettings,
):
    """Court -> image homographies: two lines as the sidelines, two as goal or third lines."""
    t = court.third_length_m
    xs = (0.0, t, 2 * t, court.length_m)
    w, h = image_size
    centre = np.array([w / 2, h / 2])
    limit = 3.0 * max(w, h)
    f_min, f_max = (r * w for r in settings.focal_range_widths)
    pairs = list(itertools.combinations(range(len(lines)), 2))
    for (i, j), (p, q) in itertools.permutations(pairs, 2):
        if {i, j} & {p, q}:
            continue
        focal = _focal_px(np.cross(lines[i], lines[j]), np.cross(lines[p], lines[q]), centre)
        if focal is None or not (f_min <= focal <= f_max or focal == np.inf):
            continue
        corners = {}
        for a, b in itertools.product((i, j), (p, q)):
            pt = _intersect(lines[a], lines[b])
            if pt is None or np.abs(pt - centre).max() > limit:
                break
            corners[a, b] = pt
        if len(corners) < 4:
            continue
        # The far sideline is the upper one and x grows to the right (court.py's frame), so
        # only increasing goal/third-line positions from left to right need trying.
        far, near = (
            (i, j)
            if corners[i, p][1] + corners[i, q][1] < corners[j, p][1] + corners[j, q][1]
            else (j, i)
        )
        left, right = (
            (p, q)
            if corners[far, p][0] + corners[near, p][0] < corners[far, q][0] + corners[near, q][0]
            else (q, p)
        )
        image = np.float32(
            [corners[far, left], corners[far, right], corners[near, right], corners[near, left]]
        )
        for c1, c2 in itertools.combinations(xs, 2):
            court_pts = np.float32([(c1, 0), (c2, 0), (c2, court.width_m), (c1, court.width_m)])
            yield cv2.getPerspectiveTransform(court_pts, image)


def _plausible(c2i: np.ndarray, court: NetballCourt) -> bool:
    """Not mirrored, not upside down, every court corner in front of the camera."""
    corners = np.c_[np.float64(court.corners_m()), np.ones(4)] @ c2i.T
    if not (corners[:, 2] > 0).all() and not (corners[:, 2] < 0).all():
        return False
    px = corners[:, :2] / corners[:, 2:3]
    # far-left, far-right, near-right, near-left: clockwise on screen, far side above.
    edges = np.roll(px, -1, axis=0) - px
    turns = edges[:, 0] * np.roll(edges, -1, 0)[:, 1] - edges[:, 1] * np.roll(edges, -1, 0)[:, 0]
    return bool((turns > 0).all() and px[:2, 1].mean() < px[2:, 1].mean())


def _sane(c2i: np.ndarray, court: NetballCourt, size: tuple[int, int]) -> bool:
    """The placement's landmarks pass the same checks as an analyst's clicks."""
    return fit_landmarks(_framed_landmarks(c2i, court, size), court=court).status != "refused"


def camera_of(c2i: np.ndarray, size: tuple[int, int]) -> tuple[float, float, float] | None:
    """(focal px, camera height m, squareness ratio) of a pinhole camera with square pixels
    and the principal point at the frame centre that would see this homography; None if none.
    """
    w, h = size
    shift = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1.0]])
    m = shift @ c2i
    (h11, h12, _), (h21, h22, _), (h31, h32, _) = m
    a = np.array([h11 * h12 + h21 * h22, h11**2 + h21**2 - h12**2 - h22**2])
    b = np.array([h31 * h32, h31**2 - h32**2])
    if not (a @ a) > 0:
        return None
    u = -(a @ b) / (a @ a)  # 1 / f^2
    if not u > 0:
        return None
    f = 1.0 / np.sqrt(u)
    k_inv = np.diag([1 / f, 1 / f, 1.0])
    c1, c2, c3 = (k_inv @ m).T
    n1, n2 = np.linalg.norm(c1), np.linalg.norm(c2)
    scale = (n1 + n2) / 2 * (1 if c3[2] > 0 else -1)
    r1, r2, t = c1 / scale, c2 / scale, c3 / scale
    r3 = np.cross(r1, r2)
    centre = -np.stack([r1, r2, r3]) @ t
    return float(f), float(abs(centre[2])), float(max(n1, n2) / min(n1, n2))


def _camera_ok(c2i: np.ndarray, size: tuple[int, int], settings: CourtLineSettings) -> bool:
    camera = camera_of(c2i, size)
    if camera is None:
        return False
    corners = apply(c2i, np.float64(DEFAULT_COURT.corners_m()))
    x, y = corners[:, 0], corners[:, 1]
    area = 0.5 * abs(float(x @ np.roll(y, -1) - y @ np.roll(x, -1)))
    if not area >= settings.min_court_area_share * size[0] * size[1]:
        return False
    f, height, squareness = camera
    f_min, f_max = (r * size[0] for r in settings.focal_range_widths)
    return (
        f_min <= f <= f_max
        and height >= settings.min_camera_height_m
        and squareness <= settings.max_squareness
    )


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
    scorer = _Scorer(mask, court, settings)
    scored = []
    for c2i in _candidates(lines, court, size, settings):
        if _plausible(c2i, court) and _camera_ok(c2i, size, settings):
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
            _plausible(better, court)
            and _camera_ok(better, size, settings)
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
