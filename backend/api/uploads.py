"""Streaming multipart parsing for POST /analyze.

The request body is parsed as it arrives. Form fields before the video are collected; when the
video part starts, the upload service (backend.services.uploads.submit_upload) runs in a worker
thread and reads the video through `VideoPartStream.read`, which pulls the next body chunk from
the event loop on demand. So a multi-GB upload is copied to the job's folder chunk by chunk and
never held in memory, and the service's size limit stops it mid-stream. Fields must come
before the video part (curl -F and most clients keep the order they are given).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio.from_thread
from python_multipart.multipart import MultipartParser, parse_options_header

from backend.api.errors import ApiError
from backend.services.errors import InvalidArgument, UploadRejected, UploadTooLarge

VIDEO_FIELD = "video"
MATCH_FIELD_PREFIX = "match_"
MATCH_FIELDS = ("date", "competition", "home", "away", "round", "venue")
TEXT_FIELDS = frozenset(
    {"priority", "stride", "imgsz", "team_a", "team_b", "calibration"}
    | {MATCH_FIELD_PREFIX + key for key in MATCH_FIELDS}
)
# A form field is a short text (the calibration JSON is the longest, well under 1 KB).
MAX_FIELD_BYTES = 64 * 1024
# Boundaries, part headers and fields on top of the video itself; a Content-Length beyond the
# upload limit plus this is refused before a byte is read.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024
# The service reads up to this many bytes at a time; fewer, larger writes than per body chunk.
READ_TARGET_BYTES = 1 << 20


def multipart_boundary(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the video as multipart/form-data with a 'video' file field "
            "(curl -F video=@match.mp4 ...)",
        )
    return options[b"boundary"]


class VideoPartStream:
    """Parses the multipart body; the video part's bytes come out of `read()` (blocking)."""

    def __init__(self, boundary: bytes, body: AsyncIterator[bytes], *, max_body_bytes: int) -> None:
        self._body = body
        self._max_body_bytes = max_body_bytes
        self._received = 0
        self._body_done = False
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self._headers: dict[str, str] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._part: str | None = None  # "video", a field name, or "late" after the video
        self._field_value = bytearray()
        self._video_started = self._video_done = self._ended = False
        self._buffer = bytearray()
        self._problem: Exception | None = None
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    # --- parser callbacks ------------------------------------------------------------------
    def _part_begin(self) -> None:
        self._headers, self._part = {}, None
        self._field_value = bytearray()

    def _header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("utf-8", errors="replace")
        self._header_field, self._header_value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("utf-8", errors="replace")
        if self._video_done:
            self._problem = InvalidArgument(
                f"form field {name!r} comes after the video; send fields before the video "
                "(one video per request)"
            )
            self._part = "late"
        elif name == VIDEO_FIELD:
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", errors="replace") if filename else ""
            self._part, self._video_started = VIDEO_FIELD, True
        elif name in TEXT_FIELDS:
            self._part = name
        else:
            self._problem = InvalidArgument(
                f"unknown form field {name!r}; expected '{VIDEO_FIELD}' (the file) and any of "
                f"{', '.join(sorted(TEXT_FIELDS))}"
            )
            self._part = "late"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == VIDEO_FIELD:
            self._buffer.extend(data[start:end])
        elif self._part in TEXT_FIELDS:
            self._field_value.extend(data[start:end])
            if len(self._field_value) > MAX_FIELD_BYTES:
                self._problem = InvalidArgument(
                    f"form field {self._part!r} is over {MAX_FIELD_BYTES // 1024} KB"
                )

    def _part_end(self) -> None:
        if self._part == VIDEO_FIELD:
            self._video_done = True
        elif self._part in TEXT_FIELDS:
            self.fields[self._part] = self._field_value.decode("utf-8", errors="replace").strip()

    def _end(self) -> None:
        self._ended = True

    # --- feeding ---------------------------------------------------------------------------
    async def _next_chunk(self) -> bytes | None:
        if self._body_done:
            return None
        try:
            chunk = await self._body.__anext__()
        except StopAsyncIteration:
            self._body_done = True
            return None
        self._received += len(chunk)
        if self._received > self._max_body_bytes:
            raise UploadTooLarge(
                f"the request is larger than the upload limit of "
                f"{self._max_body_bytes // (1024 * 1024)} MB (NETBALL_MAX_UPLOAD_MB)"
            )
        return chunk

    def _feed(self, chunk: bytes | None) -> None:
        if chunk is None:
            if not self._ended:
                raise UploadRejected(
                    "the upload ended before the multipart body was complete; send it again"
                )
            return
        self._parser.write(chunk)
        if self._problem is not None:
            raise self._problem

    async def read_fields(self) -> dict[str, str]:
        """Read the body up to the start of the video part; return the fields sent before it."""
        while not self._video_started:
            chunk = await self._next_chunk()
            if chunk is None and self._ended:
                break
            self._feed(chunk)
        if not self._video_started:
            raise InvalidArgument(
                f"no video in the request: send the file as the '{VIDEO_FIELD}' form field"
            )
        return dict(self.fields)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the video; b"" once it and the rest of the body are read.

        Called by the upload service in a worker thread; body chunks come from the event loop.
        """
        target = READ_TARGET_BYTES if size is None or size < 0 else size
        while len(self._buffer) < target and not self._video_done:
            self._feed(anyio.from_thread.run(self._next_chunk))
        if not self._buffer:
            # Drain what follows the video so a field sent after it is refused, not ignored.
            while not self._ended:
                self._feed(anyio.from_thread.run(self._next_chunk))
            return b""
        piece = bytes(self._buffer[:target])
        del self._buffer[:target]
        return piece


def analysis_settings(fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(priority, job settings) from the form fields; the upload service validates the values."""
    import json

    settings: dict[str, Any] = {}
    for field, key in (("stride", "frame_stride"), ("imgsz", "imgsz")):
        if fields.get(field):
            try:
                settings[key] = int(fields[field])
            except ValueError:
                raise InvalidArgument(
                    f"{field} must be a whole number, got {fields[field]!r}"
                ) from None
    names = {label: fields.get(f"team_{label.lower()}", "") for label in ("A", "B")}
    if any(names.values()):
        settings["team_names"] = {label: name for label, name in names.items() if name}
    match = {
        key: fields[MATCH_FIELD_PREFIX + key]
        for key in MATCH_FIELDS
        if fields.get(MATCH_FIELD_PREFIX + key)
    }
    if match:
        settings["match"] = match
    if fields.get("calibration"):
        try:
            settings["calibration"] = json.loads(fields["calibration"])
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"calibration must be JSON ({exc})") from None
    return fields.get("priority") or "normal", settings
