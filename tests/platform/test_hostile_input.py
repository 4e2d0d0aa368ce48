"""Bad and hostile uploads, names and settings: each refused with a clear message before
anything is stored or queued; legitimate oddities (long, non-ASCII, markup names) are kept
literally and safely."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from sqlmodel import select

from backend.models import Job, JobFile
from backend.services import jobs as job_service
from backend.services import queue as job_queue
from backend.services.errors import InvalidArgument, UploadRejected
from tests.bad_media import (
    cut_short,
    index_position,
    make_absurd_frame_count,
    make_audio_only,
    make_faststart_clip,
    make_image_as_video,
    make_long_tiny_clip,
    make_odd_size_clip,
    make_zero_fps,
)
from tests.synthetic import make_corrupt_file, make_plain_clip

# Each bad input handled is counted in the reliability report (docs/reliability.md).
BAD_FILES = {
    "zero bytes": (lambda d: _write(d / "empty.mp4", b""), "empty"),
    "random bytes": (lambda d: make_corrupt_file(d / "noise.mp4"), "not a readable video"),
    "image renamed .mp4": (lambda d: make_image_as_video(d / "photo.mp4"), r"still image \(PNG\)"),
    "cut short, index at the end": (
        lambda d: cut_short(make_plain_clip(d / "cut_end.mp4", frames=100, codec="h264")),
        "not a readable video",
    ),
    "cut short, index at the start": (
        lambda d: cut_short(make_faststart_clip(d / "cut_start.mp4")),
        r"cut_start.mp4 is cut short: it announces 4.0 s of video, but the frames after",
    ),
    "absurd frame count": (
        lambda d: make_absurd_frame_count(d / "absurd.mp4"),
        "claims 1000000000 frames, but its 4.0 s at 25.00 fps hold about 100",
    ),
    "absurd resolution": (
        lambda d: make_odd_size_clip(d / "wide.mkv", (8200, 16)),
        "unusable frame size 8200x16",
    ),
    "tiny resolution": (lambda d: make_odd_size_clip(d / "tiny.mkv", (8, 8)), "size 8x8"),
    "0 fps": (lambda d: make_zero_fps(d / "still.mp4"), "0.00 frames per second"),
    "single frame": (lambda d: make_plain_clip(d / "one.mp4", frames=1), "needs at least 2"),
    "audio only": (lambda d: make_audio_only(d / "sound.mp4"), "contains no video stream"),
}

# Markdown and HTML a page would render if it showed the name as markup.
MARKUP_NAME = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)>.mp4"

BAD_NAMES = {
    "parent folder": ("../../etc/match.mp4", "contains a folder path"),
    "absolute path": ("/etc/passwd.mp4", "contains a folder path"),
    "windows path": ("C:\\Users\\a\\match.mp4", "contains a folder path"),
    "NUL": ("match\x00.mp4", "contains a folder path"),
    "newline": ("match\nfinal.mp4", r"control characters \(U\+000A\)"),
    "terminal escape": ("match\x1b[31m.mp4", r"control characters \(U\+001B\)"),
    "right-to-left override": ("match\u202egnp.mp4", r"control characters \(U\+202E\)"),
    "too long": ("a" * 300 + ".mp4", "304 bytes long; the limit is 255"),
    "no name": ("   ", "has no name"),
    "not a video type": ("match.exe", "unsupported file type"),
}

BAD_SETTINGS = {
    "stride 0": ({"frame_stride": 0}, "frame_stride must be between 1 and 10, got 0"),
    "negative size": ({"imgsz": -320}, "imgsz must be between 128 and 1920, got -320"),
    "text for a number": ({"imgsz": "big"}, "imgsz must be a whole number"),
    "unknown key": ({"strdie": 2}, "unknown analysis setting.s.: strdie"),
    "calibration collinear": (
        {
            "calibration": {
                "image_points": [[0, 0], [10, 10], [20, 20], [30, 30]],
                "court_points_m": [[0, 0], [30.5, 0], [30.5, 15.25], [0, 15.25]],
            }
        },
        "lie on .almost. one line",
    ),
    "calibration off the frame": (
        {
            "calibration": {
                "image_points": [[10, 10], [300, 10], [900, 170], [10, 170]],
                "court_points_m": [[0, 0], [30.5, 0], [30.5, 15.25], [0, 15.25]],
            }
        },
        r"image point 3 \(900, 170\) lies outside the video's 320x180 frame",
    ),
    "calibration too few points": (
        {"calibration": {"image_points": [[1, 1]], "court_points_m": [[0, 0]]}},
        "at least 4 point pairs",
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def assert_nothing_kept(session, data_dir: Path) -> None:
    assert session.exec(select(Job)).all() == []
    assert session.exec(select(JobFile)).all() == []
    assert list((data_dir / "jobs").iterdir()) == []
    assert job_queue.depth() == 0


def test_the_cut_copy_really_keeps_its_index_at_the_start(tmp_path):
    clip = make_faststart_clip(tmp_path / "fs.mp4")
    assert index_position(clip) < 0.01
    assert index_position(make_plain_clip(tmp_path / "end.mp4", codec="h264")) > 0.5


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("how", ["upload", "path"])
def test_bad_files_are_refused_before_anything_is_kept(session, data_dir, tmp_path, case, how):
    make, message = BAD_FILES[case]
    video = make(tmp_path)
    with pytest.raises(UploadRejected, match=message):
        if how == "upload":
            with video.open("rb") as stream:
                job_service.submit_upload(session=session, stream=stream, original_name=video.name)
        else:
            job_service.submit_path(session=session, source_path=video)
    assert_nothing_kept(session, data_dir)
    assert video.is_file(), "the analyst's own file must never be removed"


@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_bad_names_are_refused(session, data_dir, case):
    name, message = BAD_NAMES[case]
    stream = io.BytesIO(b"\x00" * 64)
    with pytest.raises(UploadRejected, match=message):
        job_service.submit_upload(session=session, stream=stream, original_name=name)
    assert stream.tell() == 0, "a refused name must be refused before reading the upload"
    assert_nothing_kept(session, data_dir)


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_bad_settings_are_refused(session, data_dir, tmp_path, case):
    settings, message = BAD_SETTINGS[case]
    clip = make_plain_clip(tmp_path / "ok.mp4", frames=5, size=(320, 180))
    with pytest.raises(InvalidArgument, match=message):
        job_service.submit_path(session=session, source_path=clip, settings=settings)
    assert_nothing_kept(session, data_dir)


def test_unknown_priority_is_refused(session, data_dir, tmp_path):
    clip = make_plain_clip(tmp_path / "ok.mp4", frames=5)
    with pytest.raises(InvalidArgument, match="unknown priority 'urgent'; expected one of low"):
        job_service.submit_path(session=session, source_path=clip, priority="urgent")
    assert_nothing_kept(session, data_dir)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Ñetball 決勝 ⚽.mp4", "Ñetball 決勝 _.mp4"),
        (MARKUP_NAME, "__bold__ _x__javascript_alert_1__ _img src_x onerror_alert_1__.mp4"),
        ("b" * 251 + ".mp4", "b" * 116 + ".mp4"),
    ],
)  # fmt: skip
def test_odd_but_legal_names_are_kept_literally_with_a_safe_stored_name(
    session, data_dir, tmp_path, name, stored
):
    clip = make_plain_clip(tmp_path / "ok.mp4", frames=5)
    with clip.open("rb") as stream:
        job = job_service.submit_upload(session=session, stream=stream, original_name=name)
    assert (job.original_name, job.input_name) == (name, stored)
    assert [p.name for p in (data_dir / "jobs" / job.id / "input").iterdir()] == [stored]


def test_a_two_hour_video_is_accepted_and_probed_cheaply(session, tmp_path):
    clip = make_long_tiny_clip(tmp_path / "match.mp4")
    started = time.perf_counter()
    job = job_service.submit_path(session=session, source_path=clip)
    took = time.perf_counter() - started
    assert (job.frames_total, job.video_info["duration_s"]) == (7200, 7200.0)
    assert took < 2.0, f"probing a 2-hour video took {took:.2f} s"
