"""Turning service refusals and unexpected failures into messages instead of tracebacks."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st

from backend.services.errors import ServiceError
from dashboard.components.text import plain_text

logger = logging.getLogger("courtside.dashboard")
P = ParamSpec("P")


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
        st.error(plain_text(error_message(action, exc)), icon=":material/error:")


def errors_shown(action: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """`shown_errors` around a whole function, for `st.fragment`s: Streamlit runs a fragment
    apart from its page (on its own reruns, and catches its errors even on full runs), so the
    page's own `shown_errors` never sees them and the analyst got a traceback."""

    def decorate(function: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
            with shown_errors(action):
                function(*args, **kwargs)

        return wrapper

    return decorate
