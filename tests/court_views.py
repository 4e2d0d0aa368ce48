"""Generated camera views of a netball court drawn to scale, with their exact homography.

A pinhole camera (height, distance behind the near sideline, position along the court,
look-at point, focal length) looks at the court plane; floors, line colours, run-off,
advertising boards, clutter and people pasted on the court vary by seed. The truth is the
court -> image homography, so every landmark's true pixel is known. Used by the calibration
tests and by benchmarks/calibration.py (the automatic guess's completeness and accuracy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from backend.analytics.court import DEFAULT_COURT, NetballCourt
from backend.analytics.court_drawing import court_polylines_m

VIEW_SIZE = (960, 540)
LINE_WIDTH_M = 0.05  # netball court lines are 50 mm wide
FLOORS_BGR = ((60, 140, 180), (150, 90, 40), (70, 120, 60), (110, 110, 110), (40, 60, 150))
LINES_BGR = ((240, 240, 240), (60, 220, 240), (240, 240, 240), (230, 230, 230), (240, 200, 90))
SURROUNDS_BGR = ((50, 90, 120), (100, 60, 30), (50, 80, 40), (80, 80, 80), (30, 40, 100))


@dataclass(frozen=True)
class CameraPose:
    height_m: float
    back_m: float  # distance of the camera behind the near sideline
    along_m: float  # camera position along the court (x)
    target_m: tuple[float, float]  # court point the camera looks at
    focal_px: float

    def court_to_image(self, size: tuple[int, int] = VIEW_SIZE) -> np.ndarray:
        """3x3 homography court metres -> image pixels for this pose."""
        w, h = size
        # World: court x, court y (towards the camera), z pointing down, so the frame is
        # right-handed and matches the camera's x right, y down, z forward.
        c = np.array([self.along_m, DEFAULT_COURT.width_m + self.back_m, -self.height_m])
        target = np.array([*self.target_m, 0.0])
        forward = (target - c) / np.linalg.norm(target - c)
        right = np.cross(forward, [0.0, 0.0, -1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rot = np.stack([right, down, forward])
        t = -rot @ c
        k = np.array([[self.focal_px, 0, w / 2], [0, self.focal_px, h / 2], [0, 0, 1]])
        return k @ np.c_[rot[:, 0], rot[:, 1], t]


@dataclass
class CourtView:
    image: np.ndarray
    pose: CameraPose
    court_to_image: np.ndarray
    seed: int

    @property
    def image_to_court(self) -> np.ndarray:
        return np.linalg.inv(self.court_to_image)

    def landmarks_px(self, court: NetballCourt = DEFAULT_COURT) -> dict[str, np.ndarray]:
        """Every landmark's true pixel, visible in the frame or not."""
        names = list(court.landmarks_m())
        pts = project(self.court_to_image, np.float64(list(court.landmarks_m().values())))
        return dict(zip(names, pts, strict=True))

    def visible_landmarks_px(self, court: NetballCourt = DEFAULT_COURT) -> dict[str, np.ndarray]:
        w, h = self.image.shape[1], self.image.shape[0]
        return {
            n: p for n, p in self.landmarks_px(court).items() if 0 <= p[0] < w and 0 <= p[1] < h
        }


def project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    h = np.c_[pts, np.ones(len(pts))] @ matrix.T
    return h[:, :2] / h[:, 2:3]


# Widest lens considered: a horizontal field of view of about 110 degrees.
MIN_FOCAL_WIDTHS = 0.35


def random_pose(rng: np.random.Generator, *, partial: bool = False) -> CameraPose:
    """A side-on camera in a stand: a full view, or (partial) one half of the court."""
    court = DEFAULT_COURT
    # Cameras in a stand or on a balcony: 12-35 degrees down to the court centre.
    back = float(rng.uniform(4.0, 14.0))
    depression = np.radians(rng.uniform(12.0, 35.0))
    along = float(court.length_m / 2 + rng.uniform(-4.0, 4.0))
    if partial:
        target = (float(rng.choice([rng.uniform(6, 10), rng.uniform(20.5, 24.5)])), 7.0)
    else:
        target = (court.length_m / 2 + float(rng.uniform(-2, 2)), float(rng.uniform(5.0, 9.0)))
    fill = rng.uniform(1.0, 1.15) if partial else rng.uniform(0.85, 1.1)
    while True:
        height = float(np.clip(np.tan(depression) * (back + court.width_m / 2), 2.5, 15.0))
        focal = _focal_to_fill(CameraPose(height, back, along, target, 100.0), partial) * fill
        if focal >= MIN_FOCAL_WIDTHS * VIEW_SIZE[0]:
            return CameraPose(height, back, along, target, focal_px=float(focal))
        back *= 1.2  # no lens that wide: step back


def _focal_to_fill(pose: CameraPose, partial: bool) -> float:
    """The focal length (px) at which the wanted part of the court just fills the frame."""
    x = pose.target_m[0]
    span = (
        [(x - 9.0, 0.0), (x + 9.0, 0.0), (x - 9, 15.25), (x + 9, 15.25)]
        if partial
        else DEFAULT_COURT.corners_m()
    )
    px = np.abs(project(pose.court_to_image(), np.float64(span)) - np.array(VIEW_SIZE) / 2)
    room = min(VIEW_SIZE[0] / 2 / px[:, 0].max(), VIEW_SIZE[1] / 2 / px[:, 1].max())
    return pose.focal_px * room


def render_view(
    pose: CameraPose,
    *,
    seed: int = 0,
    size: tuple[int, int] = VIEW_SIZE,
    people: int = 8,
    clutter: int = 6,
    court: NetballCourt = DEFAULT_COURT,
) -> CourtView:
    rng = np.random.default_rng(seed)
    style = seed % len(FLOORS_BGR)
    w, h = size
    hom = pose.court_to_image(size)
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = SURROUNDS_BGR[style]
    # Run-off around the court, then the court floor itself.
    runoff = project(hom, np.float64([(-3, -3), (33.5, -3), (33.5, 18.25), (-3, 18.25)]))
    cv2.fillConvexPoly(
        img, np.round(runoff).astype(np.int32), tuple(int(c * 0.85) for c in FLOORS_BGR[style])
    )
    floor = project(hom, np.float64(court.corners_m()))
    cv2.fillConvexPoly(img, np.round(floor).astype(np.int32), FLOORS_BGR[style])
    _draw_boards(img, hom, rng)
    for line in court_polylines_m(court):
        _draw_line(img, hom, line, LINES_BGR[style])
    _draw_clutter(img, rng, clutter)
    _paste_people(img, hom, rng, people, court)
    noise = rng.normal(0, 4, img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    return CourtView(img, pose, hom, seed)


def _draw_line(img: np.ndarray, hom: np.ndarray, line_m: np.ndarray, color) -> None:
    """A painted line LINE_WIDTH_M wide, thicker in pixels near the camera (anti-aliased)."""
    px = project(hom, line_m)
    nxt = project(hom, line_m + np.array([0.0, LINE_WIDTH_M]))
    widths = np.linalg.norm(nxt - px, axis=1)
    for i in range(len(px) - 1):
        if not np.isfinite(widths[i]) or widths[i] > 40:  # at or behind the camera
            continue
        thickness = max(1, round(max(widths[i], 1.6)))
        a, b = np.round(px[i] * 4).astype(int), np.round(px[i + 1] * 4).astype(int)
        cv2.line(img, tuple(a), tuple(b), color, thickness, cv2.LINE_AA, shift=2)


def _draw_boards(img: np.ndarray, hom: np.ndarray, rng: np.random.Generator) -> None:
    """Advertising boards behind the far sideline: coloured blocks with text-like stripes."""
    x = -2.0
    while x < 32.5:  # boards stand 1.5 m behind the far sideline
        length = float(rng.uniform(2.0, 5.0))
        quad = project(
            hom, np.float64([(x, -2.1), (x + length, -2.1), (x + length, -1.5), (x, -1.5)])
        )
        top = quad.copy()
        top[:2, 1] -= abs(quad[3, 1] - quad[0, 1]) * 2.5
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.fillConvexPoly(img, np.round(top).astype(np.int32), color)
        x += length + 0.3


def _draw_clutter(img: np.ndarray, rng: np.random.Generator, count: int) -> None:
    h, w = img.shape[:2]
    for _ in range(count):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h // 4))
        bw, bh = int(rng.integers(10, 60)), int(rng.integers(10, 60))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x, y), (x + bw, y + bh), color, -1)
        cv2.line(img, (x, y), (x + bw, y + bh), (255, 255, 255), 1)


def _paste_people(
    img: np.ndarray, hom: np.ndarray, rng: np.random.Generator, count: int, court: NetballCourt
) -> None:
    from tests.synthetic import TEAM_COLORS_BGR, _team_sprite

    h, w = img.shape[:2]
    for i in range(count):
        feet_m = np.array([rng.uniform(1, court.length_m - 1), rng.uniform(1, court.width_m - 1)])
        feet = project(hom, feet_m)[0]
        # A player is about 1.8 m tall: the pixel scale at the feet, across the court.
        scale = np.linalg.norm(project(hom, feet_m + np.array([1.0, 0.0]))[0] - feet)
        height_px = int(max(12, 1.8 * scale))
        sprite, _ = _team_sprite(i % 6, TEAM_COLORS_BGR["A" if i % 2 else "B"])
        width_px = max(4, int(sprite.shape[1] * height_px / sprite.shape[0]))
        sprite = cv2.resize(sprite, (width_px, height_px))
        x1, y1 = int(feet[0] - width_px / 2), int(feet[1] - height_px)
        x2, y2 = x1 + width_px, y1 + height_px
        if x1 < 0 or y1 < 0 or x2 > w or y2 > h:
            continue
        img[y1:y2, x1:x2] = sprite


def generated_views(count: int, *, first_seed: int = 0) -> list[CourtView]:
    """`count` views: mostly whole-court, every fourth one a partial (half-court) view."""
    views = []
    for seed in range(first_seed, first_seed + count):
        rng = np.random.default_rng(1000 + seed)
        pose = random_pose(rng, partial=seed % 4 == 3)
        views.append(render_view(pose, seed=seed))
    return views


def landmark_errors_px(
    view: CourtView, image_to_court: np.ndarray, court: NetballCourt = DEFAULT_COURT
) -> np.ndarray:
    """Pixel distance between each visible landmark and where the estimated fit puts it."""
    truth = view.visible_landmarks_px(court)
    est = project(
        np.linalg.inv(image_to_court), np.float64([court.landmarks_m()[n] for n in truth])
    )
    return np.linalg.norm(est - np.float64(list(truth.values())), axis=1)


def mean_landmark_error_m(
    view: CourtView, image_to_court: np.ndarray, court: NetballCourt = DEFAULT_COURT
) -> float:
    """Mean court-metre error of the estimated fit at the true pixel of every visible landmark."""
    truth = view.visible_landmarks_px(court)
    est = project(image_to_court, np.float64(list(truth.values())))
    real = np.float64([court.landmarks_m()[n] for n in truth])
    return (
        float(np.linalg.norm(est - real, axis=1).mean()) if math.isfinite(est.sum()) else math.inf
    )
