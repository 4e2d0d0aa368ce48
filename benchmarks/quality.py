"""The generated clips of benchmarks/pipeline.py and how its runs are scored against their
ground truth (tests/synthetic.py draws the clip and knows where everyone and the ball are)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

# A ball position covers a frame within this many true ball widths of the true ball (the
# issue-15 measure, tests.pipeline.evaluate.wide_shot_score).
BALL_NEAR_WIDTHS = 1.5
# Stage 2 stamps a pass at the release, a turnover at the release or the catch.
PASS_TOLERANCE_FRAMES = 6
# --harder: Gaussian blur sigma (px, halved) and sensor noise (grey levels, sd) added to the
# rendered clip, then re-encoded at this libx264 CRF like a phone's footage.
HARDER_BLUR_PX = 2
HARDER_NOISE_SD = 6.0
HARDER_CRF = 26
# --harder: a ball 8-14 px wide at 720p (its true size from the far to the near sideline)
# instead of the generator's round 35 px disc, at the same share of the frame for other sizes.
HARDER_BALL_WIDTH_FRAC_OF_HEIGHT = (8 / 720, 14 / 720)


def generate(kind: str, path: Path, *, seconds: float, size: tuple[int, int], fps: float,
             seed: int = 7, pan_px_per_s: float = 0.0):  # fmt: skip
    """Render a clip of `kind` ("plain", "harder" or "wide") and return its ClipTruth.

    plain: 4 + 4 players and an umpire, the generator's large ball (the README's first figures).
    harder: 5 + 5 players with half of them walking across their neighbours, an umpire, 4
    spectators, a small textured motion-blurred ball, then floor texture, blur, noise and a
    lossy re-encode (see harden): about as hard for the detector and encoder as a phone's clip.
    wide: tests.synthetic.make_wide_shot (issue 15), 960x540 25 fps whatever `size` says.
    """
    from tests.synthetic import make_match_clip, make_wide_shot

    if kind == "wide":
        return make_wide_shot(path, seconds=seconds, pan_px_per_s=pan_px_per_s, seed=seed)
    if kind == "plain":
        return make_match_clip(
            path, seconds=seconds, fps=fps, size=size, players_per_team=4, officials=1,
            codec="h264", seed=seed, pan_px_per_s=pan_px_per_s,
        )  # fmt: skip
    if kind != "harder":
        raise ValueError(f"clip kind must be plain, harder or wide, got {kind!r}")
    far, near = (frac * size[1] for frac in HARDER_BALL_WIDTH_FRAC_OF_HEIGHT)
    truth = make_match_clip(
        path, seconds=seconds, fps=fps, size=size, players_per_team=5, officials=1,
        spectators=4, crossings=True, ball_width_px=(far, near), hold_s=1.0, flight_s=0.5,
        codec="h264", seed=seed, pan_px_per_s=pan_px_per_s,
    )  # fmt: skip
    harden(path, blur_px=HARDER_BLUR_PX, noise_sd=HARDER_NOISE_SD, seed=seed)
    return truth


def harden(video: Path, blur_px: int, noise_sd: float, seed: int = 0) -> None:
    """Make a generated clip look more like a phone's footage: defocus blur, sensor noise, a
    textured floor (low-frequency shading) and a real encoder's losses. Done on the finished
    clip, so the test clip generator stays as the tests know it."""
    import av
    import cv2

    rng = np.random.default_rng(seed)
    src = video.with_suffix(".clean.mp4")
    video.rename(src)
    with av.open(str(src)) as inp, av.open(str(video), "w") as out:
        stream_in = inp.streams.video[0]
        w, h = stream_in.codec_context.width, stream_in.codec_context.height
        stream = out.add_stream("libx264", rate=stream_in.average_rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(HARDER_CRF)}
        shade = cv2.resize(rng.normal(0, 14, (h // 24 + 1, w // 24 + 1)), (w, h))
        grain = cv2.GaussianBlur(rng.normal(0, 10, (h, w)), (0, 0), 1.5)
        texture = (shade + grain)[..., None].astype(np.float32)
        for frame in inp.decode(video=0):
            img = frame.to_ndarray(format="bgr24").astype(np.float32) + texture
            img = cv2.GaussianBlur(img, (0, 0), blur_px / 2) if blur_px else img
            img += rng.normal(0, noise_sd, img.shape).astype(np.float32)
            img = np.clip(img, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    src.unlink()


def ball_coverage(truth, centres: dict[int, list[np.ndarray]]) -> float:
    """Share of frames where some reported ball lies within BALL_NEAR_WIDTHS ball widths of
    the true ball (the generator draws the ball on every frame)."""
    hits = 0
    for f in range(truth.frames):
        near = BALL_NEAR_WIDTHS * truth.ball_widths_px[f]
        hits += any(np.hypot(*(c - truth.ball_px[f])) <= near for c in centres.get(f, []))
    return round(hits / max(1, truth.frames), 4)


def pipeline_scores(truth, out_dir: Path) -> dict:
    """Players, IDs, teams, ball and passes of one analysis folder (both stages)."""
    from tests.pipeline.evaluate import score, wide_shot_score

    tracks = out_dir / "tracks.csv"
    s = score(truth, tracks)
    events = json.loads((out_dir / "events.json").read_text())["events"]
    wide = wide_shot_score(
        truth, tracks, events, ball_widths=BALL_NEAR_WIDTHS,
        pass_tolerance_frames=PASS_TOLERANCE_FRAMES,
    )  # fmt: skip
    return {
        "recall": round(s.recall, 4),
        "ball_coverage": round(wide.ball_placed_share, 4),
        "people": truth.people,
        "player_tracks": s.track_count,
        "tracks_per_person": round(s.track_count / truth.people, 2),
        "id_switches_per_min": round(s.id_switches_per_min, 2),
        "team_accuracy": round(s.team_accuracy, 3),
        "passes_found": f"{wide.passes_found}/{wide.passes_total}",
    }


def naive_scores(truth, boxes_csv: Path) -> dict:
    """Recall and ball coverage of the naive loop's raw boxes (it has no ball path)."""
    from tests.pipeline.evaluate import detection_recall

    people: dict[int, list] = {}
    balls: dict[int, list] = {}
    with boxes_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            box = np.array([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
            target = people if row["class"] == "player" else balls
            target.setdefault(int(row["frame"]), []).append(box)
    centres = {f: [(b[:2] + b[2:]) / 2 for b in boxes] for f, boxes in balls.items()}
    return {
        "recall": round(detection_recall(truth, people), 4),
        "ball_coverage": ball_coverage(truth, centres),
    }
