"""Issue 13's speed-ups change how the work is done, not what comes out: the detector ahead
of the tracking finds the same players, the team fit's frames are those it sampled before,
the encoder gets its options, OpenVINO reuses compiled networks."""

from __future__ import annotations

import os

import av
import numpy as np
import pytest

from backend.pipeline import PipelineSettings, analyze_video
from backend.pipeline.detection import Detector, clear_model_cache
from backend.pipeline.inference import COMPILE_CACHE_DIR_NAME, openvino_threads
from backend.pipeline.stream import H264Writer, sample_frames
from backend.pipeline.video import rotate_upright, upright_rotation
from tests.synthetic import make_match_clip

FAST = dict(team_sample_frames=4)


def _sample_frames_before(path, times_s, forward_frames_max=12):
    """sample_frames as it was before issue 13: every seek decodes forward afresh."""
    frames, seen = [], set()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        for t in times_s:
            target = int(t / tb)
            container.seek(target + (stream.start_time or 0), stream=stream, backward=True)
            chosen = None
            for n, frame in enumerate(container.decode(stream)):
                chosen = frame
                pts = frame.pts if frame.pts is not None else -1
                if (pts >= target and pts not in seen) or n >= forward_frames_max:
                    break
            if chosen is not None and chosen.pts not in seen:
                seen.add(chosen.pts)
                image = chosen.to_ndarray(format="bgr24")
                frames.append(rotate_upright(image, upright_rotation(chosen)))
    return frames


@pytest.mark.parametrize(
    "keyframe_interval_s, seed",
    [(None, 0), (None, 1), (0.5, 0), (0.3, 2)],  # one keyframe in the clip; several
)
def test_the_team_fit_samples_the_same_frames_as_before(tmp_path, keyframe_interval_s, seed):
    video = tmp_path / "clip.mp4"
    make_match_clip(
        video, seconds=3.0, fps=10, size=(320, 180), players_per_team=2, codec="h264",
        seed=seed, keyframe_interval_s=keyframe_interval_s,
    )  # fmt: skip
    times = [3.0 * (i + 0.5) / 24 for i in range(24)]
    now, before = sample_frames(video, times), _sample_frames_before(video, times)
    assert len(now) == len(before) >= 3
    for a, b in zip(now, before, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_detector_ahead_finds_the_same_players_and_ball(tmp_path, seed):
    video = tmp_path / "clip.mp4"
    make_match_clip(video, seconds=2.0, fps=15, size=(640, 360), players_per_team=3, seed=seed)
    outputs = {}
    for ahead in (0, 1):
        out = tmp_path / f"ahead{ahead}"
        result = analyze_video(video, out, PipelineSettings(detect_ahead_keyframes=ahead, **FAST))
        settings = result.summary["settings"]
        assert settings["detect_ahead_keyframes"] == ahead
        assert (settings["encode_subme"], settings["encode_threads"]) == (1, 0)
        if result.summary["model"]["backend"] == "openvino":
            cores = os.cpu_count() or 1
            wanted = max(1, cores - 1) if ahead else None
            assert result.summary["model"]["openvino_threads"] == wanted
        outputs[ahead] = [(out / name).read_text() for name in ("tracks.csv", "ball.csv")]
    tracks = outputs[1][0].splitlines()
    # Players were found (153 and 209 rows measured), so the comparison says something.
    assert len(tracks) > 120
    assert outputs[0] == outputs[1]


def test_the_encoder_options_reach_libx264(tmp_path):
    frame = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    written = {}
    for subme in (None, 1):
        path = tmp_path / f"subme{subme}.mp4"
        writer = H264Writer(path, 10, (128, 96), threads=1, subme=subme)
        for _ in range(5):
            writer.write(frame.copy())
        writer.close()
        written[subme] = path.read_bytes()
    # x264 writes the options it ran with into the stream (an SEI message).
    assert b"subme=1" in written[1] and b"threads=1" in written[1]
    assert b"subme=2" in written[None]  # veryfast's own


@pytest.mark.parametrize(
    "torch_threads, ahead, cores, expected",
    [(None, False, 2, None), (None, True, 2, 1), (None, True, 8, 7), (None, True, 1, 1),
     (2, True, 2, 2), (1, False, 8, 1)],
)  # fmt: skip
def test_openvino_threads_leave_the_tracking_its_core(torch_threads, ahead, cores, expected):
    assert openvino_threads(torch_threads, ahead, cores) == expected


def test_openvino_keeps_the_compiled_networks_beside_the_export(tmp_path):
    clear_model_cache()
    settings = PipelineSettings(imgsz=224, ball_zoom_px=128, model_cache_dir=tmp_path)
    detector = Detector(settings, frame_size=(640, 360))
    if detector.placement.backend != "openvino":
        pytest.skip(f"OpenVINO unavailable: {detector.placement.fallback_reason}")
    blobs = sorted(tmp_path.glob(f"openvino/*/{COMPILE_CACHE_DIR_NAME}/*.blob"))
    assert len(blobs) == 2  # the main shape and the zoom look's
    # The cache does not make the verified export look damaged: loading again rebuilds nothing.
    clear_model_cache()
    again = Detector(settings, frame_size=(640, 360))
    assert again.exports_built == []
    assert again.describe()["openvino_threads"] == again.openvino_threads
