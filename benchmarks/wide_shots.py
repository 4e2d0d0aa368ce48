"""Issue 15's figures on generated clips: each variant of the settings on the same clip, back
to back, so their ratios mean something on a busy machine.

    .venv/bin/python benchmarks/wide_shots.py                    # wide 16 s fixed, pan, 720p
    .venv/bin/python benchmarks/wide_shots.py --clips wide --seconds 6
    .venv/bin/python benchmarks/wide_shots.py --clips wide:4,pan:9 --stature-spread 0

Variants, each with imgsz_auto_player_px 64 unless it says otherwise: `defaults`;
`fixed_imgsz` (imgsz_auto_player_px 0: the detector input stays at imgsz); `motion_off`
(ball_motion_search_px 0: the detector alone for the ball); `grow_off`
(ball_motion_grow_diff_min 0: no blob's faint rim teaches the colour, as before 2026-12-04);
`bursts_off` (ball_colour_bursts 0: the colour is learnt in the main pass only, as before
2026-12-06); `issue15_off` (all three of issue 15's additions off: motion candidates, colour
bursts, re-identification; what its extra time per frame is measured against).
Each prints the share of frames with the ball within 1.5 ball widths, passes found with the
right passer and receiver, tracks per person, player-frame coverage, the main pass's input
size and ms per frame, the seconds spent learning the ball's colour before it (bursts run,
bursts that taught), and the load average before and after. Clips: `wide`
(tests.synthetic.make_wide_shot, fixed camera, calibrated), `pan` (the same, 40 px/s,
uncalibrated) and `720p` (today's generated clip of benchmarks/pipeline.py --generate).
`kind:seed` picks the wide shot's seed (default 3); `--stature-spread` how much its players
differ in height (0: team-mates of one height, as before 2026-12-03). One JSON line per clip.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline import _child  # noqa: E402


def _figures(truth, out_dir: Path) -> dict:
    """Issue 15's figures of one analysis folder (the child ran both stages)."""
    from tests.pipeline.evaluate import wide_shot_score

    events = json.loads((out_dir / "events.json").read_text())["events"]
    return wide_shot_score(truth, out_dir / "tracks.csv", events).to_dict()


# imgsz_auto_player_px is off by default (it changes runs that pick a small imgsz for speed);
# every variant here has it on unless it says otherwise.
BASE = {"imgsz_auto_player_px": 64}
VARIANTS = {
    "defaults": {},
    "fixed_imgsz": {"imgsz_auto_player_px": 0},
    "motion_off": {"ball_motion_search_px": 0},
    "grow_off": {"ball_motion_grow_diff_min": 0},
    "bursts_off": {"ball_colour_bursts": 0},
    # Issue 15's extra time per frame is measured against this: the detector alone for the
    # ball, no colour bursts, the older feet-and-shirt stitching for identities.
    "issue15_off": {"ball_motion_search_px": 0, "ball_colour_bursts": 0, "reid_lost_max_s": 0.0},
}


def _clip(kind: str, seconds: float, work: Path, stature_spread: float | None = None):
    from tests.synthetic import make_match_clip, make_wide_shot

    if kind == "720p":
        video = work / f"generated_720p_{seconds:g}s.mp4"
        truth = make_match_clip(
            video, seconds=seconds, fps=30, size=(1280, 720), players_per_team=4, officials=1,
            codec="h264", seed=7,
        )  # fmt: skip
        return truth, truth.calibration()
    kind, _, seed = kind.partition(":")
    pan = 40.0 if kind == "pan" else 0.0
    extra = {"seed": int(seed)} if seed else {}
    if stature_spread is not None:
        extra["stature_spread"] = stature_spread
    truth = make_wide_shot(
        work / f"wide_{kind}{seed}_{seconds:g}s.mp4", seconds=seconds, pan_px_per_s=pan, **extra
    )
    # A panning camera has no fixed calibration (the frame-0 one drifts off the court).
    return truth, None if pan else truth.calibration()


def compare(
    kind: str,
    seconds: float,
    work: Path,
    variants: dict[str, dict],
    stature_spread: float | None = None,
) -> dict:
    truth, calibration = _clip(kind, seconds, work, stature_spread)
    report: dict = {"clip": kind, "seconds": seconds, "load_before": os.getloadavg()[0]}
    for name, settings in variants.items():
        run_settings = {**BASE, **settings}
        out = work / f"{kind.replace(':', '-')}_{name}"
        run = _child("pipeline", truth.path, out, run_settings, calibration)
        summary = json.loads((out / "summary.json").read_text())
        frames = max(1, run["frames"])
        report[name] = {
            "imgsz": summary["model"].get("main_pass_imgsz"),
            "main_pass_ms_per_frame": round(1000 * run["timings"]["main_pass_s"] / frames, 2),
            # Before the main pass: the bursts that learn the ball's colour (ball_prelearn.py).
            "ball_colour_s": run["timings"].get("ball_colour_s", 0.0),
            "ball_colour_bursts": [
                summary["counts"].get("ball_colour_bursts_run", 0),
                summary["counts"].get("ball_colour_bursts_taught", 0),
            ],
            **_figures(truth, out),
        }
    base = report.get("defaults", {}).get("main_pass_ms_per_frame")
    for name in variants:
        if base and name != "defaults":
            report[name]["defaults_time_ratio"] = round(
                base / max(report[name]["main_pass_ms_per_frame"], 1e-9), 3
            )
    report["load_after"] = os.getloadavg()[0]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", default="wide,pan,720p", help="comma-separated clip kinds")
    parser.add_argument("--seconds", type=float, default=16.0, help="wide-shot length")
    parser.add_argument("--seconds-720p", type=float, default=10.0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    parser.add_argument(
        "--stature-spread", type=float, help="wide shots: players' height spread (0: one height)"
    )
    parser.add_argument("--out", type=Path, help="folder for outputs (default: a temp folder)")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="courtside-wide-"))
    work.mkdir(parents=True, exist_ok=True)
    variants = {name: VARIANTS[name] for name in args.variants.split(",")}
    for kind in args.clips.split(","):
        seconds = args.seconds_720p if kind == "720p" else args.seconds
        report = compare(kind, seconds, work, variants, args.stature_spread)
        print(json.dumps({**report, "stature_spread": args.stature_spread}), flush=True)


if __name__ == "__main__":
    main()
