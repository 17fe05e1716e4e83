"""Node and device health over HTTP after a real ICMP poll on loopback."""

import asyncio

from daemon.polling import poll_icmp


def _node_with_devices(api, nn, addresses):
    node = api.create(
        "nodes", {"network_number": nn, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    devices = [
        api.create(
            "devices",
            {
                "node": node["id"],
                "name": f"nycmesh-{nn}-{i}",
                **({"management_address": a} if a else {}),
            },
        )
        for i, a in enumerate(addresses)
    ]
    return node, devices


def test_node_health_after_a_poll(api, sessions, settings):
    node, devices = _node_with_devices(api, 492, ["127.0.0.2", None])
    outcome = asyncio.run(poll_icmp(sessions, settings))
    assert outcome.devices == 2
    body = api.get("/api/v1/nodes/492/health/", role="read_only").json()
    assert body["recorded_status"] == "Active"
    assert body["observed_status"] == "up"
    assert body["since"] is not None and body["rtt_ms"]["avg"] is not None
    by_name = {d["name"]: d for d in body["devices"]}
    assert by_name["nycmesh-492-0"]["observed_status"] == "up"
    assert by_name["nycmesh-492-0"]["address"] == "127.0.0.2"
    # No management address: the node's router address 10.69.4.92, which the guard refuses.
    assert by_name["nycmesh-492-1"]["observed_status"] == "unknown"
    assert by_name["nycmesh-492-1"]["last_error"] == "not allowed"
    assert api.get("/api/v1/nodes/492/").json()["observed"]["status"] == "up"
    record = api.get(f"/api/v1/devices/{devices[0]['id']}/").json()
    assert record["observed"]["status"] == "up" and record["observed"]["address"] == "127.0.0.2"
    one = api.get(f"/api/v1/devices/{devices[0]['id']}/health/").json()
    assert one["observed_status"] == "up" and one["packet_loss"] == 0.0


def test_health_list_filters_by_observed_and_recorded(api, sessions, settings):
    _node_with_devices(api, 10, ["127.0.0.3"])
    _node_with_devices(api, 20, [None])
    api.create(
        "nodes", {"network_number": 30, "status": "Planned", "latitude": 40.7, "longitude": -73.9}
    )
    asyncio.run(poll_icmp(sessions, settings))
    up = api.get("/api/v1/health/?observed_status=up").json()
    assert [r["network_number"] for r in up["results"]] == [10]
    unknown = api.get("/api/v1/health/?observed_status=unknown&recorded_status=Active").json()
    assert [r["network_number"] for r in unknown["results"]] == [20]
    pending = api.get("/api/v1/health/?observed_status=pending").json()
    assert [r["network_number"] for r in pending["results"]] == [30]
    assert api.get("/api/v1/health/?observed_status=sideways").status_code == 422


def test_health_needs_a_token_and_a_node(api):
    assert api.get("/api/v1/nodes/1/health/", role=None).status_code == 401
    assert api.get("/api/v1/nodes/1/health/").status_code == 404
