"""Start the analysis worker: `python huey_worker.py [--workers N]`.

Runs N jobs at once in separate processes (Huey process workers) and splits the machine's
cores between them. On start it recovers jobs a previous worker left behind (killed, crashed,
machine restarted); while running it writes a heartbeat file the Admin page and `health` read,
and keeps recovering jobs of worker processes that died.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys

# Torch reads these when it is first imported (in the worker processes, after the fork).
_cli = argparse.ArgumentParser(description="Courtside analysis worker (Huey consumer).")
_cli.add_argument(
    "--workers",
    type=int,
    default=None,
    help="jobs analysed in parallel (default: NETBALL_WORKERS or 3)",
)
_cli.add_argument("-v", "--verbose", action="store_true", help="log queue activity")

PR_SET_PDEATHSIG = 1
QUEUE_MAX_POLL_DELAY_S = 1.0


def torch_threads_per_worker(workers: int, cores: int | None = None) -> int:
    return max(1, (cores or os.cpu_count() or 1) // workers)


def _die_with_consumer(consumer_pid: int) -> None:
    """Runs first in each forked worker: if the consumer is killed (-9), its workers must not
    live on as orphans that keep taking jobs beside the consumer started after it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != consumer_pid:  # it died before prctl took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    args = _cli.parse_args(argv)
    from backend.config import get_settings

    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    workers = args.workers if args.workers is not None else settings.workers
    if workers < 1:
        print(f"error: --workers must be at least 1, got {workers}", file=sys.stderr)
        return 2
    threads = torch_threads_per_worker(workers)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NETBALL_TORCH_THREADS"):
        os.environ[name] = str(threads)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("courtside").setLevel(logging.INFO)

    from huey.consumer import Consumer, Scheduler, Worker

    from backend.db import init_db, reset_engines, session_scope
    from backend.models import utcnow
    from backend.services import queue as job_queue
    from backend.services import runner
    from backend.services import workers as worker_beat
    from jobs.queue import get_queue

    log = logging.getLogger("courtside.worker")
    settings.ensure_dirs()
    other = worker_beat.live_consumer_elsewhere()
    if other is not None:
        print(
            f"error: a worker (pid {other.pid}) is already serving {settings.data_dir}; "
            "stop it first (one worker per data folder; --workers N runs N jobs at once)",
            file=sys.stderr,
        )
        return 1
    init_db()
    queue = get_queue()
    with session_scope() as session:
        actions = runner.recover_stale_jobs(session=session)
        actions += runner.requeue_lost_jobs(
            session=session, pending_task_ids=job_queue.pending_task_ids()
        )
    for action in actions:
        log.warning("recovered job %s: %s (%s)", action.job_id, action.action, action.reason)
    # Forked workers must open their own database connections.
    reset_engines()

    started_at = utcnow()
    consumer_pid = os.getpid()

    class OwnedWorker(Worker):
        def initialize(self) -> None:
            _die_with_consumer(consumer_pid)
            super().initialize()

    class OwnedScheduler(Scheduler):
        def initialize(self) -> None:
            _die_with_consumer(consumer_pid)
            super().initialize()

    class CourtsideConsumer(Consumer):
        worker_class = OwnedWorker
        scheduler_class = OwnedScheduler

        def check_worker_health(self) -> bool:
            healthy = super().check_worker_health()
            # An error here must not stop the consumer: it is retried at the next check.
            try:
                worker_beat.write_consumer_heartbeat(workers=workers, started_at=started_at)
                with session_scope() as session:
                    for action in runner.recover_stale_jobs(session=session):
                        log.warning("recovered job %s: %s", action.job_id, action.action)
            except Exception:
                log.exception("heartbeat or job recovery failed; retrying at the next check")
            finally:
                reset_engines()  # the next restart of a dead worker forks from here
            return healthy

    consumer = CourtsideConsumer(
        queue.huey,
        workers=workers,
        worker_type="process",
        max_delay=QUEUE_MAX_POLL_DELAY_S,
        health_check_interval=worker_beat.WORKER_HEARTBEAT_INTERVAL_S,
        periodic=False,
    )
    worker_beat.write_consumer_heartbeat(workers=workers, started_at=started_at)
    print(
        f"Courtside worker: {workers} worker process(es), {threads} torch thread(s) each, "
        f"queue {settings.queue_path}, pid {os.getpid()}",
        file=sys.stderr,
        flush=True,
    )
    try:
        consumer.run()
    finally:
        worker_beat.clear_consumer_heartbeat()
    return 0


if __name__ == "__main__":
    sys.exit(main())
