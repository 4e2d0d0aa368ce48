"""The admin-password gate shared by the Admin page and the Standings editing tools.

One unlock per browser session opens every protected part (the same session key).
"""

from __future__ import annotations

import streamlit as st

from backend.services import auth

PREFIX = "admin"


def password_gate_ui(protected: str = "The Admin page") -> bool:
    """True when no password is configured or the right one was entered this session."""
    if not auth.admin_password_required() or st.session_state.get(f"{PREFIX}_unlocked"):
        return True
    with st.form(f"{PREFIX}_login"):
        st.markdown(f"{protected} is protected. Enter the admin password to continue.")
        entered = st.text_input("Admin password", type="password", key=f"{PREFIX}_password")
        if st.form_submit_button("Unlock", type="primary"):
            # Constant time, and a pause after a miss (services.auth): no guessing at speed.
            if auth.admin_password_ok(entered):
                st.session_state[f"{PREFIX}_unlocked"] = True
                st.rerun()
            st.error("That password is not correct.", icon=":material/lock:")
    return False
