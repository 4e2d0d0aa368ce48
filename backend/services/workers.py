"""The consumer's heartbeat file, so status pages can tell whether a worker is alive.

A small JSON file (not a DB row) because it is written every couple of seconds by the
consumer's main process, which must stay free of database connections it would fork.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from backend.config import get_settings
from backend.models import utcnow

HEARTBEAT_FILE_NAME = "worker_heartbeat.json"
# The consumer writes every WORKER_HEARTBEAT_INTERVAL_S; three missed beats mean it is gone.
WORKER_HEARTBEAT_INTERVAL_S = 2.0
WORKER_HEARTBEAT_STALE_S = 3 * WORKER_HEARTBEAT_INTERVAL_S + 1.0


@dataclass(frozen=True)
class ConsumerHeartbeat:
    pid: int
    host: str
    workers: int
    started_at: datetime
    beat_at: datetime

    @property
    def age_s(self) -> float:
        return (utcnow() - self.beat_at).total_seconds()

    @property
    def alive(self) -> bool:
        return self.age_s <= WORKER_HEARTBEAT_STALE_S

    def to_dict(self) -> dict:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["beat_at"] = self.beat_at.isoformat()
        data["age_s"] = round(self.age_s, 2)
        data["alive"] = self.alive
        return data


def heartbeat_path() -> Path:
    return get_settings().data_dir / HEARTBEAT_FILE_NAME


def write_consumer_heartbeat(*, workers: int, started_at: datetime) -> None:
    path = heartbeat_path()
    payload = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "workers": workers,
        "started_at": started_at.isoformat(),
        "beat_at": utcnow().isoformat(),
    }
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(partial, path)


def clear_consumer_heartbeat() -> None:
    heartbeat_path().unlink(missing_ok=True)


def live_consumer_elsewhere() -> ConsumerHeartbeat | None:
    """Another consumer process on this host that is serving the same data dir right now."""
    beat = read_consumer_heartbeat()
    if beat is None or not beat.alive or beat.pid == os.getpid():
        return None
    if beat.host != socket.gethostname():
        return beat
    try:
        os.kill(beat.pid, 0)
    except ProcessLookupError:
        return None  # killed without cleaning up (kill -9): its heartbeat file is stale
    except PermissionError:
        pass
    return beat


def read_consumer_heartbeat() -> ConsumerHeartbeat | None:
    try:
        data = json.loads(heartbeat_path().read_text(encoding="utf-8"))
        return ConsumerHeartbeat(
            pid=int(data["pid"]),
            host=str(data["host"]),
            workers=int(data["workers"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            beat_at=datetime.fromisoformat(data["beat_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
