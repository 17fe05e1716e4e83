"""GET /api/v1/devices/<id>/series/: real polls in, points out; bad input is a 422, never a 500."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from daemon.observe import DeviceResult, apply_ping_results
from daemon.polling import poll_icmp
from ipam.db import transaction
from ipam.enums import ObservedStatus as S
from ipam.observed.series_rules import METRICS


def _device(api, nn=492, address="127.0.0.2"):
    node = api.create(
        "nodes", {"network_number": nn, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    return api.create(
        "devices", {"node": node["id"], "name": f"nycmesh-{nn}", "management_address": address}
    )


def _url(device, **query):
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/api/v1/devices/{device['id']}/series/?{params}"


def test_two_real_polls_are_two_raw_points(api, sessions, settings):
    device = _device(api)
    for _ in range(2):
        asyncio.run(poll_icmp(sessions, settings))
    body = api.get(_url(device, metric="rtt_avg_ms"), role="read_only").json()
    assert body["metric"] == "rtt_avg_ms" and body["source"] == "raw" and body["step"] is None
    assert len(body["points"]) == 2
    assert all(p["value"] > 0 for p in body["points"])
    loss = api.get(_url(device, metric="packet_loss"), role="read_only").json()
    assert [p["value"] for p in loss["points"]] == [0.0, 0.0]


def test_three_polls_at_a_five_minute_step(api, sessions):
    device = _device(api)
    now = datetime.now(UTC)
    # A whole 5-minute bucket that ended before now, so all three polls fall in it.
    start = datetime.fromtimestamp(now.timestamp() // 300 * 300 - 600, UTC)
    for i, rtt in enumerate([10.0, 20.0, 60.0]):
        with transaction(sessions) as session:
            result = DeviceResult(uuid.UUID(device["id"]), S.UP, rtt_avg_ms=rtt, packet_loss=0.0)
            apply_ping_results(session, [result], start + timedelta(minutes=i))
    since = start.isoformat().replace("+00:00", "Z")
    body = api.get(_url(device, metric="rtt_avg_ms", since=since, step="5m")).json()
    assert body["step"] == 300 and body["source"] == "5m"
    assert body["points"] == [
        {"at": start.isoformat(), "min": 10.0, "avg": 30.0, "max": 60.0, "n": 3}
    ]
    again = api.get(_url(device, metric="rtt_avg_ms", since=since, step="300")).json()
    assert (again["step"], again["points"]) == (300, body["points"])
    seconds = api.get(_url(device, metric="rtt_avg_ms", since=since, step="60")).json()
    assert seconds["source"] == "raw"
    assert [p["avg"] for p in seconds["points"]] == [10.0, 20.0, 60.0]


def test_bad_input_is_422_and_an_unknown_device_404(api):
    device = _device(api)
    response = api.get(_url(device, metric="rtt"))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "metric" and error["allowed"] == list(METRICS)
    assert api.get(f"/api/v1/devices/{device['id']}/series/").status_code == 422  # no metric
    for query in (
        {"metric": "rtt_avg_ms", "step": "5x"},
        {"metric": "rtt_avg_ms", "step": "0"},
        {"metric": "rtt_avg_ms", "since": "yesterday"},
        {"metric": "rtt_avg_ms", "since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"metric": "rtt_avg_ms", "since": "2020-01-01T00:00:00Z", "step": "1"},  # too many points
        {"metric": "rtt_avg_ms", "since": "0001-01-01T00:00:00Z"},
        {"metric": "rtt_avg_ms", "until": "9999-12-31T23:59:59Z"},
        {"metric": "rtt_avg_ms", "step": "99999999999999d"},
    ):
        response = api.get(_url(device, **query))
        assert response.status_code == 422, (query, response.text)
    missing = api.get(f"/api/v1/devices/{uuid.uuid4()}/series/?metric=rtt_avg_ms")
    assert missing.status_code == 404
    assert api.get(_url(device, metric="rtt_avg_ms"), role=None).status_code == 401
