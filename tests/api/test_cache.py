"""Cached read answers follow every change: record edits (events) and new observations."""

import uuid
from datetime import UTC, datetime, timedelta

from daemon.observe import DeviceResult, apply_ping_results
from ipam.db import transaction
from ipam.enums import ObservedStatus as S


def _poll(sessions, device_id, rtt, at):
    with transaction(sessions) as session:
        apply_ping_results(
            session, [DeviceResult(uuid.UUID(device_id), S.UP, "127.0.0.9", rtt, rtt, rtt, 0.0)], at
        )


def test_a_record_edit_shows_at_once(api):
    node = api.create(
        "nodes",
        {
            "network_number": 77,
            "name": "before",
            "status": "Planned",
            "latitude": 40.7,
            "longitude": -73.9,
        },
    )
    assert api.get("/api/v1/nodes/77/").json()["name"] == "before"
    assert api.get("/api/v1/nodes/?page_size=5").json()["results"][0]["name"] == "before"
    api.patch(f"/api/v1/nodes/{node['id']}/", json={"name": "after"})
    assert api.get("/api/v1/nodes/77/").json()["name"] == "after"
    assert api.get("/api/v1/nodes/?page_size=5").json()["results"][0]["name"] == "after"
    assert api.get("/api/v1/nodes/lookup/?name=aft").json()["count"] == 1


def test_a_new_measurement_without_a_transition_shows_at_once(api, sessions):
    node = api.create(
        "nodes", {"network_number": 78, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    start = datetime.now(UTC)
    _poll(sessions, device["id"], 1.5, start)
    first = api.get("/api/v1/nodes/78/health/").json()
    assert first["devices"][0]["rtt_ms"]["avg"] == 1.5
    assert api.get(f"/api/v1/devices/{device['id']}/").json()["observed"]["rtt_ms"]["avg"] == 1.5
    _poll(sessions, device["id"], 9.25, start + timedelta(minutes=1))  # still up: no event
    assert api.get("/api/v1/nodes/78/health/").json()["devices"][0]["rtt_ms"]["avg"] == 9.25
    assert api.get(f"/api/v1/devices/{device['id']}/").json()["observed"]["rtt_ms"]["avg"] == 9.25


def test_every_caller_is_still_checked(api):
    api.create(
        "nodes", {"network_number": 79, "status": "Planned", "latitude": 40.7, "longitude": -73.9}
    )
    assert api.get("/api/v1/nodes/79/").status_code == 200
    assert api.get("/api/v1/nodes/79/", role=None).status_code == 401
    assert api.get("/api/v1/nodes/79/", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.get("/api/v1/nodes/79/", role="read_only").status_code == 200


def test_a_poll_keeps_the_record_part_and_fills_what_the_rows_hold(api, sessions):
    from ipam import models as m
    from ipam.records.changes import jsonable

    node = api.create(
        "nodes", {"network_number": 81, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    start = datetime.now(UTC).replace(microsecond=123456)
    _poll(sessions, device["id"], 2.5, start)
    cache = api.client.app.state.response_cache
    body = api.get(f"/api/v1/devices/{device['id']}/").json()
    stored = dict(cache._entries)
    with transaction(sessions) as session:
        row = session.get(m.DeviceObservation, uuid.UUID(device["id"]))
        expected = {
            "status": "up",
            "since": jsonable(row.since),
            "first_seen": jsonable(row.first_seen),
            "last_seen": jsonable(row.last_seen),
            "rtt_ms": {"min": 2.5, "avg": 2.5, "max": 2.5},
            "packet_loss": 0.0,
            "address": "127.0.0.9",
            "uptime_s": None,
            "last_error": None,
            # No source has named a model or firmware yet (issue 14: each source kept apart).
            "model": None,
            "model_source": None,
            "models": {"uisp": None, "snmp": None, "snmp_object": None},
            "firmware": None,
            "firmware_source": None,
            "firmwares": {"uisp": None, "snmp": None},
        }
    assert body["observed"] == expected
    # The stored record part names the observation instead of holding it.
    assert all(b'"$observed":"device:' in part for _, part, _etag in stored.values())
    _poll(sessions, device["id"], 7.0, start + timedelta(minutes=1))
    assert api.get(f"/api/v1/devices/{device['id']}/").json()["observed"]["rtt_ms"]["avg"] == 7.0
    assert dict(cache._entries) == stored  # a poll recomputed no record answer
    health = api.get(f"/api/v1/devices/{device['id']}/health/").json()
    assert health["address"] == "127.0.0.9" and health["rtt_ms"]["avg"] == 7.0


def test_a_write_answers_with_the_observed_block(api, sessions):
    node = api.create(
        "nodes", {"network_number": 82, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    assert device["observed"]["status"] == "pending"
    _poll(sessions, device["id"], 3.0, datetime.now(UTC))
    changed = api.patch(f"/api/v1/devices/{device['id']}/", json={"name": "omni-2"})
    assert changed.status_code == 200
    assert changed.json()["observed"]["rtt_ms"]["avg"] == 3.0
    assert api.get("/api/v1/nodes/82/").json()["observed"]["status"] == "up"


def test_a_status_event_keeps_record_answers_and_health_follows_it(api, sessions):
    node = api.create(
        "nodes", {"network_number": 83, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    start = datetime.now(UTC)
    _poll(sessions, device["id"], 2.0, start)
    assert api.get("/api/v1/nodes/83/").json()["observed"]["status"] == "up"
    assert api.get("/api/v1/nodes/83/health/").json()["devices"][0]["observed_status"] == "up"
    cache = api.client.app.state.response_cache
    node_url = next(k for k in cache._entries if k.endswith("/api/v1/nodes/83/"))
    health_url = next(k for k in cache._entries if k.endswith("/api/v1/nodes/83/health/"))
    record_part, health_part = cache._entries[node_url], cache._entries[health_url]
    # Down twice (MESHKEEPER_DOWN_AFTER): a device.status_changed event, which is no record change.
    for minutes in (1, 2):
        with transaction(sessions) as session:
            apply_ping_results(
                session,
                [DeviceResult(uuid.UUID(device["id"]), S.DOWN, "127.0.0.9")],
                start + timedelta(minutes=minutes),
            )
    assert api.get("/api/v1/nodes/83/").json()["observed"]["status"] == "down"
    assert cache._entries[node_url] == record_part  # the same stored bytes, not recomputed
    assert api.get("/api/v1/nodes/83/health/").json()["devices"][0]["observed_status"] == "down"
    assert cache._entries[health_url][0] > health_part[0]  # health reads what events follow
    # A record change anywhere is followed by every record answer.
    api.patch(f"/api/v1/devices/{device['id']}/", json={"name": "omni-2"})
    assert api.get("/api/v1/nodes/83/").json()  # recomputed at the new record version
    assert cache._entries[node_url][0] > record_part[0]


def test_a_series_follows_each_poll(api, sessions):
    node = api.create(
        "nodes", {"network_number": 84, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    start = datetime.now(UTC) - timedelta(minutes=5)
    url = f"/api/v1/devices/{device['id']}/series/?metric=rtt_avg_ms"
    _poll(sessions, device["id"], 1.0, start)
    assert [p["value"] for p in api.get(url).json()["points"]] == [1.0]
    _poll(sessions, device["id"], 4.0, start + timedelta(minutes=1))  # still up: no event
    assert [p["value"] for p in api.get(url).json()["points"]] == [1.0, 4.0]
