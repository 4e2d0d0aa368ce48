"""Start the analysis worker: `python huey_worker.py [--workers N]`.

Runs N jobs at once in separate processes (Huey process workers) and splits the machine's
cores between them. It registers itself in the `worker` table (host, pid, start time) and beats
that row every couple of seconds, so status pages and workers on other machines can tell it
lives. On start and while running it recovers jobs whose worker died (here or on another host:
by the worker's heartbeat), re-queues jobs whose queue message was lost, and rebuilds a deleted
or corrupted queue store from the job table.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import time

# Torch reads these when it is first imported (in the worker processes, after the fork).
_cli = argparse.ArgumentParser(description="Courtside analysis worker (Huey consumer).")
_cli.add_argument(
    "--workers",
    type=int,
    default=None,
    help="jobs analysed in parallel (default: NETBALL_WORKERS or one per core)",
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
    from backend.services import queue_repair, recovery, runner
    from backend.services import workers as registry
    from backend.services.errors import DatabaseBusy
    from jobs.queue import get_queue, install

    log = logging.getLogger("courtside.worker")
    settings.ensure_dirs()
    install()
    queue = get_queue()
    try:
        init_db()
        with session_scope() as session:
            worker_id = _register(session, settings, workers, queue.describe())
    except _AlreadyServing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    runner.set_current_worker(worker_id)
    watch = queue_repair.LostMessageWatch()
    with session_scope() as session:
        _repair_queue(session, log)
        actions = recovery.recover_stale_jobs(session=session)
        actions += recovery.requeue_lost_jobs(
            session=session, pending_task_ids=queue.pending_task_ids()
        )
    for action in actions:
        log.warning("recovered job %s: %s (%s)", action.job_id, action.action, action.reason)
    # Forked workers must open their own database connections.
    reset_engines()
    consumer_pid = os.getpid()

    class OwnedWorker(Worker):
        def initialize(self) -> None:
            _die_with_consumer(consumer_pid)
            super().initialize()

        def loop(self, now=None):  # type: ignore[no-untyped-def]
            # A replaced or deleted SQLite queue file: reopen rather than read a ghost.
            if not queue.refresh_connection():
                time.sleep(QUEUE_MAX_POLL_DELAY_S)
                return None
            return super().loop(now)

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
                with session_scope() as session:
                    registry.beat_worker(session=session, worker_id=worker_id)
                    if not _repair_queue(session, log):
                        for action in watch.check(session=session):
                            log.warning("job %s re-queued: %s", action.job_id, action.reason)
                    for action in recovery.recover_stale_jobs(session=session):
                        log.warning("recovered job %s: %s", action.job_id, action.action)
                    registry.prune_workers(session=session)
            except DatabaseBusy as exc:
                # Another program holds the database: expected, said in one line, retried.
                log.warning(
                    "heartbeat and job recovery skipped: %s; retrying at the next check", exc
                )
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
        health_check_interval=registry.WORKER_HEARTBEAT_INTERVAL_S,
        periodic=False,
    )
    print(
        f"Courtside worker {worker_id} on {settings.worker_host}: {workers} worker process(es), "
        f"{threads} torch thread(s) each, queue {queue.describe()}, pid {os.getpid()}",
        file=sys.stderr,
        flush=True,
    )
    try:
        consumer.run()
    finally:
        try:
            with session_scope() as session:
                registry.stop_worker(session=session, worker_id=worker_id)
        except Exception:
            # Others then see the row go silent and treat this worker as gone a few s later.
            log.exception("could not mark worker %s stopped in the registry", worker_id)
    return 0


class _AlreadyServing(Exception):
    pass


def _register(session, settings, processes: int, queue: str) -> str:  # type: ignore[no-untyped-def]
    """This consumer's registry row; refused while another live consumer serves this host.

    Process ids are checked only here, on their own host: a row of this host whose process
    is gone (kill -9 a moment ago) is marked stopped so its jobs are recovered at once.
    """
    from backend.services import recovery
    from backend.services import workers as registry

    for other in registry.live_workers_on_host(session=session, host=settings.worker_host):
        if other.pid != os.getpid() and recovery.local_worker_alive(other.pid):
            raise _AlreadyServing(
                f"a worker (pid {other.pid}) is already serving host {settings.worker_host}; "
                "stop it first (one worker per host: --workers N runs N jobs at once; a "
                "worker on another machine needs its own NETBALL_WORKER_HOST)"
            )
        registry.stop_worker(session=session, worker_id=other.id)
    return registry.register_worker(session=session, processes=processes, queue=queue).id


def _repair_queue(session, log: logging.Logger) -> bool:  # type: ignore[no-untyped-def]
    """Check the queue store and rebuild it from the job table if needed; True if it was bad."""
    from backend.services import queue_repair

    repair = queue_repair.repair_queue(session=session)
    if repair is None:
        return False
    log.error("QUEUE PROBLEM: %s", repair.message)
    print(f"Courtside worker: {repair.message}", file=sys.stderr, flush=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
