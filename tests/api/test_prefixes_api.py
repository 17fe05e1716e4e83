"""Static prefixes and allocations over HTTP, on the seeded NYC Mesh ranges."""

import asyncio

import httpx


def _prefix(api, cidr):
    found = api.get(f"/api/v1/prefixes/lookup/?contains={cidr.split('/')[0]}").json()["results"]
    return next(p for p in found if p["cidr"] == cidr)


def test_seeded_ranges_are_there(api):
    body = api.get("/api/v1/prefixes/?page_size=100", role="read_only").json()
    cidrs = {p["cidr"] for p in body["results"]}
    assert {"10.70.0.0/16", "10.10.10.0/24", "10.69.0.0/16"} <= cidrs


def test_allocate_first_free_address_and_first_free_slash31_for_a_link(api):
    loopbacks = _prefix(api, "10.70.240.0/20")
    first = api.post(f"/api/v1/prefixes/{loopbacks['id']}/allocate/", json={}, role="installer")
    assert first.status_code == 201, first.text
    assert first.json()["address"] == "10.70.240.1/32"
    second = api.post(f"/api/v1/prefixes/{loopbacks['id']}/allocate/", json={}).json()
    assert second["address"] == "10.70.240.2/32"
    p2p = _prefix(api, "10.70.208.0/20")
    node = api.create(
        "nodes", {"network_number": 10, "status": "Planned", "latitude": 40.7, "longitude": -73.9}
    )
    a = api.create("devices", {"node": node["id"], "name": "a"})
    b = api.create("devices", {"node": node["id"], "name": "b"})
    link = api.create("links", {"from_device": a["id"], "to_device": b["id"], "status": "Active"})
    made = api.post(f"/api/v1/prefixes/{p2p['id']}/allocate/", json={"link": link["id"]}).json()
    assert made["address"] == "10.70.208.0/31" and made["link"]["id"] == link["id"]
    again = api.post(f"/api/v1/prefixes/{p2p['id']}/allocate/", json={"link": link["id"]}).json()
    assert again["address"] == "10.70.208.2/31"


def test_overlap_and_outside_are_refused(api):
    anycast = _prefix(api, "10.10.10.0/24")
    ok = api.post(
        "/api/v1/ip-allocations/", json={"prefix": anycast["id"], "address": "10.10.10.10"}
    )
    assert ok.status_code == 201 and ok.json()["address"] == "10.10.10.10/32"
    dup = api.post(
        "/api/v1/ip-allocations/", json={"prefix": anycast["id"], "address": "10.10.10.10/32"}
    )
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "address"
    wider = api.post(
        "/api/v1/ip-allocations/", json={"prefix": anycast["id"], "address": "10.10.10.8/29"}
    )
    assert wider.status_code == 409
    outside = api.post(
        "/api/v1/ip-allocations/", json={"prefix": anycast["id"], "address": "10.20.0.1"}
    )
    assert outside.status_code == 422
    bad = api.post("/api/v1/prefixes/", json={"cidr": "10.99.0.1/16", "role": "x"})
    assert bad.status_code == 422


def test_lookup_of_an_address_in_a_static_prefix(api):
    anycast = _prefix(api, "10.10.10.0/24")
    api.post("/api/v1/ip-allocations/", json={"prefix": anycast["id"], "address": "10.10.10.10"})
    body = api.get("/api/v1/addressing/lookup/?ip=10.10.10.10").json()
    assert body["role"] == "anycast" and body["prefix"]["cidr"] == "10.10.10.0/24"
    assert body["allocation"]["address"] == "10.10.10.10/32"
    plain = api.get("/api/v1/addressing/lookup/?ip=10.10.10.11").json()
    assert plain["allocation"] is None
    assert api.get("/api/v1/addressing/lookup/?ip=192.0.2.1").status_code == 404
    assert api.get("/api/v1/addressing/lookup/?ip=not-an-ip").status_code == 422


def test_a_prefix_in_use_cannot_be_deleted(api):
    anycast = _prefix(api, "10.10.10.0/24")
    api.post("/api/v1/ip-allocations/", json={"prefix": anycast["id"], "address": "10.10.10.10"})
    refused = api.delete(f"/api/v1/prefixes/{anycast['id']}/")
    assert refused.status_code == 409 and "ip-allocations" in refused.json()["detail"]


def test_simultaneous_allocations_never_collide(api, live_api):
    loopbacks = _prefix(api, "10.70.240.0/20")
    base_url, tokens = live_api

    async def run():
        headers = {"Authorization": f"Bearer {tokens['admin']}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
            path = f"/api/v1/prefixes/{loopbacks['id']}/allocate/"
            return await asyncio.gather(*(client.post(path, json={}) for _ in range(30)))

    answers = asyncio.run(run())
    assert all(a.status_code == 201 for a in answers), {a.status_code for a in answers}
    assert len({a.json()["address"] for a in answers}) == 30
