"""A lock between the processes of one machine, for files that several workers build.

Every worker process of a fresh install starts its first job at the same moment and finds
the same OpenVINO export, or the same compiled network, missing. Without a lock they all
build it at once (three exports of seconds each on two cores), and a process that reads a
file another one is still writing can die (see openvino_net.py).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Held by one process (and one open of the file) at a time; others wait for it.

    The kernel drops the lock with the process, so a worker killed while holding it never
    blocks the next one.
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
