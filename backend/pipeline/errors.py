"""Errors the pipeline raises. Their message is written for the analyst, not the developer."""


class PipelineError(Exception):
    """Base class: anything that stops an analysis for a reason a person can act on."""


class VideoError(PipelineError):
    """The input is not a readable video (corrupt, truncated, no frames, absurd size or fps)."""


class ModelError(PipelineError):
    """The detector weights are missing, corrupt or cannot be loaded."""


class CalibrationError(PipelineError, ValueError):
    """Court calibration points that cannot define a usable image-to-court mapping."""


class OutputError(PipelineError):
    """The output folder cannot be written (permissions, full disk)."""


class PipelineCancelled(PipelineError):
    """The caller asked to stop; partial outputs are removed or marked incomplete."""
