"""`calibrate JOB --points FILE.json | --auto` (design.md section 4), registered from cli.py.

`--json` prints status (ok|unsure|refused), reason, homography (3x3 image pixel -> court
metre), points (each landmark's pixel, court position, error in metres, used by the fit) and
mean_error_m, plus saved/reanalysed. An ok fit is saved to the job and reruns the analytics
stage; the exit code is 1 when the fit is refused.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

EXIT_REFUSED = 1


def _read_points(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON ({exc})") from None


def cmd_calibrate(args: argparse.Namespace) -> dict[str, Any]:
    from backend.db import session_scope
    from backend.services.calibration import calibrate_job

    points = _read_points(args.points) if args.points else None
    with session_scope() as session:
        result = calibrate_job(
            session=session,
            job_id=args.job,
            points=points,
            auto=args.auto,
            time_s=args.time,
            coverage=not args.no_coverage,
        )
    if result["status"] == "refused":
        result["_exit_code"] = EXIT_REFUSED
    return result


def render(command: str, args: argparse.Namespace, result: Any, out: TextIO) -> None:
    print(f"{result['status']}: {result['reason']}", file=out)
    for p in result["points"]:
        error = "-" if p["error_m"] is None else f"{p['error_m']:.2f} m"
        flag = "" if p["used"] or p["error_m"] is None else "  (left out)"
        print(
            f"  {p['name']:<20} px {p['image_px'][0]:8.1f} {p['image_px'][1]:8.1f}  "
            f"court {p['court_m'][0]:6.2f} {p['court_m'][1]:6.2f}  error {error}{flag}",
            file=out,
        )
    if result.get("saved"):
        done = "saved and reanalysed" if result.get("reanalysed") else "saved"
        print(f"job {result['job_id']}: calibration {done}", file=out)
        coverage = result.get("coverage") or {}
        if coverage.get("camera_moved"):
            from backend.services.calibration import coverage_warning

            print(coverage_warning(coverage), file=out)
    else:
        print(f"job {result['job_id']}: not saved", file=out)


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "calibrate", parents=[common], help="fit, check and save the court calibration"
    )
    p.add_argument("job", help="the job's ID, as submit and jobs print it")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--points",
        metavar="FILE.json",
        help='a JSON object of landmark name -> [x_px, y_px], e.g. {"far_left_corner": [40, 50]}',
    )
    how.add_argument("--auto", action="store_true", help="detect the court lines on a frame")
    p.add_argument(
        "--time", type=float, default=None, help="frame time in seconds for --auto "
        "(default: the court without players, background.jpg)",
    )  # fmt: skip
    p.add_argument(
        "--no-coverage", action="store_true", help="skip checking the clip for camera motion"
    )


COMMANDS = {"calibrate": cmd_calibrate}
