"""POST/GET /jobs/{id}/calibration: the same fit, checks and saving as the CLI."""

from __future__ import annotations

import pytest

from tests.platform.test_calibration_service import CORNERS, _scene_points, _uncalibrated_job


@pytest.fixture
def finished_job(session):
    return _uncalibrated_job(session)


def test_api_calibration_endpoints(client, session, finished_job):
    response = client.get(f"/jobs/{finished_job.id}/calibration")
    data = response.json()["data"]
    assert response.status_code == 200 and data["calibration"] is None
    assert data["landmarks"]["centre"]["court_m"] == [15.25, 7.625]
    body = {"points": _scene_points(), "coverage": False}
    response = client.post(f"/jobs/{finished_job.id}/calibration", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "ok" and response.json()["data"]["saved"]
    saved = client.get(f"/jobs/{finished_job.id}/calibration").json()["data"]["calibration"]
    assert saved["status"] == "ok" and len(saved["points"]) == 4
    refused = client.post(
        f"/jobs/{finished_job.id}/calibration", json={"points": _scene_points(CORNERS[:2])}
    )
    assert refused.status_code == 200 and refused.json()["data"]["status"] == "refused"
    missing = client.post("/jobs/nope/calibration", json=body)
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_api_write_needs_the_key(make_client, session, finished_job):
    client = make_client(NETBALL_API_KEY="secret")
    body = {"points": _scene_points(), "coverage": False}
    assert client.post(f"/jobs/{finished_job.id}/calibration", json=body).status_code == 401
    response = client.post(
        f"/jobs/{finished_job.id}/calibration", json=body, headers={"X-API-Key": "secret"}
    )
    assert response.status_code == 200 and response.json()["data"]["saved"] is True
