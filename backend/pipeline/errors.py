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
    """The output folder cannot be written (permissions, full disk).

    `bytes_written` is how much the run had written when it stopped (its partial files are
    removed afterwards), so a caller can say how much space the whole analysis needs.
    """

    bytes_written: int = 0


class PipelineCancelled(PipelineError):
    """The caller asked to stop; partial outputs are removed or marked incomplete."""
