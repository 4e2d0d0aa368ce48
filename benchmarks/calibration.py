"""Accuracy of the automatic court calibration guess on generated views (SoccerNet-style).

    .venv/bin/python benchmarks/calibration.py [--views 40] [--json]

For each generated view (tests/court_views.py: known camera poses, floors, line colours,
partial views, clutter, people) runs backend.analytics.court_lines.detect_court and prints:
completeness (share of views given status ok), of those the share whose every visible
landmark is within 5, 10 and 20 px of the truth, how many views were marked unsure or
refused, and every accepted (ok) fit whose mean landmark error is over 1 m (must be none).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.analytics.court_lines import detect_court
from tests.court_views import generated_views, landmark_errors_px, mean_landmark_error_m

THRESHOLDS_PX = (5, 10, 20)
ACCEPTED_ERROR_MAX_M = 1.0


def evaluate(views: int) -> dict:
    rows = []
    started = time.perf_counter()
    for view in generated_views(views):
        t0 = time.perf_counter()
        guess = detect_court(view.image)
        row = {
            "seed": view.seed,
            "status": guess.status,
            "support": round(guess.support, 3),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if guess.fit.homography is not None:
            errors = landmark_errors_px(view, guess.fit.homography)
            row["max_landmark_px"] = round(float(errors.max()), 2)
            row["mean_error_m"] = round(mean_landmark_error_m(view, guess.fit.homography), 3)
        rows.append(row)
    solved = [r for r in rows if r["status"] == "ok"]
    within = {
        f"within_{t}px": (sum(r["max_landmark_px"] <= t for r in solved) / len(solved))
        if solved
        else None
        for t in THRESHOLDS_PX
    }
    return {
        "views": len(rows),
        "completeness": len(solved) / len(rows),
        **within,
        "unsure": sum(r["status"] == "unsure" for r in rows),
        "refused": sum(r["status"] == "refused" for r in rows),
        "accepted_over_1m": [r["seed"] for r in solved if r["mean_error_m"] > ACCEPTED_ERROR_MAX_M],
        "unsure_over_1m": sum(
            r["status"] == "unsure" and r.get("mean_error_m", 0) > ACCEPTED_ERROR_MAX_M
            for r in rows
        ),
        "seconds_per_view": round((time.perf_counter() - started) / len(rows), 3),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="also print every view's row")
    args = parser.parse_args()
    result = evaluate(args.views)
    rows = result.pop("rows")
    if args.json:
        for row in rows:
            print(json.dumps(row))
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}))


if __name__ == "__main__":
    main()
