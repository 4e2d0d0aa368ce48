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
from backend.pipeline.run import analyze_video
from backend.pipeline.settings import AnalysisResult, PipelineSettings, Progress

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
