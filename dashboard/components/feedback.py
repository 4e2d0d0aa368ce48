"""Turning service refusals and unexpected failures into messages instead of tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from backend.services.errors import ServiceError

logger = logging.getLogger("courtside.dashboard")


def error_message(action: str, exc: Exception) -> str:
    """What to tell the analyst about a failure: a service's own words, else a short note.

    Unexpected failures are logged with their traceback so the message can stay short.
    """
    if isinstance(exc, ServiceError):
        return str(exc)
    logger.exception("%s failed", action, exc_info=exc)
    return f"{action} failed unexpectedly: {exc}. The dashboard log has the details."


@contextmanager
def shown_errors(action: str) -> Iterator[None]:
    """Run a block; a ServiceError shows its own message, anything else a short one.

    Streamlit's rerun/stop signals derive from BaseException and pass through untouched.
    """
    try:
        yield
    except Exception as exc:
        st.error(error_message(action, exc), icon=":material/error:")
