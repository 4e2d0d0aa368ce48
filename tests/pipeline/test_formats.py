"""Common containers, portrait frames and high frame rates decode and re-encode frame for frame."""

from __future__ import annotations

import csv
import json

import av
import pytest

from backend.pipeline import PipelineSettings, analyze_video
from tests.synthetic import make_plain_clip

# No people in these clips: this is about decoding, frame counts and timing, so the smallest
# detector input keeps each case to a second or two.
FAST = PipelineSettings(imgsz=320, frame_stride=4, team_sample_frames=2)


@pytest.mark.parametrize(
    ("name", "codec", "size", "fps", "frames"),
    [
        ("match.avi", "mjpg", (320, 180), 25, 9),
        ("phone.mov", "mp4v", (180, 320), 30, 10),  # portrait
        ("match.mkv", "h264", (320, 180), 50, 13),
        ("odd.mkv", "ffv1", (321, 181), 60, 7),  # odd sides, padded for yuv420p
    ],
)
def test_containers_orientations_and_rates(tmp_path, name, codec, size, fps, frames):
    clip = make_plain_clip(tmp_path / name, frames=frames, fps=fps, size=size, codec=codec)
    result = analyze_video(clip, tmp_path / "out", FAST)
    with av.open(str(result.out_dir / "annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert round(float(stream.average_rate)) == fps
        first = next(container.decode(stream))
        assert (first.width, first.height) == (size[0] + size[0] % 2, size[1] + size[1] % 2)
        decoded = 1 + sum(1 for _ in container.decode(stream))
    assert decoded == frames
    with (result.out_dir / "ball.csv").open(newline="") as handle:
        assert [int(r["frame"]) for r in csv.DictReader(handle)] == list(range(frames))
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert summary["video"]["frames_processed"] == frames
    assert summary["counts"]["player_tracks"] == 0
    assert (result.out_dir / "background.jpg").stat().st_size > 0


@pytest.mark.parametrize(("rotation_deg", "corner"), [(90, "top_right"), (270, "bottom_left")])
def test_phone_rotation_is_applied_before_analysis(tmp_path, rotation_deg, corner):
    clip = make_plain_clip(
        tmp_path / "phone.mp4", frames=6, size=(320, 180), codec="h264", rotation_deg=rotation_deg
    )
    result = analyze_video(clip, tmp_path / "out", FAST)
    assert result.summary["video"]["rotation_deg"] == rotation_deg
    assert (result.summary["video"]["width"], result.summary["video"]["height"]) == (180, 320)
    with av.open(str(result.out_dir / "annotated.mp4")) as container:
        image = next(container.decode(video=0)).to_ndarray(format="bgr24")
    assert image.shape[:2] == (320, 180)
    # The stored picture's top-left marker, turned clockwise for display.
    patch = image[:8, -8:] if corner == "top_right" else image[-8:, :8]
    assert patch.mean() > 200
