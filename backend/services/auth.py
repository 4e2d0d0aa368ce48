"""Secret checks shared by the dashboard's admin gate and the API key check.

Comparison runs in constant time (no timing hint about how much of a guess was right), and a
wrong secret costs a short pause so guessing in a loop is slow.
"""

from __future__ import annotations

import hmac
import time

from backend.config import get_settings

# Pause after a wrong password or key; long enough to slow a guessing loop to a few tries a
# second, short enough that a person who mistyped barely notices.
FAILED_SECRET_DELAY_S = 0.3


def secret_matches(given: str | None, expected: str) -> bool:
    """True when `given` equals `expected`; a wrong (non-empty) guess sleeps before returning."""
    if not given:
        return False
    ok = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
    if not ok:
        time.sleep(FAILED_SECRET_DELAY_S)
    return ok


def admin_password_required() -> bool:
    return get_settings().admin_password is not None


def admin_password_ok(entered: str | None) -> bool:
    """The admin gate: open when NETBALL_ADMIN_PASSWORD is unset, else the password must match."""
    expected = get_settings().admin_password
    return expected is None or secret_matches(entered, expected)


def api_key_required(*, write: bool) -> bool:
    """Whether a request needs X-API-Key: writes when NETBALL_API_KEY is set, reads only when
    NETBALL_API_KEY_READS=1 as well."""
    settings = get_settings()
    return settings.api_key is not None and (write or settings.api_key_reads)


def api_key_ok(given: str | None) -> bool:
    expected = get_settings().api_key
    return expected is None or secret_matches(given, expected)
