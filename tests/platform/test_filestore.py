"""The job store: files named by job and relative path, atomic writes, no way out of a job."""

from __future__ import annotations

import pytest

from backend.services.filestore import FolderJobStore, read_text


@pytest.fixture
def store(tmp_path):
    return FolderJobStore(tmp_path / "jobs")


def test_write_list_read_and_remove(store):
    with store.write_atomic("j1", "outputs/tracks.csv") as out:
        out.write(b"frame\n1\n")
    store.append_text("j1", "outputs/run.log", "one\n")
    store.append_text("j1", "outputs/run.log", "two\n")
    assert store.list_files("j1") == ["outputs/run.log", "outputs/tracks.csv"]
    assert store.list_files("j1", "outputs") == ["outputs/run.log", "outputs/tracks.csv"]
    assert (store.size("j1", "outputs/tracks.csv"), read_text(store, "j1", "outputs/run.log")) == (
        8,
        "one\ntwo\n",
    )
    assert store.exists("j1") and store.exists("j1", "outputs/tracks.csv")
    assert not store.exists("j1", "outputs")  # a folder is not a file
    assert store.job_ids() == ["j1"]
    store.remove("j1", "outputs/tracks.csv")
    assert store.list_files("j1") == ["outputs/run.log"]
    store.remove("j1")
    assert store.job_ids() == [] and store.list_files("j1") == []


def test_a_failed_write_leaves_the_old_file_and_no_partial(store):
    with store.write_atomic("j1", "a.zip") as out:
        out.write(b"old")
    with pytest.raises(RuntimeError), store.write_atomic("j1", "a.zip") as out:
        out.write(b"half of the new")
        raise RuntimeError("disk went away")
    assert read_text(store, "j1", "a.zip") == "old"
    assert store.list_files("j1") == ["a.zip"]


@pytest.mark.parametrize("relpath", ["../other/x.csv", "/etc/passwd", "outputs/../../x"])
def test_paths_cannot_leave_the_job(store, relpath):
    with pytest.raises(ValueError, match="must stay inside the job"):
        store.exists("j1", relpath)
