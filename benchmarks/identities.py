"""Identities through crossings (issue 15): the same clips with re-identification off and on.

    .venv/bin/python benchmarks/identities.py                       # every clip below
    .venv/bin/python benchmarks/identities.py --clips crossing,wide --seconds 15
    .venv/bin/python benchmarks/identities.py --clips wide:3,wide:4,wide_pan:3,crossing:1
    .venv/bin/python benchmarks/pipeline.py --wide 15 --compare-reid --skip-naive

Clips (all generated, with ground truth): `crossing` and `crossing_pan` are
tests.synthetic.make_crossing_shot (960x540, two walkers passing behind pairs of players,
fixed camera / 40 px/s pan); `wide` and `wide_pan` are make_wide_shot (issue 15's
ten-player wide shot, fixed calibrated camera / 40 px/s pan without calibration), run with
the wide settings of tests/pipeline/test_wide_shots.py; `match720` is the 720p 30 fps clip
of benchmarks/pipeline.py --generate (today's clip, default settings); `harder` is the 720p
30 fps clip of benchmarks/pipeline.py --generate --harder (5 + 5 players, half of them
walking across their neighbours, an umpire, spectators, blur, noise; default settings,
seed 7 unless given). `name:seed` picks the
generator's seed (default: --seed for the crossings, the generator's own for the others).
For each clip the pipeline runs twice back to back in child processes, re-identification
off (`reid_lost_max_s` 0: the older stitching) then on (6 s, the default), and one JSON
line per clip gives identities per player, tracks per person, ID switches, player-frame coverage
(tests/pipeline/identities.py) and the main-pass time per frame of both, their ratio and
the load average: compare ratios from one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIPS = ("crossing", "crossing_pan", "wide", "wide_pan", "match720", "harder")
CROSSING_SETTINGS = {"imgsz": 960}
# As tests/pipeline/test_wide_shots.py: the input size follows the players' height.
WIDE_SETTINGS = {"imgsz_auto_player_px": 64, "ball_motion_search_px": 320}
# The default (settings.py); "off" is 0, the stitching alone.
REID_ON_LOST_MAX_S = 6.0


def make_clip(
    name: str, folder: Path, seconds: float, seed: int | None, stature_spread: float | None = None
):
    """(truth, settings, calibration) of one named clip, written into `folder`."""
    from tests import synthetic

    if name.startswith("crossing"):
        pan = 40.0 if name == "crossing_pan" else 0.0
        truth = synthetic.make_crossing_shot(
            folder / f"{name}.mp4", seconds=seconds, seed=seed or 0, pan_px_per_s=pan
        )
        # A panning camera has no fixed calibration: the frame-0 one drifts off the court.
        return truth, CROSSING_SETTINGS, None if pan else truth.calibration()
    if name.startswith("wide"):
        pan = 40.0 if name == "wide_pan" else 0.0
        extra = {} if seed is None else {"seed": seed}
        if stature_spread is not None:
            extra["stature_spread"] = stature_spread
        truth = synthetic.make_wide_shot(
            folder / f"{name}.mp4", seconds=seconds, pan_px_per_s=pan, **extra
        )
        return truth, WIDE_SETTINGS, None if pan else truth.calibration()
    if name == "match720":
        truth = synthetic.make_match_clip(
            folder / "match720.mp4", seconds=seconds, fps=30, size=(1280, 720),
            players_per_team=4, officials=1, codec="h264", seed=7 if seed is None else seed,
        )  # fmt: skip
        return truth, {}, truth.calibration()
    if name == "harder":
        from benchmarks.quality import generate

        truth = generate(
            "harder", folder / "harder.mp4", seconds=seconds, size=(1280, 720), fps=30,
            seed=7 if seed is None else seed,
        )  # fmt: skip
        return truth, {}, truth.calibration()
    raise SystemExit(f"unknown clip {name!r}: use {', '.join(CLIPS)}")


def _run_child(video: Path, out: Path, settings: dict, calibration: dict | None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(video), "--out", str(out),
           "--settings", json.dumps(settings),
           "--calibration", json.dumps(calibration)]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"pipeline run failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # CPU seconds of the whole child (model load and team learning too): steadier than wall
    # time when other work shares the cores.
    out["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return out


def compare_reid(truth, video: Path, work: Path, settings: dict, calibration: dict | None,
                 modes: tuple[str, ...] = ("reid_off", "reid_on")) -> dict:  # fmt: skip
    """Re-identification off then on over the same clip; the figures of both and ratios."""
    from backend.pipeline.tracking import REID_COUNTS
    from tests.pipeline.identities import identity_score

    rows: dict = {"load_before": round(os.getloadavg()[0], 2)}
    for name, lost_s in (("reid_off", 0.0), ("reid_on", REID_ON_LOST_MAX_S)):
        if name not in modes:
            continue
        run_settings = {**settings, "reid_lost_max_s": lost_s}
        run = _run_child(video, work / name, run_settings, calibration)
        score = identity_score(truth, work / name / "tracks.csv")
        rows[name] = {
            **score.to_dict(),
            "main_pass_ms_per_frame": round(1000 * run["main_pass_s"] / max(1, run["frames"]), 2),
            "cpu_ms_per_frame": round(1000 * run["cpu_s"] / max(1, run["frames"]), 2),
            **{k: run["counts"].get(k, 0) for k in REID_COUNTS},
        }
    if len(modes) < 2:
        rows["load_after"] = round(os.getloadavg()[0], 2)
        return rows
    off, on = rows["reid_off"], rows["reid_on"]
    rows["time_per_frame_ratio"] = round(
        on["main_pass_ms_per_frame"] / max(off["main_pass_ms_per_frame"], 1e-9), 3
    )
    rows["cpu_per_frame_ratio"] = round(
        on["cpu_ms_per_frame"] / max(off["cpu_ms_per_frame"], 1e-9), 3
    )
    rows["load_after"] = round(os.getloadavg()[0], 2)
    return rows


def _child(args) -> None:
    from backend.pipeline import PipelineSettings, analyze_video

    settings = PipelineSettings.from_dict(json.loads(args.settings))
    result = analyze_video(args.child, args.out, settings, calibration=json.loads(args.calibration))
    summary = result.summary
    print(
        json.dumps(
            {
                "frames": summary["counts"]["frames"],
                "main_pass_s": summary["timings"]["main_pass_s"],
                "counts": summary["counts"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clips", default=",".join(CLIPS), help="comma-separated clip names, each name[:seed]"
    )
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--seed", type=int, help="every clip's seed unless name:seed says")
    parser.add_argument(
        "--on-only", action="store_true", help="only the run with re-identification on"
    )
    parser.add_argument(
        "--stature-spread",
        type=float,
        help="wide shots: how much players' heights differ (0: team-mates are twins; default: "
        "tests.synthetic.WIDE_SHOT_STATURE_SPREAD)",
    )
    parser.add_argument("--out", type=Path, help="folder for outputs (default: a temp folder)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--calibration", default="null", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    work = args.out or Path(tempfile.mkdtemp(prefix="courtside-identities-"))
    for spec in args.clips.split(","):
        name, _, seed_text = spec.partition(":")
        seed = int(seed_text) if seed_text else args.seed
        folder = work / spec.replace(":", "-")
        folder.mkdir(parents=True, exist_ok=True)
        truth, settings, calibration = make_clip(
            name, folder, args.seconds, seed, args.stature_spread
        )
        modes = ("reid_on",) if args.on_only else ("reid_off", "reid_on")
        report = compare_reid(truth, truth.path, folder, settings, calibration, modes)
        print(json.dumps({"clip": name, "seed": seed, "seconds": args.seconds,
                          "people": truth.people, "settings": settings,
                          "stature_spread": args.stature_spread, **report}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
