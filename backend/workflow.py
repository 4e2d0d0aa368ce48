"""Both stages for one video: detection and tracking (stage 1), then the netball analytics
(stage 2) on its output folder. Pure like the stages: no database, queue or web; the job
task, `python -m backend analyze` and the benchmarks all go through here."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from backend.analytics.inputs import AnalyticsInputs
from backend.analytics.stage import run_analytics
from backend.pipeline.errors import PipelineError
from backend.pipeline.run import analyze_video
from backend.pipeline.settings import AnalysisResult, PipelineSettings, Progress


class AnalyticsError(PipelineError):
    """Stage 2 failed on a finished stage 1; the message says why."""


def analyse_match(
    video_path: str | Path,
    out_dir: str | Path,
    settings: PipelineSettings | None = None,
    *,
    calibration: dict | None = None,
    inputs: AnalyticsInputs | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    logger: logging.Logger | None = None,
) -> AnalysisResult:
    """Stage 1 into `out_dir`, then stage 2 there; the result lists every file of both.

    `inputs` default to the calibration's homography and nothing from the analyst yet.
    Raises PipelineError subclasses (AnalyticsError for stage 2) with a message to show.
    """
    log = logger or logging.getLogger("backend.workflow")
    result = analyze_video(
        video_path, out_dir, settings, calibration=calibration, on_progress=on_progress,
        should_cancel=should_cancel, logger=log,
    )  # fmt: skip
    if inputs is None:
        inputs = default_inputs(calibration, (settings or PipelineSettings()).team_display_names())
    try:
        stage2 = run_analytics(Path(out_dir), inputs, logger=log)
    except (ValueError, OSError) as exc:
        raise AnalyticsError(f"The netball analytics stage failed: {exc}") from exc
    files = sorted({*result.files, *stage2.files}, key=lambda p: p.name)
    summary = json.loads((Path(out_dir) / "summary.json").read_text())
    return AnalysisResult(out_dir=result.out_dir, files=files, summary=summary)


def default_inputs(calibration: dict | None, team_names: dict[str, str]) -> AnalyticsInputs:
    from backend.pipeline.view import ViewTransformer

    homography = None
    if calibration is not None:
        homography = ViewTransformer.from_dict(calibration).matrix.tolist()
    playing = {k: v for k, v in team_names.items() if k in ("A", "B")}
    return AnalyticsInputs.from_dict({"homography": homography, "team_names": playing})
