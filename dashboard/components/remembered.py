"""Widget choices that survive a visit to another page.

Streamlit drops a widget's state at the end of any run that did not draw the widget, so an
analyst who half-filled New analysis, glanced at Jobs and came back found the form empty (and
the Jobs filters and the chosen Results job reset the same way). A value written back through
the Session State API before the page runs is spared that cleanup; the entry point does this
on every run for the keys registered here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

_REGISTRY_KEY = "_remembered_widget_keys"


def remembered(key: str, default: Any = None) -> str:
    """Register a widget key to keep across pages and return it for the widget's `key=`.

    The starting value goes into Session State, not the widget's `value=`/`index=`: a widget
    given both logs Streamlit's duplicate-default warning on every run.
    """
    st.session_state.setdefault(_REGISTRY_KEY, set()).add(key)
    if default is not None:
        st.session_state.setdefault(key, default)
    return key


def keep_remembered() -> None:
    """Write every registered choice back so the page about to run cannot lose it."""
    for key in st.session_state.get(_REGISTRY_KEY, ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
