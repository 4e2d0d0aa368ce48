"""Fixtures shared by the platform's end-to-end test modules: a real worker and test clips."""

from tests.platform.test_worker_e2e import clips, start_worker  # noqa: F401
