"""Video probing: what a file holds, checked by really decoding it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np

from backend.pipeline.errors import VideoError

# Outside these bounds a "video" is almost certainly a broken header, not a real recording.
MIN_FPS = 1.0
MAX_FPS = 240.0
MIN_SIDE_PX = 16
MAX_SIDE_PX = 8192
# The probe decodes this much of the end of the video: a copy interrupted part-way keeps the
# index (frames announced) but lacks the frames themselves, which only the end reveals.
TAIL_CHECK_S = 1.0
# The last decoded frame may start this many frame intervals before the announced end
# (the last frame's own duration, rounding of time bases).
TAIL_TOLERANCE_FRAMES = 2.0
# A frame count announced by the header may differ this much from duration x fps (variable
# frame rate, rounding); beyond it the header is lying.
FRAME_COUNT_TOLERANCE = 0.25
# FFmpeg reads a lone picture (png_pipe, jpeg_pipe, ...) as a one-frame "video".
IMAGE_FORMAT_SUFFIX = "_pipe"
# Fewer frames than this is a still picture, not footage to track anything in.
MIN_FRAMES = 2


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    frames_total: int
    fps: float
    width: int
    height: int
    duration_s: float
    codec: str
    container: str
    # Clockwise turn applied to every decoded frame to show it upright (phones store portrait
    # video as landscape plus a display rotation); width and height are after the turn.
    rotation_deg: int = 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def probe_video(
    path: str | Path, *, stream: BinaryIO | None = None, verify_end: bool = True
) -> VideoInfo:
    """Open `path`, read its stream metadata and decode the first frame and the last second.

    `verify_end=False` skips decoding the end: for a reader that decodes every frame anyway
    and reports a truncated file itself (the pipeline analyses what is there, with a warning).

    With `stream` (an open, seekable binary file such as an upload still in memory) the bytes
    come from it and `path` only names the video in messages.
    Raises VideoError with a specific reason when the file is missing, empty, not a video,
    truncated before its first frame, or reports an implausible size or frame rate.
    """
    path = Path(path)
    if stream is None and not path.is_file():
        raise VideoError(f"Video file not found: {path}")
    if stream is None and path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes).")
    try:
        container = av.open(stream if stream is not None else str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path.name} is not a readable video file ({_reason(exc)}).") from exc
    try:
        if not container.streams.video:
            raise VideoError(f"{path.name} contains no video stream.")
        if container.format.name.endswith(IMAGE_FORMAT_SUFFIX):
            image = container.format.name.removesuffix(IMAGE_FORMAT_SUFFIX).upper()
            raise VideoError(f"{path.name} is a still image ({image}), not a video.")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not MIN_FPS <= fps <= MAX_FPS:
            raise VideoError(
                f"{path.name} reports {fps:.2f} frames per second, which is not plausible."
            )
        width, height = stream.codec_context.width, stream.codec_context.height
        if not (MIN_SIDE_PX <= width <= MAX_SIDE_PX and MIN_SIDE_PX <= height <= MAX_SIDE_PX):
            raise VideoError(f"{path.name} has an unusable frame size {width}x{height}.")
        duration_s = _duration_s(container, stream)
        frames_total = int(stream.frames) or round(duration_s * fps)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{path.name} could not be decoded ({_reason(exc)}).") from exc
        if first is None or frames_total <= 0:
            raise VideoError(f"{path.name} has no decodable frames.")
        if duration_s <= 0:
            duration_s = frames_total / fps
        _check_frame_count(path.name, frames_total, duration_s, fps)
        if verify_end:
            _check_end_decodes(path.name, container, stream, duration_s, fps)
        rotation_deg = upright_rotation(first)
        if rotation_deg in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=path,
            frames_total=frames_total,
            fps=fps,
            width=width,
            height=height,
            duration_s=duration_s,
            codec=stream.codec_context.name,
            container=container.format.name,
            rotation_deg=rotation_deg,
        )
    finally:
        container.close()


def _check_frame_count(name: str, frames_total: int, duration_s: float, fps: float) -> None:
    expected = duration_s * fps
    if frames_total < MIN_FRAMES:
        raise VideoError(
            f"{name} holds {frames_total} frame; a video to analyse needs at least "
            f"{MIN_FRAMES} frames (is it a still picture?)."
        )
    if abs(frames_total - expected) > max(FRAME_COUNT_TOLERANCE * expected, MIN_FRAMES):
        raise VideoError(
            f"{name} claims {frames_total} frames, but its {duration_s:.1f} s at "
            f"{fps:.2f} fps hold about {expected:.0f}; its header is damaged."
        )


def _check_end_decodes(
    name: str,
    container: av.container.InputContainer,
    stream: av.video.VideoStream,
    duration_s: float,
    fps: float,
) -> None:
    """Decode the last TAIL_CHECK_S of the video and check it reaches the announced end.

    Seeking lands on the keyframe before that point, so the cost is one group of pictures,
    not the whole file, whatever the video's length.
    """
    time_base = stream.time_base
    if time_base is None:
        return
    start_s = float((stream.start_time or 0) * time_base)
    end_s = start_s + duration_s
    last_s: float | None = None
    failure = ""
    try:
        container.seek(
            int(max(start_s, end_s - TAIL_CHECK_S) / time_base), stream=stream, backward=True
        )
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.pts is not None:
                    last_s = max(last_s or 0.0, float(frame.pts * time_base))
    except av.error.FFmpegError as exc:
        failure = f" ({_reason(exc)})"
    if last_s is not None and last_s >= end_s - TAIL_TOLERANCE_FRAMES / fps:
        return
    reached = f"after {last_s:.1f} s" if last_s is not None else "near the end"
    raise VideoError(
        f"{name} is cut short: it announces {duration_s:.1f} s of video, but the frames "
        f"{reached} are missing or do not decode{failure}. It was probably copied only "
        "part-way (e.g. from a camera card); copy the whole file again."
    )


def upright_rotation(frame: av.VideoFrame) -> int:
    """Clockwise degrees (0, 90, 180, 270) that show `frame` upright.

    PyAV reports the display matrix rotation counter-clockwise, as FFmpeg does; FFmpeg's own
    players turn the picture clockwise by the negated angle, and so do we.
    """
    angle = getattr(frame, "rotation", 0) or 0
    return round(-float(angle) / 90.0) % 4 * 90


def rotate_upright(image: np.ndarray, rotation_deg: int) -> np.ndarray:
    if rotation_deg == 90:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if rotation_deg == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if rotation_deg == 270:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def _duration_s(container: av.container.InputContainer, stream: av.video.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip() or type(exc).__name__
