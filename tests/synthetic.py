"""Test footage generated on the fly: a netball court to scale, real people, known paths.

People are cut (fixed crops) from the photos that ship inside ultralytics, so the
real detector finds real people; their shirts are recoloured per team and they move along
known court paths, so every frame has ground truth for boxes, teams, ball and court mapping.
Nothing here is downloaded or committed.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

from backend.analytics.court import DEFAULT_COURT, NetballCourt

# Crops (x1, y1, x2, y2) of whole standing people in ultralytics/assets/bus.jpg.
_PERSON_CROPS = (
    ("bus.jpg", (49, 399, 245, 903)),
    ("bus.jpg", (222, 406, 345, 858)),
    ("bus.jpg", (669, 392, 810, 877)),
)
_SPRITE_BASE_HEIGHT_PX = 240
_TORSO_ROWS = (0.17, 0.50)
# Sprites of a whole person: crop 2 (and its mirror, 5) is a man cut in half by the photo's
# edge, which no detector boxes as a person once he is 80 px tall.
_WHOLE_PERSON_SPRITES = (0, 1, 3, 4)
# The bib kit (kit="bib"): half-axes of the torso-shaped ellipse, as shares of the sprite.
_BIB_HALF_WIDTH_FRAC = 0.3

TEAM_COLORS_BGR: dict[str, tuple[int, int, int]] = {
    "A": (40, 40, 215),  # red shirts
    "B": (215, 110, 20),  # blue shirts
    "other": (225, 225, 225),  # officials in white: a flat black shirt hid them from YOLO
}
BALL_COLOR_BGR = (60, 220, 245)

# Court corners in the image as fractions of (width, height): an elevated side-on camera.
_CORNER_FRACTIONS = ((0.14, 0.30), (0.86, 0.30), (0.99, 0.95), (0.01, 0.95))


@dataclass
class ClipTruth:
    """Ground truth of a generated clip; arrays are indexed [frame, player]. NaN = not visible."""

    path: Path
    fps: float
    size: tuple[int, int]
    frames: int
    player_ids: list[int]
    teams: list[str]
    boxes: np.ndarray  # (frames, players, 4) x1, y1, x2, y2 in pixels
    feet_px: np.ndarray  # (frames, players, 2)
    feet_court_m: np.ndarray  # (frames, players, 2)
    ball_px: np.ndarray  # (frames, 2) ball centre
    ball_holder: np.ndarray  # (frames,) player index holding the ball, -1 while in flight
    passes: list[tuple[int, int, int, int]]  # (release frame, catch frame, from idx, to idx)
    court_to_image: np.ndarray  # 3x3 homography, court metres -> pixels
    image_points: list[list[float]]
    court_points_m: list[list[float]]
    spectator_boxes: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    team_colors_bgr: dict[str, tuple[int, int, int]] = field(
        default_factory=lambda: dict(TEAM_COLORS_BGR)
    )
    ball_widths_px: np.ndarray = field(default_factory=lambda: np.empty(0))  # (frames,)

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    @property
    def people(self) -> int:
        return len(self.player_ids)

    def calibration(self) -> dict:
        """The calibration dict analyze_video accepts (image pixels <-> court metres)."""
        return {"image_points": self.image_points, "court_points_m": self.court_points_m}

    def court_to_pixels(self, points_m: np.ndarray) -> np.ndarray:
        pts = np.asarray(points_m, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.court_to_image).reshape(-1, 2)


@lru_cache(maxsize=1)
def _assets_dir() -> Path:
    # find_spec, not import: importing ultralytics costs a second and writes its settings file.
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("ultralytics is not installed; its sample photos are needed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


@lru_cache(maxsize=8)
def _person_sprite(index: int) -> tuple[np.ndarray, np.ndarray]:
    """A (BGR, mask) person crop scaled to the base height; cached for the process."""
    name, (x1, y1, x2, y2) = _PERSON_CROPS[index % len(_PERSON_CROPS)]
    photo = cv2.imread(str(_assets_dir() / name))
    if photo is None:
        raise FileNotFoundError(f"ultralytics sample photo {name} is missing")
    pad = 6
    crop = photo[max(0, y1 - pad) : y2 + pad, max(0, x1 - pad) : x2 + pad]
    scale = _SPRITE_BASE_HEIGHT_PX / crop.shape[0]
    crop = cv2.resize(crop, (max(8, round(crop.shape[1] * scale)), _SPRITE_BASE_HEIGHT_PX))
    # Whole rectangular crops: GrabCut on these photos cut off heads and legs, which made
    # the people harder to detect than real players; the photo background is harmless.
    fg = np.ones(crop.shape[:2], np.uint8)
    if index // len(_PERSON_CROPS) % 2:
        crop, fg = crop[:, ::-1].copy(), fg[:, ::-1].copy()
    return crop, fg


@lru_cache(maxsize=32)
def _team_sprite(index: int, color: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    crop, fg = _person_sprite(index)
    out = crop.copy()
    h = crop.shape[0]
    r0, r1 = round(h * _TORSO_ROWS[0]), round(h * _TORSO_ROWS[1])
    torso = out[r0:r1].astype(np.float32)
    lum = cv2.cvtColor(crop[r0:r1], cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None] / 255.0
    # Same kit on every body: keep only a little of the garment underneath as shading.
    tinted = np.asarray(color, np.float32) * (0.75 + 0.35 * lum)
    sel = fg[r0:r1].astype(bool)
    torso[sel] = np.clip(tinted, 0, 255)[sel]
    out[r0:r1] = torso.astype(np.uint8)
    return out, fg


@lru_cache(maxsize=32)
def _bib_sprite(index: int, color: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The kit on the person's chest only, shaded by the garment under it.

    The flat band of _team_sprite covers the arms and the photo background across the whole
    crop: at 80-110 px tall that leaves a coloured rectangle on legs, which YOLOv8n boxed as a
    person on about a quarter of the frames at imgsz 960 against about all of them with this.
    """
    crop, fg = _person_sprite(index)
    out = crop.copy()
    h, w = crop.shape[:2]
    r0, r1 = round(h * _TORSO_ROWS[0]), round(h * _TORSO_ROWS[1])
    bib = np.zeros((h, w), np.uint8)
    axes = (round(_BIB_HALF_WIDTH_FRAC * w), (r1 - r0) // 2)
    cv2.ellipse(bib, (w // 2, (r0 + r1) // 2), axes, 0, 0, 360, 1, -1)
    sel = bib.astype(bool) & fg.astype(bool)
    lum = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None] / 255.0
    tinted = np.clip(np.asarray(color, np.float32) * (0.75 + 0.35 * lum), 0, 255)
    out[sel] = tinted.astype(np.uint8)[sel]
    return out, fg


def court_homography(size: tuple[int, int], court: NetballCourt = DEFAULT_COURT) -> np.ndarray:
    w, h = size
    dst = np.float32([(fx * w, fy * h) for fx, fy in _CORNER_FRACTIONS])
    src = np.float32(court.corners_m())
    return cv2.getPerspectiveTransform(src, dst)


def draw_court(size: tuple[int, int], court: NetballCourt = DEFAULT_COURT) -> np.ndarray:
    """A green floor with white court lines drawn through the court homography."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (70, 110, 60)
    H = court_homography(size, court)

    def poly(points_m: list[tuple[float, float]], closed: bool = False) -> None:
        pts = cv2.perspectiveTransform(np.float64(points_m).reshape(-1, 1, 2), H)
        cv2.polylines(img, [np.round(pts).astype(np.int32)], closed, (235, 235, 235), 2)

    floor = cv2.perspectiveTransform(np.float64(court.corners_m()).reshape(-1, 1, 2), H)
    cv2.fillConvexPoly(img, np.round(floor).astype(np.int32), (60, 140, 180))
    poly(court.corners_m(), closed=True)
    t = court.third_length_m
    for x in (t, 2 * t):
        poly([(x, 0.0), (x, court.width_m)])
    r, cy = court.goal_circle_radius_m, court.width_m / 2
    angles = np.linspace(-math.pi / 2, math.pi / 2, 40)
    poly([(r * math.cos(a), cy + r * math.sin(a)) for a in angles])
    poly([(court.length_m - r * math.cos(a), cy + r * math.sin(a)) for a in angles])
    cr = court.centre_circle_diameter_m / 2
    ring = np.linspace(0, 2 * math.pi, 24)
    cx = court.length_m / 2
    poly([(cx + cr * math.cos(a), cy + cr * math.sin(a)) for a in ring], closed=True)
    return img


class _Writer:
    """Writes BGR frames with OpenCV (mp4v, mjpg) or PyAV (h264)."""

    def __init__(
        self,
        path: Path,
        codec: str,
        fps: float,
        size: tuple[int, int],
        rotation_deg: int = 0,
        keyframe_every: int | None = None,
    ) -> None:
        self.codec = codec.lower()
        if rotation_deg and self.codec not in ("h264", "libx264", "ffv1"):
            raise ValueError("a display rotation needs codec h264 or ffv1")
        if self.codec in ("h264", "libx264", "ffv1"):
            # ffv1 (lossless, 4:4:4) is the one that takes odd frame sizes.
            lossless = self.codec == "ffv1"
            self.container = av.open(str(path), "w")
            self.stream = self.container.add_stream(
                "ffv1" if lossless else "libx264", rate=Fraction(fps).limit_denominator(1001)
            )
            self.stream.width, self.stream.height = size
            self.stream.pix_fmt = "yuv444p" if lossless else "yuv420p"
            if not lossless:
                self.stream.options = {"preset": "ultrafast", "crf": "18"}
                if keyframe_every:
                    self.stream.options = {**self.stream.options, "g": str(keyframe_every)}
            if rotation_deg:
                # Stored like a phone does: counter-clockwise angle in the display matrix.
                self.stream.set_display_rotation(-rotation_deg)
            self.cv = None
        else:
            fourcc = {"mp4v": "mp4v", "mjpg": "MJPG", "xvid": "XVID"}.get(self.codec)
            if fourcc is None:
                raise ValueError(f"codec must be mp4v, mjpg, xvid, h264 or ffv1, got {codec!r}")
            self.cv = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
            if not self.cv.isOpened():
                raise OSError(f"OpenCV could not open {path} for writing with {codec}")

    def write(self, frame: np.ndarray) -> None:
        if self.cv is not None:
            self.cv.write(frame)
            return
        vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
        for packet in self.stream.encode(vf):
            self.container.mux(packet)

    def close(self) -> None:
        if self.cv is not None:
            self.cv.release()
            return
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def _panned(frame: np.ndarray, shift_px: float, size: tuple[int, int]) -> np.ndarray:
    """The frame as a camera panned `shift_px` to the right sees it (edges repeated)."""
    shift = np.float32([[1, 0, -shift_px], [0, 1, 0]])
    return cv2.warpAffine(frame, shift, size, borderMode=cv2.BORDER_REPLICATE)


def _paste(frame: np.ndarray, sprite: np.ndarray, mask: np.ndarray, x1: int, y1: int) -> None:
    h, w = sprite.shape[:2]
    fh, fw = frame.shape[:2]
    sx0, sy0 = max(0, -x1), max(0, -y1)
    sx1, sy1 = min(w, fw - x1), min(h, fh - y1)
    if sx1 <= sx0 or sy1 <= sy0:
        return
    region = frame[y1 + sy0 : y1 + sy1, x1 + sx0 : x1 + sx1]
    m = mask[sy0:sy1, sx0:sx1].astype(bool)
    region[m] = sprite[sy0:sy1, sx0:sx1][m]


def _draw_ball(frame: np.ndarray, centre: np.ndarray, radius: int) -> None:
    c = (round(float(centre[0])), round(float(centre[1])))
    cv2.circle(frame, c, radius, (40, 120, 150), -1, cv2.LINE_AA)
    cv2.circle(frame, c, max(1, radius - 2), BALL_COLOR_BGR, -1, cv2.LINE_AA)
    hl = (c[0] - radius // 3, c[1] - radius // 3)
    cv2.circle(frame, hl, max(1, radius // 3), (235, 250, 255), -1, cv2.LINE_AA)
    cv2.ellipse(frame, c, (radius - 1, max(1, radius // 3)), 30, 0, 360, (30, 90, 120), 1)


def _draw_panel_ball(
    frame: np.ndarray, centre: np.ndarray, width_px: float, spin: float, shift_px: np.ndarray
) -> None:
    """A netball a few pixels wide: orange panels with dark seams, blurred along its motion.

    Drawn 8x larger and shrunk (the seams turn into texture, not a flat disc); `shift_px` is
    how far the ball moves while the shutter is open, smeared with a line kernel.
    """
    scale, r = 8, max(1.0, width_px / 2)
    blur = float(np.hypot(*shift_px))
    half = math.ceil(r + blur / 2 + 2)
    big = 2 * half * scale
    patch = np.zeros((big, big, 3), np.float32)
    alpha = np.zeros((big, big), np.float32)
    c, rb = (big // 2, big // 2), round(r * scale)
    cv2.circle(patch, c, rb, BALL_COLOR_BGR, -1)
    cv2.circle(alpha, c, rb, 1.0, -1)
    for k in range(3):  # three seams turning with the spin
        angle = math.degrees(spin) + 60 * k
        cv2.ellipse(patch, c, (rb, max(1, rb // 3)), angle, 0, 360, (40, 130, 190), scale // 3)
    cv2.circle(patch, (c[0] - rb // 3, c[1] - rb // 3), max(1, rb // 4), (200, 240, 255), -1)
    small = cv2.resize(patch, (2 * half, 2 * half), interpolation=cv2.INTER_AREA)
    a = cv2.resize(alpha, (2 * half, 2 * half), interpolation=cv2.INTER_AREA)
    if blur >= 1:
        n = math.ceil(blur) | 1
        kernel = np.zeros((n, n), np.float32)
        d = shift_px / max(blur, 1e-9) * (n - 1) / 2
        cv2.line(kernel, (round(n // 2 - d[0]), round(n // 2 - d[1])),
                 (round(n // 2 + d[0]), round(n // 2 + d[1])), 1.0, 1)  # fmt: skip
        kernel /= kernel.sum()
        small = cv2.filter2D(small * a[..., None], -1, kernel)
        a = cv2.filter2D(a, -1, kernel)
        small = small / np.maximum(a[..., None], 1e-6)
    x0, y0 = round(float(centre[0])) - half, round(float(centre[1])) - half
    fh, fw = frame.shape[:2]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    sx1, sy1 = min(2 * half, fw - x0), min(2 * half, fh - y0)
    if sx1 <= sx0 or sy1 <= sy0:
        return
    region = frame[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1].astype(np.float32)
    aa = a[sy0:sy1, sx0:sx1, None]
    mixed = region * (1 - aa) + small[sy0:sy1, sx0:sx1] * aa
    frame[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1] = np.clip(mixed, 0, 255).astype(np.uint8)


def make_match_clip(
    path: str | Path,
    *,
    seconds: float = 2.0,
    fps: float = 25,
    size: tuple[int, int] = (640, 360),
    players_per_team: int = 2,
    officials: int = 0,
    spectators: int = 0,
    codec: str = "mp4v",
    seed: int = 0,
    person_height_frac: float = 0.34,
    ball_radius_px: int | None = None,
    hold_s: float = 0.5,
    flight_s: float = 0.4,
    court: NetballCourt = DEFAULT_COURT,
    ball_width_px: tuple[float, float] | None = None,
    crossings: bool = False,
    pan_px_per_s: float = 0.0,
    kit: str = "band",
    keyframe_interval_s: float | None = None,
    stature_spread: float = 0.0,
) -> ClipTruth:
    """Render a match clip to `path` and return its ground truth.

    Wide-shot options (all off by default, so older clips stay identical):
    `ball_width_px` (far, near) draws a textured, motion-blurred ball of that width, which
    grows with nearness to the camera; `crossings` sends every other player walking the
    length of their stretch, behind or in front of their neighbours; `pan_px_per_s` pans
    the camera sideways (the picture slides back and forth by up to a tenth of its width)
    and `ClipTruth` then holds image positions per frame while the calibration is that of
    frame 0, as a user's one calibration would be. `kit="bib"` dresses whole-person
    sprites only in a torso-shaped bib (_bib_sprite) instead of the flat band across the
    crop ("band"), which small people are not recognised in. `keyframe_interval_s` makes an
    h264 file seekable like a phone's or a camera's (a keyframe every second or two); by
    default libx264 writes one every 250 frames, so the pipeline's frame sampling finds only
    a few distinct frames in a short clip. `stature_spread` makes players differ in height
    like a real squad: each is drawn that share taller or shorter at most (a netball squad's
    1.65-1.95 m is about +-0.08 around its middle), so team-mates are not identical sprites.

    Players of team A and B alternate along the court and each loops around a home spot, so
    they never fully hide one another; the ball is held by one player for `hold_s`, then
    flies to another in `flight_s` seconds. Officials (team "other") wear white. Spectators
    stand still beyond the far sideline (`spectator_boxes`; not players, not in `boxes`).
    """
    if players_per_team < 1 or seconds <= 0 or fps <= 0:
        raise ValueError("need players_per_team >= 1, seconds > 0 and fps > 0")
    if kit not in ("band", "bib"):
        raise ValueError(f"kit must be 'band' or 'bib', got {kit!r}")
    path = Path(path)
    w, h = size
    frames = max(1, round(seconds * fps))
    rng = np.random.default_rng(seed)
    H = court_homography(size, court)
    background = draw_court(size, court)
    far_y = _CORNER_FRACTIONS[0][1] * h
    near_y = _CORNER_FRACTIONS[2][1] * h
    radius = ball_radius_px or max(5, round(0.024 * h))

    teams = [("A", "B")[i % 2] for i in range(2 * players_per_team)] + ["other"] * officials
    n = len(teams)
    spacing = court.length_m / n
    homes = np.array(
        [((i + 0.5) * spacing, 4.0 if i % 2 == 0 else 10.5) for i in range(n)], np.float64
    )
    amp_x = np.full(n, min(2.0, spacing * 0.22))
    periods = rng.uniform(2.5, 4.0, n)
    phases = rng.uniform(0, 2 * math.pi, n)
    amp_y = np.full(n, 2.5)
    # Its own random stream, so clips without it keep every other draw (and stay identical).
    statures = 1.0 + np.random.default_rng([seed, 7]).uniform(-1, 1, n) * stature_spread
    if crossings:
        # Walkers pass their two neighbours' spots (in the other row, nearer or farther from
        # the camera) at walking pace; the others keep to their spot.
        walkers = np.arange(n) % 2 == 1
        amp_x[walkers] = spacing * 1.2
        amp_y[walkers] = 1.0
        periods[walkers] = 2 * math.pi * amp_x[walkers] / 1.6  # ~1.6 m/s at the middle
        homes[walkers, 1] = 7.6
    t = np.arange(frames) / fps
    arg = 2 * math.pi * t[:, None] / periods[None, :] + phases[None, :]
    feet_m = np.stack([homes[:, 0] + amp_x * np.sin(arg), homes[:, 1] + amp_y * np.cos(arg)], -1)
    feet_m[..., 0] = np.clip(feet_m[..., 0], 0.3, court.length_m - 0.3)
    feet_px = cv2.perspectiveTransform(feet_m.reshape(-1, 1, 2), H).reshape(frames, n, 2)

    boxes = np.full((frames, n, 4), np.nan)
    # Officials are always the best-detected photo person (and its mirror image): on the
    # others a black shirt leaves too little that looks like a person at low resolution.
    sprite_index = [
        i % 6 if team != "other" else (0, 3)[(i - 2 * players_per_team) % 2]
        for i, team in enumerate(teams)
    ]
    dress = _team_sprite
    if kit == "bib":
        dress = _bib_sprite
        sprite_index = [
            _WHOLE_PERSON_SPRITES[i % 4] if team != "other" else sprite_index[i]
            for i, team in enumerate(teams)
        ]
    sprites = [dress(sprite_index[i], TEAM_COLORS_BGR[team]) for i, team in enumerate(teams)]
    scaled: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    placements: list[list[tuple[int, int, int]]] = []
    for f in range(frames):
        row = []
        for p in range(n):
            fx, fy = feet_px[f, p]
            depth = np.clip((fy - far_y) / (near_y - far_y), 0, 1)
            ph = max(12, round(person_height_frac * h * (0.7 + 0.3 * depth) * statures[p]))
            key = (sprite_index[p], teams[p], ph)
            if key not in scaled:
                spr, msk = sprites[p]
                pw = max(4, round(spr.shape[1] * ph / spr.shape[0]))
                scaled[key] = (
                    cv2.resize(spr, (pw, ph), interpolation=cv2.INTER_AREA),
                    cv2.resize(msk, (pw, ph), interpolation=cv2.INTER_NEAREST),
                )
            pw = scaled[key][0].shape[1]
            x1, y1 = round(fx - pw / 2), round(fy - ph)
            row.append((x1, y1, ph))
            boxes[f, p] = (max(0, x1), max(0, y1), min(w, x1 + pw), min(h, y1 + ph))
        placements.append(row)

    # Ball: held at the holder's hand, then a short arced flight to the next holder.
    playing = [p for p in range(n) if teams[p] != "other"]
    hold_f, flight_f = max(1, round(hold_s * fps)), max(2, round(flight_s * fps))

    def hand(f: int, p: int) -> np.ndarray:
        x1, y1, x2, y2 = boxes[f, p]
        return np.array([x2 - 0.15 * (x2 - x1), y1 + 0.45 * (y2 - y1)])

    ball_px = np.zeros((frames, 2))
    holder = np.full(frames, -1, np.int64)
    passes: list[tuple[int, int, int, int]] = []
    current = int(rng.choice(playing))
    f = 0
    while f < frames:
        end_hold = min(frames, f + hold_f)
        for g in range(f, end_hold):
            ball_px[g], holder[g] = hand(g, current), current
        f = end_hold
        if f >= frames:
            break
        others = [p for p in playing if p != current]
        nxt = min(others, key=lambda p: abs(homes[p, 0] - homes[current, 0]) + rng.random())
        catch = min(frames - 1, f + flight_f)
        start, end = hand(f - 1, current), hand(catch, nxt)
        arc_px = 0.04 * h
        for g in range(f, catch):
            s = (g - f + 1) / (catch - f + 1)
            ball_px[g] = start + s * (end - start) - (0, arc_px * 4 * s * (1 - s))
        passes.append((f, catch, current, nxt))
        current, f = nxt, catch

    # Spectators stand still beyond the far sideline, outside any court margin.
    spectator_boxes = np.empty((0, 4))
    if spectators:
        # Between two players' home spots, so a spectator never stands right above a player.
        xs = [max(1, (j + 1) * n // (spectators + 1)) * spacing for j in range(spectators)]
        spots_m = np.c_[xs, np.full(spectators, -2.2)]
        spots_px = cv2.perspectiveTransform(spots_m.reshape(-1, 1, 2), H).reshape(-1, 2)
        rows = []
        for i, (fx, fy) in enumerate(spots_px):
            spr, msk = _person_sprite(i + 1)
            ph = round(person_height_frac * h * 0.7)
            pw = max(4, round(spr.shape[1] * ph / spr.shape[0]))
            spr = cv2.resize(spr, (pw, ph), interpolation=cv2.INTER_AREA)
            msk = cv2.resize(msk, (pw, ph), interpolation=cv2.INTER_NEAREST)
            x1, y1 = round(fx - pw / 2), round(fy - ph)
            _paste(background, spr, msk, x1, y1)
            rows.append((max(0, x1), max(0, y1), min(w, x1 + pw), min(h, y1 + ph)))
        spectator_boxes = np.array(rows, dtype=np.float64)

    # The camera pans: the whole picture slides by `pan[f]` pixels (drawn first, then moved).
    pan = np.zeros(frames)
    if pan_px_per_s:
        reach = 0.1 * w
        swing_s = 4 * reach / abs(pan_px_per_s)
        pan = reach * np.sin(2 * math.pi * np.arange(frames) / fps / swing_s)
    ball_near_y = np.clip((ball_px[:, 1] - far_y) / (near_y - far_y), 0, 1)
    if ball_width_px is None:
        ball_widths = np.full(frames, 2.0 * radius)
    else:
        ball_widths = ball_width_px[0] + (ball_width_px[1] - ball_width_px[0]) * ball_near_y
    gop = max(1, round(keyframe_interval_s * fps)) if keyframe_interval_s else None
    writer = _Writer(path, codec, fps, size, keyframe_every=gop)
    try:
        for f in range(frames):
            frame = background.copy()
            order = np.argsort(feet_px[f, :, 1])  # far players first, near ones drawn over them
            for p in order:
                x1, y1, ph = placements[f][p]
                _paste(frame, *scaled[(sprite_index[p], teams[p], ph)], x1, y1)
            if ball_width_px is None:
                _draw_ball(frame, ball_px[f], radius)
            else:
                step = ball_px[min(f + 1, frames - 1)] - ball_px[max(f - 1, 0)]
                # A 1/100 s shutter at 25 fps: the ball smears over a quarter of two frames' travel.
                _draw_panel_ball(frame, ball_px[f], ball_widths[f], 0.7 * f, 0.25 * step)
            if pan[f]:
                frame = _panned(frame, pan[f], size)
            writer.write(frame)
    finally:
        writer.close()
    if pan_px_per_s:
        boxes[..., [0, 2]] = np.clip(boxes[..., [0, 2]] - pan[:, None, None], 0, w)
        feet_px[..., 0] -= pan[:, None]
        ball_px[:, 0] -= pan

    calib_m = [*court.corners_m(), (court.third_length_m, 0.0), (court.length_m / 2, 7.625)]
    calib_px = cv2.perspectiveTransform(np.float64(calib_m).reshape(-1, 1, 2), H).reshape(-1, 2)
    return ClipTruth(
        path=path,
        fps=float(fps),
        size=(w, h),
        frames=frames,
        player_ids=list(range(n)),
        teams=teams,
        boxes=boxes,
        feet_px=feet_px,
        feet_court_m=feet_m,
        ball_px=ball_px,
        ball_holder=holder,
        passes=passes,
        court_to_image=H,
        image_points=[[float(x), float(y)] for x, y in calib_px],
        court_points_m=[[float(x), float(y)] for x, y in calib_m],
        spectator_boxes=spectator_boxes,
        ball_widths_px=ball_widths,
    )


# The wide shot of issue 15 at the detector's own size (imgsz 960): 5 + 5 players 76-108 px
# tall (YOLOv8n finds few people smaller than that), a ball 6-10 px wide, walkers crossing.
WIDE_SHOT_SIZE = (960, 540)
# A squad of 1.65-1.95 m: each wide-shot player up to 8 % taller or shorter than the middle.
WIDE_SHOT_STATURE_SPREAD = 0.08


def make_wide_shot(
    path: str | Path,
    *,
    seconds: float = 6.0,
    pan_px_per_s: float = 0.0,
    seed: int = 3,
    stature_spread: float = WIDE_SHOT_STATURE_SPREAD,
) -> ClipTruth:
    """A wide shot of ten players: passes every ~1.8 s, crossings, optionally a slow pan.

    Players differ in height as a squad does (`stature_spread`); 0 draws team-mates from the
    same two photo people at one height, so look and size cannot tell them apart."""
    return make_match_clip(
        path, seconds=seconds, fps=25, size=WIDE_SHOT_SIZE, players_per_team=5,
        person_height_frac=0.2, ball_width_px=(6.0, 10.0), crossings=True, hold_s=1.2,
        flight_s=0.6, codec="h264", seed=seed, pan_px_per_s=pan_px_per_s, kit="bib",
        keyframe_interval_s=1.0, stature_spread=stature_spread,
    )  # fmt: skip


def make_plain_clip(
    path: str | Path,
    *,
    frames: int = 10,
    fps: float = 25,
    size: tuple[int, int] = (320, 180),
    codec: str = "mp4v",
    rotation_deg: int = 0,
) -> Path:
    """A valid video with `frames` frames (a moving square) for tests that need any video.

    A white marker sits in the top-left corner of the stored picture; with `rotation_deg`
    the file asks players to turn it that many degrees clockwise for display.
    """
    path = Path(path)
    w, h = size
    writer = _Writer(path, codec, fps, size, rotation_deg)
    try:
        for i in range(frames):
            frame = np.full((h, w, 3), 40, np.uint8)
            x = (i * 7) % max(1, w - 20)
            cv2.rectangle(frame, (x, h // 3), (x + 20, h // 3 + 20), (0, 200, 255), -1)
            frame[:12, :12] = 255
            writer.write(frame)
    finally:
        writer.close()
    return path


def make_corrupt_file(path: str | Path, size_bytes: int = 4096) -> Path:
    """Random bytes with a video file name: what a broken upload looks like."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(1).integers(0, 256, size_bytes, np.uint8).tobytes())
    return path


def make_crossing_shot(
    path: str | Path,
    *,
    seconds: float = 8.0,
    fps: float = 25,
    seed: int = 0,
    pan_px_per_s: float = 0.0,
    walk_speed_m_per_s: float = 1.4,
) -> ClipTruth:
    """Issue 15's crossings at wide-shot scale (960x540, players ~80-110 px tall): two walkers
    each pass behind a pair of players standing shoulder to shoulder nearer the camera, one
    behind two team-mates, the other behind two opponents, then walk back.

    Player 0 (team A) walks behind players 1 and 2 (team A); player 3 (team A) behind 4 and
    5 (team B); players 6 and 7 (one per team) stand apart. The standers sway a little;
    `seed` varies the sway, the walkers' start and which photo person each player is. No
    ball is drawn (ball_px is NaN): this clip is about identities.
    """
    path = Path(path)
    size = WIDE_SHOT_SIZE
    w, h = size
    frames = max(1, round(seconds * fps))
    rng = np.random.default_rng(seed)
    court = DEFAULT_COURT
    H = court_homography(size, court)
    background = draw_court(size, court)
    far_y, near_y = _CORNER_FRACTIONS[0][1] * h, _CORNER_FRACTIONS[2][1] * h
    teams = ["A", "A", "A", "A", "B", "B", "A", "B"]
    n = len(teams)
    t = np.arange(frames) / fps
    feet_m = np.zeros((frames, n, 2))
    # Pairs stand 1.3 m apart at y = 9.5 m; walkers 1.6 m farther, 2.5 m either side of them.
    for walker, pair_x in ((0, 7.0), (3, 21.0)):
        span = 5.0 + 2.6
        offset = rng.uniform(0, 0.3)
        # Back and forth at walking pace: a triangle wave over `span` metres.
        phase = (walk_speed_m_per_s * t / span + offset) % 2
        along = np.where(phase < 1, phase, 2 - phase) * span
        feet_m[:, walker] = np.c_[pair_x - span / 2 + along, np.full(frames, 7.9)]
        for k, dx in ((1, -0.65), (2, 0.65)):
            sway = rng.uniform(0.1, 0.25) * np.sin(2 * math.pi * t / rng.uniform(2, 4))
            feet_m[:, walker + k] = np.c_[pair_x + dx + sway, np.full(frames, 9.5)]
    for p, spot in ((6, (14.0, 4.0)), (7, (27.0, 11.5))):
        feet_m[:, p] = np.asarray(spot) + 0.8 * np.c_[np.sin(t / 1.3 + p), np.cos(t / 1.7)]
    feet_px = cv2.perspectiveTransform(feet_m.reshape(-1, 1, 2), H).reshape(frames, n, 2)
    # Everyone is the photo person the detector finds best at this scale, or its mirror image
    # (YOLOv8n misses the other two in the open): what is measured is the crossing. So
    # team-mates look alike, as in a real team's kit; only motion tells them apart.
    photo = rng.permutation([0, 3] * 4).tolist()
    sprites = [_team_sprite(photo[p], TEAM_COLORS_BGR[teams[p]]) for p in range(n)]
    pan = np.zeros(frames)
    if pan_px_per_s:
        reach = 0.1 * w
        pan = reach * np.sin(2 * math.pi * t / (4 * reach / abs(pan_px_per_s)))
    boxes = np.full((frames, n, 4), np.nan)
    cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    writer = _Writer(path, "h264", fps, size)
    try:
        for f in range(frames):
            frame = background.copy()
            for p in np.argsort(feet_px[f, :, 1]):  # far players first
                fx, fy = feet_px[f, p]
                depth = np.clip((fy - far_y) / (near_y - far_y), 0, 1)
                ph = round(0.2 * h * (0.7 + 0.3 * depth))
                if (p, ph) not in cache:
                    spr, msk = sprites[p]
                    pw = max(4, round(spr.shape[1] * ph / spr.shape[0]))
                    cache[(p, ph)] = (
                        cv2.resize(spr, (pw, ph), interpolation=cv2.INTER_AREA),
                        cv2.resize(msk, (pw, ph), interpolation=cv2.INTER_NEAREST),
                    )
                spr, msk = cache[(p, ph)]
                x1, y1 = round(fx - spr.shape[1] / 2), round(fy - ph)
                _paste(frame, spr, msk, x1, y1)
                boxes[f, p] = (x1, y1, x1 + spr.shape[1], y1 + ph)
            if pan[f]:
                frame = _panned(frame, pan[f], size)
            writer.write(frame)
    finally:
        writer.close()
    boxes[..., [0, 2]] = np.clip(boxes[..., [0, 2]] - pan[:, None, None], 0, w)
    boxes[..., [1, 3]] = np.clip(boxes[..., [1, 3]], 0, h)
    feet_px[..., 0] -= pan[:, None]
    calib_m = [*court.corners_m(), (court.third_length_m, 0.0), (court.length_m / 2, 7.625)]
    calib_px = cv2.perspectiveTransform(np.float64(calib_m).reshape(-1, 1, 2), H).reshape(-1, 2)
    return ClipTruth(
        path=path, fps=float(fps), size=size, frames=frames, player_ids=list(range(n)),
        teams=teams, boxes=boxes, feet_px=feet_px, feet_court_m=feet_m,
        ball_px=np.full((frames, 2), np.nan), ball_holder=np.full(frames, -1, np.int64),
        passes=[], court_to_image=H,
        image_points=[[float(x), float(y)] for x, y in calib_px],
        court_points_m=[[float(x), float(y)] for x, y in calib_m],
        ball_widths_px=np.zeros(frames),
    )  # fmt: skip


def spaced_frames(path: str | Path, count: int) -> list[np.ndarray]:
    """`count` decoded BGR frames spread evenly over the clip at `path`."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    return frames[:: max(1, len(frames) // count)][:count]
