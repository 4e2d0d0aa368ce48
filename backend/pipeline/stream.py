"""Threaded video decode and H.264 encode, so both overlap with detection on the other core.

Queues are bounded, so memory stays flat whatever the length of the video.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

from backend.pipeline.errors import OutputError, VideoError
from backend.pipeline.video import rotate_upright, upright_rotation

_END = object()
QUEUE_FRAMES = 8
T = TypeVar("T")


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


# A sample whose keyframe lies further back than this many seconds is taken where that much
# decoding got to: a camera that writes a keyframe every few seconds costs a few seconds of
# decoding per sample (~0.5 s of CPU at 720p), one that writes none costs no more.
SAMPLE_FORWARD_S_MAX = 10.0


# Frames `prefetched` decodes ahead of their consumer: a 720p frame is 2.7 MB.
PREFETCH_ITEMS = 4


def prefetched(items: Iterator[T], depth: int = PREFETCH_ITEMS) -> Iterator[T]:
    """`items`, produced in a thread of their own up to `depth` ahead of the consumer.

    Before the main pass, the team fit and the ball's colour bursts decoded a frame, then ran
    the detector on it, on one core of two (decoding and OpenVINO both release the GIL).
    Closing the returned generator (`contextlib.closing` around the loop) stops the producer
    and closes `items`; an error raised while producing is raised here, after the items
    before it.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            failure.append(exc)
        put(_END)

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        thread.join(timeout=10)
        close = getattr(items, "close", None)
        if close is not None and not thread.is_alive():
            close()  # a generator's own clean-up (frames_at closes its file)


def frames_at(
    path: Path, times_s: list[float], forward_s_max: float = SAMPLE_FORWARD_S_MAX
) -> Iterator[tuple[int, np.ndarray]]:
    """(index into `times_s`, frame) of the frame at (or first after) each time, in time
    order, without decoding the whole video; stopping early decodes no further.

    Used to learn team colours, the background and the players' sizes from across the whole
    match. Each time is reached by seeking to the keyframe before it and decoding forward,
    or, when it lies no more than `forward_s_max` ahead of the frame the previous time
    reached, by decoding on from there: a short clip, or one with keyframes far apart (an
    encoder's default is one in 250 frames), is then decoded once up to its last sample,
    never twice. Taking the first frame after the keyframe instead (as this did before)
    gave a 10 s clip with one keyframe 5 samples from its first and last half second, and
    the team colours learnt from them were wrong (benchmarks/README.md). A time with no
    frame within `forward_s_max` of its keyframe gets the frame reached there; one that
    would repeat the previous frame is left out.
    """
    container, stream = _decoder(Path(path))
    tb = stream.time_base
    origin = stream.start_time or 0
    rate = stream.average_rate or stream.guessed_rate or 25
    budget_frames = max(1, round(forward_s_max * float(rate)))
    budget_pts = int(forward_s_max / tb) if tb else 0
    decoded = None  # frames after the last seek, decoded as far as `reached`
    reached: int | None = None
    try:
        for i in sorted(range(len(times_s)), key=times_s.__getitem__):
            goal = origin + (int(times_s[i] / tb) if tb else 0)
            if reached is not None and goal <= reached:
                continue  # the frame reached already stands for this time too
            try:
                if decoded is None or reached is None or goal - reached > budget_pts:
                    container.seek(goal, stream=stream, backward=True)
                    decoded = container.decode(stream)
                chosen = None
                for n, frame in enumerate(decoded, start=1):
                    chosen = frame
                    if (frame.pts is not None and frame.pts >= goal) or n >= budget_frames:
                        break
            except av.error.FFmpegError:
                decoded = reached = None
                continue
            if chosen is None or chosen.pts is None or chosen.pts == reached:
                decoded = None  # past the end, or a stream without timestamps: seek afresh
                continue
            reached = chosen.pts
            image = chosen.to_ndarray(format="bgr24")
            yield i, rotate_upright(image, upright_rotation(chosen))
    finally:
        container.close()
