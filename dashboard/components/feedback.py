"""Turning service refusals and unexpected failures into messages instead of tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from backend.services.errors import ServiceError

logger = logging.getLogger("courtside.dashboard")


@contextmanager
def shown_errors(action: str) -> Iterator[None]:
    """Run a block; a ServiceError shows its own message, anything else a short one.

    Streamlit's rerun/stop signals derive from BaseException and pass through untouched.
    """
    try:
        yield
    except ServiceError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:
        logger.exception("%s failed", action)
        st.error(
            f"{action} failed unexpectedly: {exc}. The dashboard log has the details.",
            icon=":material/error:",
        )
