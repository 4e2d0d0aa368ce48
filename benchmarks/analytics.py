"""Stage 2 (netball analytics) on long generated matches: time and peak memory by length.

Writes a stage-1 folder (tracks.csv, ball.csv, summary.json) for a match of N minutes at
25 fps with 14 players moving about a calibrated court and the ball passed every ~2 s, streamed
to disk, then runs `run_analytics` in a fresh process per length and prints seconds and peak
RSS. Memory should grow far slower than the match (the tables are compact numpy arrays).

    .venv/bin/python benchmarks/analytics.py --minutes 5 20 60
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FPS = 25.0
PLAYERS = 14
PX_PER_M = 20.0
OFFSET_PX = 20.0
BOX_H_PX = 35.0
BOX_W_PX = 12.0
PASS_EVERY_S = 2.0
HOMOGRAPHY = [[1 / PX_PER_M, 0, -OFFSET_PX / PX_PER_M], [0, 1 / PX_PER_M, -OFFSET_PX / PX_PER_M],
              [0, 0, 1]]  # fmt: skip


def write_match(folder: Path, minutes: float, seed: int = 1) -> int:
    rng = np.random.default_rng(seed)
    frames = int(minutes * 60 * FPS)
    home = rng.uniform([2, 2], [28, 13], size=(PLAYERS, 2))
    pos = home.copy()
    hold_frames = int(PASS_EVERY_S * FPS)
    with (
        (folder / "tracks.csv").open("w") as tracks,
        (folder / "ball.csv").open("w") as ball,
    ):
        tracks.write("frame,time_s,track_id,class,team,x1,y1,x2,y2,confidence,source,"
                     "court_x,court_y,zone\n")  # fmt: skip
        ball.write("frame,time_s,x,y,source,state,holder_track_id,court_x,court_y\n")
        holder = 0
        for f in range(frames):
            pos += rng.normal(0, 0.05, pos.shape) + (home - pos) * 0.01
            np.clip(pos, [0.5, 0.5], [30.0, 14.75], out=pos)
            t = f / FPS
            lines = []
            for i, (x, y) in enumerate(pos):
                u, v = x * PX_PER_M + OFFSET_PX, y * PX_PER_M + OFFSET_PX
                lines.append(
                    f"{f},{t:.3f},{i + 1},player,{'A' if i < PLAYERS // 2 else 'B'},"
                    f"{u - BOX_W_PX / 2:.1f},{v - BOX_H_PX:.1f},{u + BOX_W_PX / 2:.1f},{v:.1f},"
                    f"0.9,detected,{x:.2f},{y:.2f},\n"
                )
            if f % hold_frames == 0:
                holder = int(rng.integers(PLAYERS))
            hx, hy = pos[holder] * PX_PER_M + OFFSET_PX - [0, 0.45 * BOX_H_PX]
            lines.append(f"{f},{t:.3f},0,ball,,{hx - 3:.1f},{hy - 3:.1f},{hx + 3:.1f},"
                         f"{hy + 3:.1f},0.8,detected,,,\n")  # fmt: skip
            tracks.writelines(lines)
            ball.write(f"{f},{t:.3f},{hx:.1f},{hy:.1f},detected,held,,,\n")
    summary = {
        "schema_version": 1,
        "status": "completed",
        "video": {
            "fps": FPS,
            "frames_total": frames,
            "frames_processed": frames,
            "width": 660,
            "height": 345,
            "duration_s": frames / FPS,
        },
        "files": ["tracks.csv", "ball.csv"],
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return frames


def run_one(folder: str) -> None:
    """In a child process: stage 2 once; prints seconds and peak RSS as JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backend.analytics.inputs import AnalyticsInputs
    from backend.analytics.stage import run_analytics

    started = time.perf_counter()
    result = run_analytics(Path(folder), AnalyticsInputs(homography=HOMOGRAPHY))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss_mb": peak_mb,
                      "events": sum(result.analytics["counts"].values())}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 20, 60])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child)
        return
    print(f"{'minutes':>8} {'rows':>10} {'stage 2 s':>10} {'x real time':>12} {'peak RSS MB':>12}")
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            frames = write_match(Path(tmp), minutes)
            out = subprocess.run(
                [sys.executable, __file__, "--child", tmp], capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            rows = frames * (PLAYERS + 1)
            speed = minutes * 60 / figures["seconds"]
            print(
                f"{minutes:8.0f} {rows:10d} {figures['seconds']:10.1f} {speed:12.0f} "
                f"{figures['peak_rss_mb']:12.0f}"
            )


if __name__ == "__main__":
    main()
