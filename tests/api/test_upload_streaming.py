"""An over-limit upload is refused while it streams: the server stops reading the body."""

from __future__ import annotations

import asyncio
import json

from backend.api.app import create_app
from backend.api.uploads import READ_TARGET_BYTES
from backend.config import get_settings

CHUNK_BYTES = 64 * 1024
CHUNKS = 160  # 10 MB of video against a 1 MB limit


def test_too_large_upload_is_refused_before_the_body_is_read(data_dir, monkeypatch):
    monkeypatch.setenv("NETBALL_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    app = create_app()
    head = (
        b'--B\r\nContent-Disposition: form-data; name="video"; filename="long.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n"
    )
    messages = [head] + [b"\x00" * CHUNK_BYTES] * CHUNKS + [b"\r\n--B--\r\n"]
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        if pulled >= len(messages):
            await asyncio.sleep(3600)  # a client that is still sending: never ends by itself
        pulled += 1
        return {"type": "http.request", "body": messages[pulled - 1], "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/analyze",
        "raw_path": b"/analyze",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"multipart/form-data; boundary=B"), (b"host", b"t")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    assert sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "payload_too_large"
    # The limit is 16 chunks; the server reads at most one more read buffer (READ_TARGET_BYTES)
    # past it, and the rest of the 10 MB was never read from the client.
    past_limit = 1 + READ_TARGET_BYTES // CHUNK_BYTES
    assert 16 < pulled <= 16 + past_limit + 1 < len(messages)
    assert list((data_dir / "jobs").iterdir()) == []
