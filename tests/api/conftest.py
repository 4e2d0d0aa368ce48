"""An API client on a fresh data dir (see tests/conftest.py `data_dir`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from backend.api.app import create_app
from backend.config import get_settings
from tests.platform.test_worker_e2e import start_worker  # noqa: F401  (fixture for the e2e test)


@pytest.fixture
def make_client(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TestClient]]:
    """Build a client after setting env vars: `make_client(NETBALL_API_KEY="k")`."""
    clients: list[TestClient] = []

    def make(**env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        client = TestClient(create_app(), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def envelope(response: Any, model: type[BaseModel] | None = None, *, status: int = 200) -> Any:
    """Check status and envelope shape (against the documented model); return `data`."""
    from backend.api import schemas

    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "data", "error", "meta"}
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    if status < 400:
        assert body["success"] is True and body["error"] is None
        if model is not None:
            schemas.Envelope[model].model_validate(body)  # type: ignore[valid-type]
        return body["data"]
    assert body["success"] is False and body["data"] is None
    schemas.Envelope[dict].model_validate(body)
    return body["error"]
