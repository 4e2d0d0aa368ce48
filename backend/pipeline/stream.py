"""Threaded video decode and H.264 encode, so both overlap with detection on the other core.

Queues are bounded, so memory stays flat whatever the length of the video.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from backend.pipeline.errors import OutputError, VideoError
from backend.pipeline.video import rotate_upright, upright_rotation

_END = object()
QUEUE_FRAMES = 8


def _decoder(path: Path) -> tuple[av.container.InputContainer, av.video.VideoStream]:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path.name} is not a readable video file ({exc}).") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path.name} contains no video stream.")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


class FrameReader:
    """Iterates (index, BGR frame) decoded in a background thread."""

    def __init__(self, path: Path, queue_frames: int = QUEUE_FRAMES) -> None:
        self.path = Path(path)
        self.container, self.stream = _decoder(self.path)
        self._queue: queue.Queue = queue.Queue(maxsize=queue_frames)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.frames_decoded = 0
        self._thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for frame in self.container.decode(self.stream):
                if self._stop.is_set():
                    return
                self._put(self.convert_frame(frame))
        except av.error.FFmpegError as exc:
            self._error = VideoError(
                f"{self.path.name} could not be decoded after frame {self.frames_decoded} ({exc})."
            )
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._error = exc
        finally:
            self._put(_END)

    def convert_frame(self, frame: av.VideoFrame) -> np.ndarray:
        image = frame.to_ndarray(format="bgr24")
        return rotate_upright(image, upright_rotation(frame))

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        index = 0
        while True:
            item = self._queue.get()
            if item is _END:
                break
            self.frames_decoded = index + 1
            yield index, item
            index += 1
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.container.close()


class H264Writer:
    """Encodes BGR frames to H.264 yuv420p MP4 (faststart) in a background thread.

    `prepare(frame, payload)` runs in the encoder thread before encoding (annotation), so
    drawing also overlaps with detection.
    """

    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        *,
        preset: str = "veryfast",
        crf: int = 23,
        threads: int = 0,
        subme: int | None = None,
        prepare: Callable[[np.ndarray, object], np.ndarray] | None = None,
        queue_frames: int = QUEUE_FRAMES,
    ) -> None:
        self.path = Path(path)
        width, height = size
        # yuv420p needs even sides; odd ones are padded by a pixel rather than rescaled.
        self.pad = (height % 2, width % 2)
        try:
            self.container = av.open(str(self.path), "w", options={"movflags": "faststart"})
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"Cannot write {self.path}: {exc}") from exc
        rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = width + self.pad[1], height + self.pad[0]
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = 1 / rate
        self.stream.options = {"preset": preset, "crf": str(crf)}
        params = [f"threads={threads}"] if threads else []
        if subme is not None:
            params.append(f"subme={subme}")
        if params:
            self.stream.options["x264-params"] = ":".join(params)
        self.stream.thread_type = "AUTO"
        self.prepare = prepare
        self.frames_written = 0
        self._queue: queue.Queue = queue.Queue(maxsize=queue_frames)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    break
                if self._error is not None:
                    continue  # drain so the producer never blocks on a dead encoder
                self.encode_frame(self.prepare_frame(*item))
        except BaseException as exc:
            self._error = exc

    def prepare_frame(self, frame: np.ndarray, payload: object) -> np.ndarray:
        if self.prepare is not None:
            frame = self.prepare(frame, payload)
        if any(self.pad):
            frame = cv2.copyMakeBorder(frame, 0, self.pad[0], 0, self.pad[1], cv2.BORDER_REPLICATE)
        return frame

    def encode_frame(self, frame: np.ndarray) -> None:
        yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        vf.pts = self.frames_written
        for packet in self.stream.encode(vf):
            self.container.mux(packet)
        self.frames_written += 1

    def write(self, frame: np.ndarray, payload: object = None) -> None:
        if self._error is not None:
            raise OutputError(f"Encoding {self.path.name} failed: {self._error}") from self._error
        self._queue.put((frame, payload))

    def close(self) -> None:
        """Flush and finish the file; raises OutputError if anything failed."""
        self._queue.put(_END)
        self._thread.join()
        try:
            if self._error is None:
                for packet in self.stream.encode():
                    self.container.mux(packet)
        except av.error.FFmpegError as exc:
            self._error = exc
        finally:
            self.container.close()
        if self._error is not None:
            raise OutputError(f"Encoding {self.path.name} failed: {self._error}") from self._error

    def abort(self) -> None:
        self._error = self._error or RuntimeError("aborted")
        self._queue.put(_END)
        self._thread.join(timeout=10)
        with contextlib.suppress(av.error.FFmpegError):
            self.container.close()


def sample_frames(
    path: Path, times_s: list[float], forward_frames_max: int = 12
) -> list[np.ndarray]:
    """Frames near each time, by seeking to the keyframe before it and decoding forward a little.

    Used to learn team colours from across the whole match without decoding it twice. When
    a seek lands on the keyframe the previous one did (keyframes far apart: the generated
    clips have one in 10 s), the frames decoded after it then are used again instead of
    being decoded again: the same frames come out, and a 10 s clip's team fit no longer
    decodes the clip a second time (benchmarks/README.md).
    """
    container, stream = _decoder(Path(path))
    frames: list[np.ndarray] = []
    seen_pts: set[int] = set()
    # The frames decoded after the last keyframe sought to, by that keyframe's packet.
    run_key: tuple | None = None
    run: list[av.VideoFrame] = []
    try:
        tb = stream.time_base
        for t in times_s:
            target = int(t / tb) if tb else 0
            try:
                container.seek(target + (stream.start_time or 0), stream=stream, backward=True)
            except av.error.FFmpegError:
                continue
            try:
                packets = container.demux(stream)
                first = next(packets, None)
                key = None if first is None else (first.pts, first.dts)
                if key is None or key != run_key:
                    # All the frames the choice below can look at, so that a later seek to
                    # the same keyframe needs none decoded.
                    run_key = key
                    run = _decode_run(stream, first, packets, forward_frames_max + 1)
                chosen = _pick(run, target, seen_pts, forward_frames_max)
            except av.error.FFmpegError:
                run_key = None
                continue
            if chosen is not None and (chosen.pts not in seen_pts):
                seen_pts.add(chosen.pts)
                image = chosen.to_ndarray(format="bgr24")
                frames.append(rotate_upright(image, upright_rotation(chosen)))
    finally:
        container.close()
    return frames


def _pick(frames: list, target: int, seen_pts: set[int], forward_frames_max: int):
    """The first frame at or after `target` not taken yet, else the last one looked at."""
    chosen = None
    for n, frame in enumerate(frames):
        chosen = frame
        pts = frame.pts if frame.pts is not None else -1
        if (pts >= target and pts not in seen_pts) or n >= forward_frames_max:
            break
    return chosen


def _decode_run(stream, first, packets, limit: int) -> list[av.VideoFrame]:
    """Up to `limit` frames decoded from `first` and the `packets` after it."""
    run: list[av.VideoFrame] = []
    if first is None:
        return run
    for packet in itertools.chain([first], packets):
        for frame in stream.decode(packet):
            run.append(frame)
            if len(run) >= limit:
                return run
    return run
