"""Command line: `python -m backend <command> [--json]` (contract in design.md section 4).

Exit codes: 0 success, 1 refused or failed (message on stderr), 2 bad usage.
Every command prints a readable table, or with --json one JSON document on stdout.
Parser, commands and their readable output stay in this one file on purpose: the whole
command-line contract reads in one place.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from backend import cli_calibration, cli_competitions
from backend.config import get_settings, with_machine_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROGRESS_BAR_WIDTH = 30
PROGRESS_REDRAW_MIN_S = 0.2


class CliError(Exception):
    """A failure to report on stderr with exit code 1."""


def _human_bytes(size: int | float | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    if not rows:
        print("(none)", file=out)
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=out)


def _job_line(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "priority": job.priority,
        "progress": f"{job.progress:.0%}",
        "created": job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "name": job.original_name,
        "error": job.error,
    }


# --- commands -----------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> Any:
    from sqlalchemy.engine import make_url

    from backend.db import init_db
    from backend.services import queue as job_queue

    settings = get_settings()
    settings.ensure_dirs()
    version = init_db()
    return {
        "data_dir": str(settings.data_dir),
        # A PostgreSQL URL may carry a password: never print it.
        "database": make_url(settings.database_url).render_as_string(hide_password=True),
        "queue": job_queue.describe(),
        "schema_version": version,
    }


IMGSZ_HELP = (
    "detector input size in pixels (multiple of 32), kept as given; without it the input "
    "starts at 480 and grows when the players look small"
)


def _setting_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """--stride/--imgsz as given; `is not None`, so `--stride 0` is refused, not ignored."""
    given = {"frame_stride": args.stride, "imgsz": args.imgsz}
    return {key: value for key, value in given.items() if value is not None}


def cmd_analyze(args: argparse.Namespace) -> Any:
    from backend.pipeline.errors import PipelineError
    from backend.pipeline.settings import PipelineSettings

    out_dir = Path(args.out)
    try:
        settings = with_machine_settings(PipelineSettings.from_dict(_setting_overrides(args)))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create output folder {out_dir}: {exc}") from None
    logger = logging.getLogger("courtside.analyze")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(out_dir / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    bar = _ProgressBar(args.err_stream, enabled=not args.quiet)
    started = time.perf_counter()
    try:
        from backend.workflow import analyse_match

        result = analyse_match(
            Path(args.video), out_dir, settings, on_progress=bar.update, logger=logger
        )
    except PipelineError as exc:
        logger.exception("analysis failed")
        raise CliError(str(exc)) from None
    finally:
        bar.finish()
        handler.close()
        logger.removeHandler(handler)
    return {
        "out_dir": str(result.out_dir),
        "files": [str(p) for p in result.files],
        "seconds": round(time.perf_counter() - started, 2),
    }


class _ProgressBar:
    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self._last = 0.0
        self._drawn = False

    def update(self, progress: Any) -> None:
        now = time.monotonic()
        done = progress.frames_done >= progress.frames_total
        if not self.enabled or (now - self._last < PROGRESS_REDRAW_MIN_S and not done):
            return
        self._last = now
        fraction = (
            min(1.0, progress.frames_done / progress.frames_total) if progress.frames_total else 0
        )
        filled = int(fraction * PROGRESS_BAR_WIDTH)
        eta = f"{progress.eta_s:.0f} s" if progress.eta_s is not None else "-"
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}] {fraction:4.0%} "
            f"{progress.frames_done}/{progress.frames_total} frames "
            f"{progress.fps:.1f} fps ETA {eta}   "
        )
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def cmd_submit(args: argparse.Namespace) -> Any:
    from backend.db import init_db, session_scope
    from backend.services.jobs import submit_path

    started = time.perf_counter()
    init_db()
    with session_scope() as session:
        job = submit_path(
            session=session,
            source_path=Path(args.video),
            priority=args.priority,
            settings=_setting_overrides(args),
        )
    return {
        "job_id": job.id,
        "status": job.status,
        "priority": job.priority,
        "seconds": round(time.perf_counter() - started, 3),
    }


def cmd_jobs(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.jobs import list_jobs

    with session_scope() as session:
        rows, total = list_jobs(
            session=session,
            status=args.status,
            search=args.search,
            page=args.page,
            page_size=args.page_size,
        )
    return {
        "total": total,
        "page": args.page,
        "page_size": args.page_size,
        "jobs": [job.to_dict() for job in rows],
        "_rows": [_job_line(j) for j in rows],
    }


def cmd_status(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.jobs import get_job

    with session_scope() as session:
        return get_job(session=session, job_id=args.job).to_dict()


def cmd_transition(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services import jobs

    action = {"cancel": jobs.cancel_job, "retry": jobs.retry_job, "delete": jobs.delete_job}
    with session_scope() as session:
        job = action[args.command](session=session, job_id=args.job)
    if job is None:
        return {"job_id": args.job, "deleted": True}
    return {"job_id": job.id, "status": job.status, "cancel_requested": job.cancel_requested}


def cmd_reanalyse(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.analysis import reanalyse_job

    with session_scope() as session:
        return reanalyse_job(session=session, job_id=args.job).to_dict()


def cmd_files(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.files import list_job_files

    with session_scope() as session:
        rows = list_job_files(session=session, job_id=args.job)
    return {"job_id": args.job, "files": [f.to_dict() for f in rows]}


def cmd_archive(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.files import build_archive

    with session_scope() as session:
        path = build_archive(session=session, job_id=args.job)
    return {"job_id": args.job, "path": str(path), "size_bytes": path.stat().st_size}


def cmd_storage(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.storage import cleanup_storage, storage_stats

    with session_scope() as session:
        if args.storage_command == "stats":
            return storage_stats(session=session).to_dict()
        return cleanup_storage(
            session=session,
            older_than_days=args.older_than_days,
            statuses=args.status,
            dry_run=args.dry_run,
            cache_older_than_days=args.cache_older_than_days,
        ).to_dict()


def cmd_health(args: argparse.Namespace) -> Any:
    from backend.db import session_scope
    from backend.services.metrics import health

    with session_scope() as session:
        return health(session=session).to_dict()


def cmd_serve(args: argparse.Namespace) -> Any:
    import uvicorn

    settings = get_settings()
    host, port = args.host or settings.api_host, args.port or settings.api_port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Our middleware logs each request with its request id; uvicorn's access log would repeat it.
    uvicorn.run("backend.api.app:create_app", factory=True, host=host, port=port, access_log=False)
    return {"host": host, "port": port, "stopped": True}


# --- readable output ----------------------------------------------------------------------
def _silence(out: TextIO) -> None:
    """Point a closed pipe's file descriptor at /dev/null, so the interpreter's own flush of
    the unwritten rest at exit does not print a second BrokenPipeError."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a real file (tests pass a StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _render(command: str, args: argparse.Namespace, result: Any, out: TextIO) -> None:
    if command in cli_competitions.COMMANDS:
        cli_competitions.render(command, args, result, out)
    elif command in cli_calibration.COMMANDS:
        cli_calibration.render(command, args, result, out)
    elif command == "submit":
        print(result["job_id"], file=out)
    elif command == "jobs":
        _print_table(
            result["_rows"],
            ["id", "status", "priority", "progress", "created", "name", "error"],
            out,
        )
        pages = max(1, -(-result["total"] // result["page_size"]))
        print(f"{result['total']} job(s), page {result['page']} of {pages}", file=out)
    elif command == "status":
        eta = f"{result['eta_s']:.0f} s" if result.get("eta_s") is not None else "-"
        fps = f"{result['fps']:.1f}" if result.get("fps") else "-"
        print(f"{result['id']}  {result['status']}  {result['original_name']}", file=out)
        print(
            f"progress {result['progress']:.0%} ({result['frames_done']}/"
            f"{result['frames_total'] or '?'} frames), {fps} fps, ETA {eta}, "
            f"attempts {result['attempts']}",
            file=out,
        )
        from backend.models import PHASE_LABELS

        phase = result.get("phase")
        if phase and result["status"] in ("queued", "running"):
            print(f"phase: {phase} ({PHASE_LABELS.get(phase, phase)})", file=out)
        if result.get("error"):
            print(f"error: {result['error']}", file=out)
    elif command in {"cancel", "retry", "delete"}:
        if result.get("deleted"):
            print(f"{result['job_id']} deleted", file=out)
        elif result.get("cancel_requested") and result["status"] == "running":
            print(f"{result['job_id']} cancel requested; it stops within a few seconds", file=out)
        else:
            print(f"{result['job_id']} {result['status']}", file=out)
    elif command == "files":
        rows = [
            {
                "kind": f["kind"],
                "size": _human_bytes(f["size_bytes"]),
                "path": f["relpath"],
                "missing": "MISSING" if f["missing"] else "",
            }
            for f in result["files"]
        ]
        _print_table(rows, ["kind", "size", "path", "missing"], out)
    elif command == "archive":
        print(result["path"], file=out)
    elif command == "reanalyse":
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(result["counts"].items()) if n)
        print(
            f"job {result['job_id']} reanalysed in {result['seconds']} s: {counts or 'no events'}",
            file=out,
        )
        for warning in result["warnings"]:
            print(f"warning: {warning}", file=out)
    elif command == "storage" and args.storage_command == "stats":
        print(
            f"{_human_bytes(result['total_bytes'])} in {result['total_files']} files, "
            f"{result['jobs']} jobs; disk {result['disk_used_fraction']:.0%} used, "
            f"{_human_bytes(result['disk_free_bytes'])} free",
            file=out,
        )
        _print_table(
            [
                {"kind": k, "files": result["files_by_kind"][k], "size": _human_bytes(v)}
                for k, v in sorted(result["bytes_by_kind"].items())
            ],
            ["kind", "files", "size"],
            out,
        )
        print(
            f"of which cache (built ZIPs, rebuilt on demand): "
            f"{_human_bytes(result['cache_bytes'])} in {result['cache_files']} file(s); "
            f"cleanup removes caches older than {result['cache_max_age_days']:g} days",
            file=out,
        )
    elif command == "storage":
        verb = "would remove" if result["dry_run"] else "removed"
        print(
            f"{verb} {len(result['jobs'])} job(s), {len(result['orphan_dirs'])} orphan "
            f"folder(s), {len(result['caches'])} cached ZIP(s) "
            f"({_human_bytes(result['cache_bytes_freed'])}); "
            f"{len(result['missing_files'])} file(s) missing on disk; "
            f"{_human_bytes(result['bytes_freed'])} freed",
            file=out,
        )
        for job in result["jobs"]:
            print(
                f"  {job['job_id']}  {job['status']}  {_human_bytes(job['bytes'])}  "
                f"{job['original_name']}",
                file=out,
            )
    elif command == "health":
        for check in result["checks"]:
            print(f"{check['status'].upper():5}  {check['name']:8}  {check['detail']}", file=out)
        for advice in result["recommendations"]:
            print(f"-> {advice}", file=out)
    elif command == "init":
        print(f"data in {result['data_dir']}, schema version {result['schema_version']}", file=out)
    elif command == "analyze":
        print(
            f"{len(result['files'])} files in {result['out_dir']} ({result['seconds']} s)", file=out
        )


# --- parser -------------------------------------------------------------------------------
JOB_HELP = "the job's ID, as submit and jobs print it"


# argparse builds subcommands through the action registered as 'parsers'; its add_parser is
# the one place that sees both a command's help line and its parser.
class _DescribedCommands(argparse._SubParsersAction):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if "help" in kwargs:
            kwargs.setdefault("description", kwargs["help"])
        return super().add_parser(name, **kwargs)


class CommandParser(argparse.ArgumentParser):
    """A command's own --help opens with the line the command list shows for it. Its
    subcommands are parsers of this class too (add_subparsers takes the parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _DescribedCommands)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON"
    )
    parser = CommandParser(
        prog="python -m backend", parents=[common], description="Courtside: netball video analysis."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", parents=[common], help="create data folders and the database")
    p = sub.add_parser("analyze", parents=[common], help="run the pipeline now, no queue")
    p.add_argument("video", help="the video file, read where it is")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--stride", type=int, help="run the detector on every Nth frame")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("submit", parents=[common], help="copy a video into storage and queue it")
    p.add_argument("video", help="the video file; the copy is analysed, the original may move")
    p.add_argument(
        "--priority",
        default="normal",
        choices=["low", "normal", "high"],
        help="place in the queue (default normal)",
    )
    p.add_argument("--stride", type=int, help="run the detector on every Nth frame")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p = sub.add_parser("jobs", parents=[common], help="list jobs")
    p.add_argument(
        "--status",
        choices=["queued", "running", "completed", "failed", "cancelled"],
        help="only the jobs in this status",
    )
    p.add_argument("--search", help="part of a file name or job id")
    p.add_argument("--page", type=int, default=1, help="which page, newest first (default 1)")
    p.add_argument("--page-size", type=int, default=20, help="jobs a page (default 20)")
    for name, text in (
        ("status", "status, progress, fps, ETA, error"),
        ("cancel", "cancel a queued or running job"),
        ("retry", "queue a failed or cancelled job again"),
        ("delete", "delete a job and its files"),
        ("files", "the job's files with kind and size"),
        ("archive", "build the ZIP of the outputs, print its path"),
        ("reanalyse", "rerun the netball analytics alone on a completed job (no detection)"),
    ):
        sub.add_parser(name, parents=[common], help=text).add_argument("job", help=JOB_HELP)
    p = sub.add_parser("storage", parents=[common], help="disk use and clean-up")
    storage = p.add_subparsers(dest="storage_command", required=True, metavar="stats|cleanup")
    storage.add_parser("stats", parents=[common], help="bytes and files per kind and job")
    c = storage.add_parser("cleanup", parents=[common], help="remove old finished jobs")
    c.add_argument("--older-than-days", type=float, help="finished at least this long ago")
    c.add_argument(
        "--status", action="append", choices=["completed", "failed", "cancelled"], help="repeatable"
    )
    c.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    c.add_argument(
        "--cache-older-than-days",
        type=float,
        help="remove built ZIPs older than this (default NETBALL_CACHE_MAX_AGE_DAYS); "
        "outputs are kept",
    )
    sub.add_parser("health", parents=[common], help="database, queue, workers, model, disk")
    cli_competitions.add_parsers(sub, common)
    cli_calibration.add_parsers(sub, common)
    p = sub.add_parser("serve", parents=[common], help="run the REST API (docs at /docs)")
    p.add_argument("--host", help="listen address (default NETBALL_API_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default NETBALL_API_PORT or 8000)")
    return parser


COMMANDS = {
    "init": cmd_init,
    "analyze": cmd_analyze,
    "submit": cmd_submit,
    "jobs": cmd_jobs,
    "status": cmd_status,
    "cancel": cmd_transition,
    "retry": cmd_transition,
    "delete": cmd_transition,
    "files": cmd_files,
    "archive": cmd_archive,
    "reanalyse": cmd_reanalyse,
    "storage": cmd_storage,
    "health": cmd_health,
    **cli_competitions.COMMANDS,
    **cli_calibration.COMMANDS,
    "serve": cmd_serve,
}


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    as_json = getattr(args, "json", False)
    args.err_stream = err
    from sqlalchemy.exc import SQLAlchemyError

    from backend.services.errors import ServiceError

    try:
        get_settings()
        if args.command not in {"init", "analyze"}:
            from backend.db import init_db

            init_db()
        result = COMMANDS[args.command](args)
    except (ServiceError, CliError, ValueError, OSError, SQLAlchemyError) as exc:
        message = str(exc)
        if isinstance(exc, SQLAlchemyError):
            # The driver's own text, without SQLAlchemy's statement dump and help link.
            reason = getattr(exc, "orig", None) or exc
            message = f"the job database ({get_settings().database_url}) failed: {reason}"
        if as_json:
            failure = {"error": message, "type": type(exc).__name__}
            if hasattr(exc, "to_list"):  # refusals that list each problem (line, reason)
                failure["problems"] = exc.to_list()
            print(json.dumps(failure), file=err)
        else:
            print(f"error: {message}", file=err)
        return EXIT_FAILED
    try:
        if as_json:
            document = (
                result["_json"]
                if "_json" in result
                else {k: v for k, v in result.items() if not k.startswith("_")}
            )
            print(json.dumps(document, indent=2, default=str), file=out)
        else:
            _render(args.command, args, result, out)
        out.flush()
    except BrokenPipeError:
        # The reader (head, grep -q, less) has seen enough and closed the pipe: not an error.
        _silence(out)
        return EXIT_OK
    if args.command == "health" and result["status"] == "error":
        return EXIT_FAILED
    return int(result.get("_exit_code", EXIT_OK))
