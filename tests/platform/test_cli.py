"""`python -m backend ...`: output, --json, errors on stderr with exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from backend.config import get_settings
from backend.models import JobStatus
from tests.platform.factories import OUTPUT_FILES, make_job
from tests.synthetic import make_corrupt_file, make_plain_clip

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> dict:
    code, out, err = run_cli(*argv, "--json")
    assert code == EXIT_OK, err
    return json.loads(out)


def test_submit_then_inspect_with_json(data_dir, tmp_path):
    clip = make_plain_clip(tmp_path / "game.mp4", frames=8)
    submitted = run_json("submit", str(clip), "--priority", "high", "--imgsz", "320")
    job_id = submitted["job_id"]
    assert submitted["status"] == "queued" and submitted["priority"] == "high"
    status = run_json("status", job_id)
    assert (status["id"], status["original_name"], status["settings"]) == (
        job_id, "game.mp4", {"imgsz": 320})  # fmt: skip
    listed = run_json("jobs", "--status", "queued")
    assert listed["total"] == 1 and listed["jobs"][0]["id"] == job_id
    files = run_json("files", job_id)["files"]
    assert [(f["kind"], f["relpath"]) for f in files] == [("video", "input/game.mp4")]
    assert run_json("cancel", job_id)["status"] == "cancelled"
    assert run_json("retry", job_id)["status"] == "queued"
    assert run_json("delete", job_id) == {"job_id": job_id, "deleted": True}


def test_readable_output(session):
    job = make_job(session, status=JobStatus.completed, name="final.mp4", outputs=OUTPUT_FILES)
    code, out, _ = run_cli("jobs")
    assert code == EXIT_OK
    assert out.splitlines()[0].split() == [
        "ID", "STATUS", "PRIORITY", "PROGRESS", "CREATED", "NAME", "ERROR"]  # fmt: skip
    assert job.id in out and "final.mp4" in out and "1 job(s), page 1 of 1" in out
    code, out, _ = run_cli("archive", job.id)
    assert code == EXIT_OK and Path(out.strip()).is_file()
    code, out, _ = run_cli("files", job.id)
    assert "outputs/tracks.csv" in out and "archive" in out
    code, out, _ = run_cli("storage", "stats")
    assert code == EXIT_OK and "files" in out


def test_storage_cleanup_dry_run_and_real(session):
    from datetime import timedelta

    job = make_job(session, status=JobStatus.failed, outputs=OUTPUT_FILES, age=timedelta(days=9))
    report = run_json("storage", "cleanup", "--older-than-days", "7", "--dry-run")
    assert report["dry_run"] and [j["job_id"] for j in report["jobs"]] == [job.id]
    code, out, _ = run_cli("storage", "cleanup", "--older-than-days", "7")
    assert code == EXIT_OK and out.startswith("removed 1 job(s)")
    assert run_json("jobs")["total"] == 0


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["status", "nope"], EXIT_FAILED, "error: job not found: 'nope'"),
        (["cancel", "nope"], EXIT_FAILED, "job not found"),
        (["archive", "nope"], EXIT_FAILED, "job not found"),
        (["submit", "/does/not/exist.mp4"], EXIT_FAILED, "file not found"),
        (["submit", "x.mp4", "--priority", "urgent"], EXIT_USAGE, "invalid choice: 'urgent'"),
        (["jobs", "--page", "0"], EXIT_FAILED, "page must be 1 or more"),
        (["frobnicate"], EXIT_USAGE, "invalid choice: 'frobnicate'"),
    ],
)
def test_errors_go_to_stderr_with_exit_code(data_dir, capsys, argv, code, message):
    result, out, err = run_cli(*argv)
    err += capsys.readouterr().err  # argparse writes usage errors itself
    assert result == code
    assert message in err and out == ""


def test_refused_transition_json_error(session, tmp_path):
    job = make_job(session, status=JobStatus.completed)
    code, out, err = run_cli("retry", job.id, "--json")
    assert code == EXIT_FAILED and out == ""
    assert json.loads(err) == {
        "error": f"job {job.id} is completed; only failed or cancelled jobs can be retried",
        "type": "JobStateError",
    }
    bad = make_corrupt_file(tmp_path / "bad.mp4")
    code, _, err = run_cli("submit", str(bad))
    assert code == EXIT_FAILED and "not a readable video" in err
    assert run_json("jobs")["total"] == 1


def test_submit_in_a_real_process_is_quick(data_dir, tmp_path):
    """The CLI as an analyst runs it; wall time includes interpreter start and imports."""
    clip = make_plain_clip(tmp_path / "clip.mp4", frames=10)
    env = {**os.environ, "NETBALL_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "backend", "submit", str(clip)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip()) == 12
    assert elapsed < 10, f"submit took {elapsed:.2f} s"
    print(f"\nsubmit wall time: {elapsed:.3f} s")


def test_analyze_runs_the_pipeline_with_progress_and_log(tmp_path):
    from tests.synthetic import make_match_clip

    clip = make_match_clip(tmp_path / "game.mp4", seconds=1, size=(320, 180)).path
    out_dir = tmp_path / "result"
    code, out, err = run_cli("analyze", str(clip), "--out", str(out_dir), "--imgsz", "320",
                             "--stride", "2")  # fmt: skip
    assert code == EXIT_OK, err
    assert "25/25 frames" in err and "fps" in err  # the progress bar reached the end
    assert {"annotated.mp4", "tracks.csv", "summary.json", "run.log"} <= {
        p.name for p in out_dir.iterdir()
    }
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["settings"]["imgsz"] == 320 and summary["settings"]["frame_stride"] == 2
    assert "analysis finished" in (out_dir / "run.log").read_text()
    assert out.strip().endswith("s)") and str(out_dir) in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "not a readable video"),
        (["--imgsz", "300"], "imgsz must be a multiple of 32"),
        (["--stride", "0"], "frame_stride must be between 1 and 10, got 0"),
        (["--imgsz", "0"], "imgsz must be between 128 and 1920, got 0"),
    ],
)
def test_analyze_refuses_bad_input(tmp_path, extra, message):
    bad = make_corrupt_file(tmp_path / "bad.mp4")
    out_dir = tmp_path / "result"
    code, out, err = run_cli("analyze", str(bad), "--out", str(out_dir), *extra)
    assert code == EXIT_FAILED and message in err and out == ""


def test_submit_refuses_a_zero_stride_instead_of_ignoring_it(data_dir, tmp_path):
    clip = make_plain_clip(tmp_path / "game.mp4", frames=8)
    code, out, err = run_cli("submit", str(clip), "--stride", "0")
    assert code == EXIT_FAILED and out == ""
    assert "frame_stride must be between 1 and 10, got 0" in err
    assert run_json("jobs")["total"] == 0


def test_an_unopenable_database_is_a_message_not_a_traceback(data_dir, monkeypatch, tmp_path):
    from backend.config import get_settings
    from backend.db import reset_engines

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}")  # a folder, not a file
    get_settings.cache_clear()
    reset_engines()
    code, out, err = run_cli("jobs")
    assert code == EXIT_FAILED and out == ""
    assert err == f"error: the job database (sqlite:///{tmp_path}) failed: " + (
        "unable to open database file\n"
    )


def test_status_says_which_phase_a_running_job_is_in(session):
    job = make_job(session, status=JobStatus.running, phase="loading_model", frames_total=240)
    assert run_json("status", job.id)["phase"] == "loading_model"
    code, out, _ = run_cli("status", job.id)
    assert code == EXIT_OK
    assert "phase: loading_model (loading the detector)" in out
    assert "0/240 frames" in out


@pytest.mark.parametrize(
    "reader",
    [
        "closed at once",  # like `grep -q` that matched, or `less` quit before output came
        "head -n 2",
    ],
)
def test_piping_into_a_reader_that_stops_early_ends_quietly(session, reader):
    """A real pipe: the reader closes its end while the CLI still writes."""
    for n in range(200):  # some 150 KB of JSON, more than a pipe holds
        make_job(session, name=f"match-{n:03d}.mp4")
    env = {**os.environ, "NETBALL_DATA_DIR": str(get_settings().data_dir)}
    command = [sys.executable, "-m", "backend", "jobs", "--json", "--page-size", "200"]
    if reader == "head -n 2":
        done = subprocess.run(
            ["bash", "-c", 'set -o pipefail; "$@" | head -n 2 >/dev/null', "bash", *command],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        code, stderr = done.returncode, done.stderr
    else:
        proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert stderr == ""
    assert code == EXIT_OK


@pytest.mark.parametrize(
    ("argv", "description", "argument"),
    [
        (["status"], "status, progress, fps, ETA, error", "the job's ID"),
        (["submit"], "copy a video into storage and queue it", "the copy is analysed"),
        (["storage", "cleanup"], "remove old finished jobs", "--dry-run"),
        (["competition", "adjust"], "add or deduct a team's points", "the league's reason"),
        (["calibrate"], "fit, check and save the court calibration", "the job's ID"),
    ],
)
def test_each_command_help_says_what_it_does_and_what_it_takes(capsys, argv, description, argument):
    assert main([*argv, "--help"]) == EXIT_OK
    paragraphs = [" ".join(p.split()) for p in capsys.readouterr().out.split("\n\n")]
    assert paragraphs[1] == description  # right under the usage line
    assert any(argument in p for p in paragraphs[2:])
