"""Real Redis and PostgreSQL servers from the Debian packages, started unprivileged on loopback.

Used by the scale-out tests and `benchmarks/scaleout.py`. Each server lives in its own
temporary folder and listens on a free 127.0.0.1 port; `stop()` ends it and removes the folder.
As root, PostgreSQL runs as the `postgres` system user (it refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

POSTGRES_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
SERVER_START_TIMEOUT_S = 30.0
POSTGRES_SYSTEM_USER = "postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_tool(name: str) -> str | None:
    for folder in POSTGRES_BIN_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    return shutil.which(name)


def unavailable_reason() -> str | None:
    """Why the real servers cannot be started here, or None when they can."""
    missing = [name for name in ("redis-server",) if shutil.which(name) is None]
    missing += [name for name in ("initdb", "pg_ctl") if _postgres_tool(name) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed: run ./test.sh as root (it installs "
            "redis-server and postgresql with apt) or apt-get install redis-server postgresql"
        )
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(POSTGRES_SYSTEM_USER)
        except KeyError:
            return "running as root without a 'postgres' user to run PostgreSQL as"
    return None


def _wait_port(port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within the timeout\n{tail}")


@dataclass
class RedisServer:
    folder: Path
    port: int
    proc: subprocess.Popen

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flushall(self) -> None:
        import redis

        redis.Redis(host="127.0.0.1", port=self.port).flushall()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis() -> RedisServer:
    folder = Path(tempfile.mkdtemp(prefix="courtside-redis-"))
    port = free_port()
    log = folder / "redis.log"
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder), "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_port(port, "redis-server", log)
    return RedisServer(folder, port, proc)


@dataclass
class PostgresServer:
    folder: Path
    port: int

    @property
    def _cluster(self) -> Path:
        return self.folder / "cluster"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{POSTGRES_SYSTEM_USER}@127.0.0.1:{self.port}/{database}"

    def _connect(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=POSTGRES_SYSTEM_USER, dbname="postgres",
            autocommit=True,
        )  # fmt: skip

    def create_database(self, prefix: str = "courtside") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run_as_postgres([_postgres_tool("pg_ctl"), "-D", str(self._cluster), "-m", "fast",
                          "-w", "stop"], check=False)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def _run_as_postgres(command: list, *, check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ["runuser", "-u", POSTGRES_SYSTEM_USER, "--", *command]
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=check, timeout=120
    )


def start_postgres() -> PostgresServer:
    folder = Path(tempfile.mkdtemp(prefix="courtside-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=POSTGRES_SYSTEM_USER)
    server = PostgresServer(folder, free_port())
    log = folder / "postgres.log"
    try:
        _run_as_postgres([_postgres_tool("initdb"), "-D", server._cluster, "-A", "trust",
                          "-U", POSTGRES_SYSTEM_USER, "--no-sync", "-E", "UTF8"])  # fmt: skip
        # fsync off: a test cluster needs no durability, and the shared disk is slow.
        options = f"-p {server.port} -k {folder} -h 127.0.0.1 -c fsync=off -c max_connections=200"
        _run_as_postgres([_postgres_tool("pg_ctl"), "-D", server._cluster, "-o", options,
                          "-l", log, "-w", "start"])  # fmt: skip
    except subprocess.CalledProcessError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{tail}") from exc
    _wait_port(server.port, "PostgreSQL", log)
    return server
