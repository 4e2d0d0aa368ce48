"""Jobs in every state, made through the real services, with hand-made output files.

The pipeline's own outputs are exercised by the browser test; these small files give the
page tests exact, known content (two players, a ball passed once from team A to team B).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from backend.db import session_scope
from backend.services import files as file_service
from backend.services import jobs as job_service
from backend.services import runner
from tests.synthetic import make_plain_clip

TRACK_HEADER = [
    *("frame", "time_s", "track_id", "class", "team", "x1", "y1", "x2", "y2"),
    *("confidence", "source", "court_x", "court_y", "zone"),
]
SAMPLE_FPS = 25.0
SAMPLE_FRAMES = 50
# Frame at which the ball moves from player 1 (team A) to player 2 (team B).
SAMPLE_PASS_FRAME = 25


def sample_track_rows(*, calibrated: bool = True) -> list[dict]:
    """Player 1 (A) walks from 5 m to 10 m, player 2 (B) stands at 20 m; the ball is held by
    player 1 for frames 0-24 and by player 2 for frames 25-49."""
    rows = []
    for frame in range(SAMPLE_FRAMES):
        time_s = frame / SAMPLE_FPS
        court = {1: (5.0 + frame * 0.1, 7.0), 2: (20.0, 8.0)}
        pixels = {1: (100.0 + frame * 2, 100.0), 2: (400.0, 110.0)}
        for track_id, team in ((1, "A"), (2, "B")):
            px, py = pixels[track_id]
            cx, cy = court[track_id]
            rows.append(
                {
                    "frame": frame,
                    "time_s": f"{time_s:.3f}",
                    "track_id": track_id,
                    "class": "player",
                    "team": team,
                    "x1": px - 15,
                    "y1": py - 80,
                    "x2": px + 15,
                    "y2": py,
                    "confidence": 0.9,
                    "source": "detected",
                    "court_x": cx if calibrated else "",
                    "court_y": cy if calibrated else "",
                    "zone": "",
                }
            )
        holder = 1 if frame < SAMPLE_PASS_FRAME else 2
        px, py = pixels[holder]
        cx, cy = court[holder]
        rows.append(
            {
                "frame": frame,
                "time_s": f"{time_s:.3f}",
                "track_id": 99,
                "class": "ball",
                "team": "",
                "x1": px - 4,
                "y1": py - 44,
                "x2": px + 4,
                "y2": py - 36,
                "confidence": 0.6,
                "source": "detected",
                "court_x": cx + 0.3 if calibrated else "",
                "court_y": cy if calibrated else "",
                "zone": "",
            }
        )
    return rows


def write_tracks_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRACK_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def submit_clip(tmp_path: Path, name: str = "match.mp4", *, priority: str = "normal") -> str:
    """Queue a real (tiny) video through submit_upload; returns the job id."""
    clip = make_plain_clip(tmp_path / f"source-{name}", frames=8)
    with session_scope() as session, clip.open("rb") as stream:
        job = job_service.submit_upload(
            session=session, stream=stream, original_name=name, priority=priority
        )
        return job.id


def start(
    job_id: str,
    *,
    frames_done: int = 0,
    frames_total: int = 100,
    fps: float = 0.0,
    phase: str = "analysing",
) -> None:
    with session_scope() as session:
        assert runner.claim_job(session=session, job_id=job_id) is not None
    recorder = runner.ProgressRecorder(job_id)
    recorder.record(
        frames_done, frames_total, fps or None, 12.0 if fps else None, phase=phase, force=True
    )


def fail(job_id: str, reason: str, log: str = "") -> None:
    start(job_id)
    (file_service.job_outputs_dir(job_id) / "run.log").write_text(log)
    with session_scope() as session:
        runner.fail_job(session=session, job_id=job_id, reason=reason)


def complete(
    job_id: str,
    *,
    tracks: list[dict] | None = None,
    summary: dict | None = None,
    video_source: Path | None = None,
    events_csv: str | None = None,
) -> Path:
    """Run a job to completion with the given outputs; returns its outputs folder."""
    start(job_id, frames_done=SAMPLE_FRAMES, frames_total=SAMPLE_FRAMES, fps=50.0)
    outputs = file_service.job_outputs_dir(job_id)
    if tracks is not None:
        write_tracks_csv(outputs / "tracks.csv", tracks)
    summary = summary if summary is not None else default_summary()
    (outputs / "summary.json").write_text(json.dumps(summary))
    (outputs / "run.log").write_text("analysis finished\n")
    if events_csv is not None:
        (outputs / "events.csv").write_text(events_csv)
    if video_source is not None:
        (outputs / "annotated.mp4").write_bytes(video_source.read_bytes())
    with session_scope() as session:
        runner.complete_job(session=session, job_id=job_id, summary=summary)
    return outputs


def default_summary() -> dict:
    return {
        "video": {
            "width": 640,
            "height": 360,
            "fps": SAMPLE_FPS,
            "frames_total": SAMPLE_FRAMES,
            "duration_s": SAMPLE_FRAMES / SAMPLE_FPS,
        },
        "teams": [
            {"label": "A", "name": "Team A", "colour": "#dd2222"},
            {"label": "B", "name": "Team B", "colour": "#2255dd"},
        ],
    }


def analysed_scene():
    """A calibrated 8 s scene with known play: A1 passes to A2, A2 loses it to B3 (stage 1's
    files as tests.analytics.scenes writes them; stage 2 then runs for real)."""
    from tests.analytics.scenes import Scene

    scene = Scene(n_frames=200)
    scene.add(1, "A", (8.0, 7.0)).add(2, "A", (14.0, 6.0)).add(3, "B", (20.0, 9.0))
    return scene.hold(0.2, 1.6, 1).hold(2.2, 4.0, 2).hold(4.8, 7.5, 3)


def complete_analysed(job_id: str, *, video_source: Path | None = None) -> Path:
    """Complete a job with analysed_scene()'s stage-1 files, then run stage 2 on them."""
    from backend.services import analysis

    outputs = complete(job_id, video_source=video_source)
    analysed_scene().write(outputs)
    summary = json.loads((outputs / "summary.json").read_text())
    summary["teams"] = default_summary()["teams"]
    (outputs / "summary.json").write_text(json.dumps(summary))
    with session_scope() as session:
        analysis.reanalyse_job(session=session, job_id=job_id)
    return outputs
