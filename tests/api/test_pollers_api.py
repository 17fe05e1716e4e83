"""Poller groups on records, and the pollers list, over HTTP."""

from datetime import UTC, datetime, timedelta

from ipam.db import transaction
from ipam.pollers import leases
from ipam.pollers.shares import PollerSpec


def test_a_node_and_a_device_take_a_poller_group(api):
    node = api.create(
        "nodes",
        {
            "network_number": 91,
            "poller_group": "east",
            "status": "Planned",
            "latitude": 40.7,
            "longitude": -73.9,
        },
    )
    assert node["poller_group"] == "east"
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    assert device["poller_group"] is None
    changed = api.patch(f"/api/v1/devices/{device['id']}/", json={"poller_group": "lab"})
    assert changed.status_code == 200 and changed.json()["poller_group"] == "lab"
    assert api.get("/api/v1/nodes/91/").json()["poller_group"] == "east"
    long = api.patch(f"/api/v1/nodes/{node['id']}/", json={"poller_group": "x" * 101})
    assert long.status_code == 422


def test_the_pollers_list_says_who_is_alive_and_what_each_holds(api, sessions):
    now = datetime.now(UTC)
    node = api.create(
        "nodes", {"network_number": 92, "status": "Planned", "latitude": 40.7, "longitude": -73.9}
    )
    device = api.create("devices", {"node": node["id"], "name": "omni"})
    with transaction(sessions) as session:
        leases.heartbeat(session, PollerSpec("core-1"), now)
        leases.heartbeat(session, PollerSpec("east-1", "east", ("10.96.0.0/16",)), now)
        leases.heartbeat(session, PollerSpec("gone"), now - timedelta(hours=1))
        stale = leases.stale_before(now, 5.0)
        held = leases.claim(session, "icmp", "core-1", [device["id"]], now, 60, stale)
        assert [str(d) for d in held] == [device["id"]]
        # Held by a live poller: nobody else may take it this cycle.
        assert not leases.claim(session, "icmp", "east-1", [device["id"]], now, 60, stale)
        # A lease of a poller whose heartbeat went stale is free at once.
        other = api.create("devices", {"node": node["id"], "name": "sector"})["id"]
        long_ago = now - timedelta(days=1)
        assert leases.claim(session, "icmp", "gone", [other], now, 60, long_ago)
        assert leases.claim(session, "icmp", "core-1", [other], now, 60, stale)
    assert api.get("/api/v1/pollers/", role=None).status_code == 401
    body = api.get("/api/v1/pollers/", role="read_only").json()
    listed = {p["name"]: p for p in body["results"]}
    assert body["count"] == 3
    assert listed["core-1"]["alive"] and listed["core-1"]["holds"] == 2
    assert listed["east-1"]["poller_group"] == "east"
    assert listed["east-1"]["networks"] == ["10.96.0.0/16"]
    assert not listed["gone"]["alive"] and listed["gone"]["holds"] == 0
