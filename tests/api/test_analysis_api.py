"""The analysis endpoints: the analyst's inputs, stored and checked, and stage 2 rerun."""

from __future__ import annotations

import csv

from backend.api.routes_analysis import Reanalysis
from backend.db import session_scope
from backend.models import JobStatus
from backend.services.files import job_outputs_dir, register_outputs
from tests.api.conftest import envelope
from tests.dashboard.factories import analysed_scene
from tests.platform.factories import make_job


def _finished_job() -> str:
    with session_scope() as session:
        job = make_job(session, status=JobStatus.completed)
        analysed_scene().write(job_outputs_dir(job.id))
        register_outputs(session=session, job_id=job.id)
        return job.id


def test_put_inputs_stores_them_and_recomputes(client):
    job_id = _finished_job()
    data = envelope(
        client.put(f"/jobs/{job_id}/analysis", json={"positions": {"2": "WA"}}), Reanalysis
    )
    assert data["job_id"] == job_id and "players.csv" in data["files"]
    with (job_outputs_dir(job_id) / "players.csv").open(newline="") as handle:
        players = {row["track_id"]: row for row in csv.DictReader(handle)}
    assert (players["2"]["position"], players["2"]["position_source"]) == ("WA", "analyst")
    stored = envelope(client.get(f"/jobs/{job_id}/analysis"))
    assert stored["positions"] == {"2": "WA"}


def test_bad_inputs_and_states_get_the_documented_codes(client, make_client):
    job_id = _finished_job()
    error = envelope(
        client.put(f"/jobs/{job_id}/analysis", json={"positions": {"2": "XX"}}), status=422
    )
    assert "position 'XX'" in error["message"]
    error = envelope(client.put(f"/jobs/{job_id}/analysis", json={"colour": "red"}), status=422)
    assert error["code"] == "validation_error"
    with session_scope() as session:
        queued = make_job(session).id
    error = envelope(client.post(f"/jobs/{queued}/reanalyse"), status=409)
    assert "only a completed analysis can be reanalysed" in error["message"]
    assert envelope(client.post("/jobs/nope/reanalyse"), status=404)["code"] == "job_not_found"
    keyed = make_client(NETBALL_API_KEY="secret-key")
    assert envelope(keyed.post(f"/jobs/{job_id}/reanalyse"), status=401)
    done = keyed.post(f"/jobs/{job_id}/reanalyse", headers={"X-API-Key": "secret-key"})
    assert envelope(done, Reanalysis)["counts"]["pass"] == 2
