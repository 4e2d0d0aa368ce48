"""Broken and hostile video files, generated: what a bad copy, a wrong file or a crafted
header looks like. Each maker writes one file and returns its path."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.synthetic import make_plain_clip


def make_faststart_clip(path: Path, *, frames: int = 100, fps: float = 25) -> Path:
    """An H.264 MP4 with its index (moov) before the frames, as cameras and phones write."""
    source = make_plain_clip(path.with_suffix(".src.mp4"), frames=frames, fps=fps, codec="h264")
    with (
        av.open(str(source)) as src,
        av.open(str(path), "w", options={"movflags": "faststart"}) as out,
    ):
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    source.unlink()
    return path


def cut_short(path: Path, keep_fraction: float = 0.5) -> Path:
    """Drop the end of the file in place: a copy interrupted part-way."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def index_position(path: Path) -> float:
    """Where the MP4 index (moov box) starts, as a fraction of the file."""
    data = path.read_bytes()
    return data.find(b"moov") / len(data)


def _patch_box(path: Path, box: bytes, offset: int, value: int) -> Path:
    """Overwrite a 32-bit big-endian field `offset` bytes after the start of `box`'s type."""
    data = bytearray(path.read_bytes())
    at = data.find(box)
    assert at > 0, f"no {box!r} box in {path}"
    data[at + offset : at + offset + 4] = struct.pack(">I", value)
    path.write_bytes(bytes(data))
    return path


def make_absurd_frame_count(path: Path, claimed_frames: int = 10**9) -> Path:
    """A valid 4 s clip whose sample-to-time table claims `claimed_frames` frames."""
    make_faststart_clip(path)
    return _patch_box(path, b"stts", 12, claimed_frames)  # first entry: sample count


def make_zero_fps(path: Path) -> Path:
    """A clip whose media time scale is 0: no frame rate can be derived."""
    make_faststart_clip(path)
    return _patch_box(path, b"mdhd", 16, 0)  # after version/flags, created, modified


def make_image_as_video(path: Path) -> Path:
    ok, png = cv2.imencode(".png", np.full((90, 160, 3), 128, np.uint8))
    assert ok
    path.write_bytes(png.tobytes())
    return path


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    rate = 44100
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        samples = int(seconds * rate)
        chunk = 1024
        for start in range(0, samples, chunk):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, chunk), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_odd_size_clip(path: Path, size: tuple[int, int], frames: int = 3) -> Path:
    """A real video of an implausible frame size (lossless FFV1 takes any size)."""
    return make_plain_clip(path, frames=frames, size=size, codec="ffv1")


def make_long_tiny_clip(path: Path, *, hours: float = 2.0, fps: float = 1.0) -> Path:
    """A genuinely `hours` long video at a tiny size and frame rate (thousands of frames,
    generated in seconds)."""
    return make_plain_clip(path, frames=int(hours * 3600 * fps), fps=fps, size=(32, 32),
                           codec="h264")  # fmt: skip
