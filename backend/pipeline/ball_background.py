"""The running background the motion ball candidates differ from, following the camera.

Split from ball_candidates.py: how the background is kept (a running average of keyframes,
moved by whole pixels when the camera pans, restarted when it jumps) and the pixel
comparisons that tolerate what is left of a pan (under a pixel of misalignment, blur).
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.pipeline.settings import PipelineSettings

# Camera shift is measured on frames shrunk by this factor (phase correlation).
SHIFT_SCALE = 2
# Players' boxes are left out of that measure, padded by this many shrunk pixels (limbs
# outside the box, the box's own jitter). With them in, generated 16 s pans were measured
# 0.7 px off per keyframe (median; up to 2.4), without them 0.12 px (up to 0.8).
SCENERY_BOX_PAD_PX = 2
# The camera counts as moved only when the change is spread over the picture (at least
# CAMERA_SPREAD_CELLS_MIN of a CAMERA_GRID x CAMERA_GRID grid hold CAMERA_CELL_PIXELS_MIN
# changed pixels of the shrunk frame) and the measured shift explains most of it (leaves at
# most CAMERA_SHIFT_RESIDUAL_MAX): else phase correlation locks onto the ball or the players
# and drags the background along with them.
CAMERA_GRID = 4
CAMERA_SPREAD_CELLS_MIN = 6
CAMERA_CELL_PIXELS_MIN = 4
CAMERA_SHIFT_RESIDUAL_MAX = 0.5
# This share of the shrunk frame changed, and no shift explains it: a cut.
CAMERA_CUT_SHARE_MIN = 0.5

_NEIGHBOURHOOD = np.ones((3, 3), np.uint8)


class RunningBackground:
    """The scene without what moves, in the current keyframe's coordinates."""

    def __init__(self, settings: PipelineSettings) -> None:
        self.s = settings
        self.background: np.ndarray | None = None
        self._prev_image: np.ndarray | None = None
        # The last keyframe, moved like the background: what changed since then.
        self.prev_aligned: np.ndarray | None = None
        self.keyframes = 0
        # Whole pixels the background has been moved by to follow the camera: in all, and at
        # the last update.
        self.offset = np.zeros(2, dtype=np.int64)
        self.step = (0, 0)
        self.camera_resets = 0

    def update(self, image: np.ndarray, players_xyxy: np.ndarray | None = None) -> bool:
        """Follow the camera and fold this keyframe into the background; False after a jump.

        The camera's shift is measured against the background itself, so the part of it not
        yet applied (under half a pixel) is measured again next time instead of piling up; the
        background only ever moves by whole pixels, so it stays as sharp as the frames (a
        resampled running average blurs a little more at every keyframe, and its blurred line
        edges then differ from every sharp frame). What is left, under a pixel,
        `tolerant_difference` absorbs. The players' boxes are left out of the measure: on a
        plain court they are most of the texture, and they move on their own.
        """
        self.keyframes += 1
        self.step = (0, 0)
        small = _small_grey(image)
        if self.background is None:
            self._start_again(image)
            return False
        bg_small = _small_grey(self.background)
        scenery = _scenery_mask(small.shape, players_xyxy)
        now, before = _flat_outside(small, scenery), _flat_outside(bg_small, scenery)
        (dx, dy), _ = cv2.phaseCorrelate(before, now)
        changed_mask = (cv2.absdiff(now, before) >= self.s.ball_motion_diff_min) & scenery
        changed = float(changed_mask.mean())
        shift = np.hypot(dx, dy) * SHIFT_SCALE
        step = (round(dx * SHIFT_SCALE), round(dy * SHIFT_SCALE))
        # A shift under half a pixel moves nothing: whether it explains the change matters
        # only to tell a cut, so the check (the dearest part here) is skipped on most keyframes
        # of a fixed camera.
        camera_moved = (
            (step != (0, 0) or changed >= CAMERA_CUT_SHARE_MIN)
            and _spread_cells(changed_mask) >= CAMERA_SPREAD_CELLS_MIN
            and self._shift_explains(before, now, dx, dy, changed, scenery)
        )
        prev = self._prev_image
        self._prev_image = image
        self.prev_aligned = prev
        if camera_moved or changed >= CAMERA_CUT_SHARE_MIN:
            if shift > self.s.ball_motion_camera_jump_px or not camera_moved:
                # A cut or a whip pan: nothing of the old background lines up; start again.
                self._start_again(image)
                self.camera_resets += 1
                return False
            if step != (0, 0):
                self.background = shifted(self.background, step, image)
                if prev is not None:
                    self.prev_aligned = shifted(prev, step, image)
                self.offset += step
                self.step = step
        rate = self.s.ball_motion_background_rate
        cv2.addWeighted(self.background, 1 - rate, image, rate, 0, dst=self.background)
        return True

    def _start_again(self, image: np.ndarray) -> None:
        self.background = image.copy()
        self._prev_image = image
        self.prev_aligned = None

    def _shift_explains(
        self,
        prev: np.ndarray,
        now: np.ndarray,
        dx: float,
        dy: float,
        changed: float,
        scenery: np.ndarray,
    ) -> bool:
        """Whether moving the last frame by (dx, dy) makes most of the change go away."""
        if np.hypot(dx, dy) * SHIFT_SCALE > self.s.ball_motion_camera_jump_px:
            return True  # too far to check by shifting: a jump either way
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        h, w = prev.shape
        moved = cv2.warpAffine(prev, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        # Tolerant of the bilinear shift's blur and of what is left under a pixel.
        off = _outside_neighbourhood(now, moved)
        left = np.mean((off >= self.s.ball_motion_diff_min) & scenery)
        return left <= CAMERA_SHIFT_RESIDUAL_MAX * changed


def _spread_cells(changed: np.ndarray) -> int:
    """In how many cells of a CAMERA_GRID x CAMERA_GRID grid something changed."""
    h, w = changed.shape
    gh, gw = h // CAMERA_GRID, w // CAMERA_GRID
    cells = changed[: gh * CAMERA_GRID, : gw * CAMERA_GRID].reshape(
        CAMERA_GRID, gh, CAMERA_GRID, gw
    )
    return int((cells.sum(axis=(1, 3)) >= CAMERA_CELL_PIXELS_MIN).sum())


def _scenery_mask(shape: tuple[int, ...], players_xyxy: np.ndarray | None) -> np.ndarray:
    """True outside every player's box (padded), on the frame shrunk by SHIFT_SCALE."""
    mask = np.ones(shape, bool)
    if players_xyxy is None:
        return mask
    pad = SCENERY_BOX_PAD_PX
    for x1, y1, x2, y2 in np.asarray(players_xyxy, dtype=np.float64).reshape(-1, 4):
        mask[
            max(0, int(y1 / SHIFT_SCALE) - pad) : int(y2 / SHIFT_SCALE) + pad + 1,
            max(0, int(x1 / SHIFT_SCALE) - pad) : int(x2 / SHIFT_SCALE) + pad + 1,
        ] = False
    return mask


def _flat_outside(grey: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`grey` with everything outside `keep` set to the mean of what is kept: no texture
    there for phase correlation to follow."""
    if keep.all() or not keep.any():
        return grey
    return np.where(keep, grey, np.float32(grey[keep].mean()))


def _small_grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(
        cv2.resize(image, None, fx=1 / SHIFT_SCALE, fy=1 / SHIFT_SCALE), cv2.COLOR_BGR2GRAY
    ).astype(np.float32)


def shifted(image: np.ndarray, step: tuple[int, int], fill: np.ndarray) -> np.ndarray:
    """`image` moved by whole pixels (dx, dy); what comes into view is taken from `fill`."""
    dx, dy = step
    h, w = image.shape[:2]
    out = fill.copy()
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src = image[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def tolerant_difference(
    region: np.ndarray, reference: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    """Per pixel of `region` (the `box` of the frame), by how much its largest channel lies
    outside the range of `reference` over the 3x3 neighbourhood at the same place.

    A reference out of line by under a pixel, or blurred (the camera's subpixel pan, a
    resampled frame), puts line edges a pixel off: a plain difference sees the whole edge
    change, this one does not, while the ball still differs from all the floor around it.
    """
    x0, y0, x1, y1 = box
    h, w = reference.shape[:2]
    px0, py0, px1, py1 = max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)
    ref = reference[py0:py1, px0:px1]
    inner = (slice(y0 - py0, y0 - py0 + y1 - y0), slice(x0 - px0, x0 - px0 + x1 - x0))
    low = cv2.erode(ref, _NEIGHBOURHOOD)[inner]
    high = cv2.dilate(ref, _NEIGHBOURHOOD)[inner]
    return largest_channel(cv2.max(cv2.subtract(region, high), cv2.subtract(low, region)))


def _outside_neighbourhood(grey: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Float grey version of `tolerant_difference` over the whole picture."""
    low = cv2.erode(reference, _NEIGHBOURHOOD)
    high = cv2.dilate(reference, _NEIGHBOURHOOD)
    return np.maximum(grey - high, low - grey)


def largest_channel(image: np.ndarray) -> np.ndarray:
    # cv2.max, not ndarray.max(axis=2): numpy's reduction over the last axis is ~20x slower.
    b, g, r = cv2.split(image)
    return cv2.max(cv2.max(b, g), r)
