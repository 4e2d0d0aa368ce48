"""Video -> detections -> tracks -> court coordinates -> output files.

Pure: imports no web framework, database or queue, so it runs and tests on its own.
The public entry is `analyze_video` (see `backend.pipeline.run` for the files it writes and
the keys of summary.json).
"""

from backend.pipeline.errors import (
    CalibrationError,
    ModelError,
    OutputError,
    PipelineCancelled,
    PipelineError,
    VideoError,
)
from backend.pipeline.settings import AnalysisResult, PipelineSettings, Progress


def __getattr__(name: str):
    # analyze_video pulls in OpenCV, PyAV and the detector code (~0.2 s); the CLI, API and
    # dashboard import this package for its settings and errors only, so load it on first use.
    if name == "analyze_video":
        from backend.pipeline.run import analyze_video

        return analyze_video
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnalysisResult",
    "CalibrationError",
    "ModelError",
    "OutputError",
    "PipelineCancelled",
    "PipelineError",
    "PipelineSettings",
    "Progress",
    "VideoError",
    "analyze_video",
]
