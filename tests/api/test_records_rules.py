"""The rules over the records: refused deletes, both sides of node-building, numbers, shapes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import builders as b


@pytest.fixture(scope="module")
def env(engine, tmp_path_factory) -> Any:
    """An API for the module; each test builds the records it needs."""
    with b.shared_api(engine, tmp_path_factory.mktemp("rules")) as api:
        yield {"api": api, "engine": engine}


def _refused(response: Any, *labels: str) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["errors"][0]["field"] == "id"
    for label in labels:
        assert label in body["referenced_by"], body
        assert label in body["detail"]
    return body


# --- deletes never cascade ----------------------------------------------------------------


def test_member_with_installs_is_not_deleted(env):
    api = env["api"]
    w = b.world(api, nn=401)
    member = w["members"]
    body = _refused(api.delete(f"/api/v1/members/{member['id']}/"), "installs")
    assert body["referenced_by"]["installs"] == [w["installs"]["install_number"]]
    assert str(w["installs"]["install_number"]) in body["detail"]
    assert api.get(f"/api/v1/installs/{w['installs']['id']}/").status_code == 200

    helper = b.member(api, "Helper")
    api.patch(
        f"/api/v1/installs/{w['installs']['id']}/", json={"additional_members": [helper["id"]]}
    ).raise_for_status()
    _refused(api.delete(f"/api/v1/members/{helper['id']}/"), "installs (as additional member)")

    assert api.delete(f"/api/v1/installs/{w['installs']['id']}/").status_code == 204
    assert api.delete(f"/api/v1/members/{member['id']}/").status_code == 204
    assert api.delete(f"/api/v1/members/{helper['id']}/").status_code == 204
    assert api.get(f"/api/v1/members/{member['id']}/").status_code == 404


def test_building_with_installs_or_lines_of_sight_is_not_deleted(env):
    api = env["api"]
    w = b.world(api, nn=402)
    path = f"/api/v1/buildings/{w['buildings']['id']}/"
    body = _refused(api.delete(path), "installs", "loses")
    assert body["referenced_by"]["loses"] == [w["loses"]["id"]]
    _refused(api.delete(f"/api/v1/buildings/{w['other_building']['id']}/"), "loses")
    assert api.get(path).status_code == 200
    assert api.get(f"/api/v1/loses/{w['loses']['id']}/").status_code == 200


def test_node_with_devices_installs_and_buildings_is_not_deleted(env):
    api = env["api"]
    w = b.world(api, nn=403)
    path = f"/api/v1/nodes/{w['nodes']['id']}/"
    body = _refused(
        api.delete(path), "installs", "devices", "buildings", "buildings (as primary node)"
    )
    assert body["referenced_by"]["installs"] == [w["installs"]["install_number"]]
    assert set(body["referenced_by"]["devices"]) == {
        w[k]["id"] for k in ("devices", "sectors", "accesspoints")
    }
    assert body["referenced_by"]["buildings"] == [w["buildings"]["id"]]
    # By its network number too, and nothing went away.
    _refused(api.delete("/api/v1/nodes/403/"), "devices")
    for resource in ("installs", "devices", "sectors", "accesspoints", "buildings"):
        assert api.get(f"/api/v1/{resource}/{w[resource]['id']}/").status_code == 200
    assert api.get(path).json()["devices"]


def test_device_with_links_is_not_deleted_under_any_of_its_names(env):
    api = env["api"]
    w = b.world(api, nn=404)
    link = w["links"]["id"]
    _refused(api.delete(f"/api/v1/devices/{w['devices']['id']}/"), "links")
    _refused(api.delete(f"/api/v1/sectors/{w['sectors']['id']}/"), "links")
    _refused(api.delete(f"/api/v1/devices/{w['sectors']['id']}/"), "links")
    assert api.delete(f"/api/v1/links/{link}/").status_code == 204
    assert api.delete(f"/api/v1/devices/{w['sectors']['id']}/").status_code == 204
    assert api.get(f"/api/v1/sectors/{w['sectors']['id']}/").status_code == 404
    assert api.delete(f"/api/v1/accesspoints/{w['accesspoints']['id']}/").status_code == 204


def test_deleting_a_building_only_unlinks_its_nodes(env):
    api = env["api"]
    node = b.node(api, 405)
    building = b.building(api, "1 Lonely Street", primary_node=node["id"])
    assert api.delete(f"/api/v1/buildings/{building['id']}/").status_code == 204
    got = api.get("/api/v1/nodes/405/").json()
    assert got["id"] == node["id"] and got["buildings"] == []


# --- node <-> building ---------------------------------------------------------------------


def test_node_building_written_from_the_node_side(env):
    api = env["api"]
    one, two = b.building(api, "1 Side Street"), b.building(api, "2 Side Street")
    node = b.node(api, 406, buildings=[one["id"], {"id": two["id"]}])
    assert {x["id"] for x in node["buildings"]} == {one["id"], two["id"]}
    for building in (one, two):
        got = api.get(f"/api/v1/buildings/{building['id']}/").json()
        assert got["nodes"] == [{"id": node["id"], "network_number": 406}]
        assert got["primary_node"] is None
    api.patch(f"/api/v1/nodes/{node['id']}/", json={"buildings": [two["id"]]}).raise_for_status()
    assert api.get(f"/api/v1/buildings/{one['id']}/").json()["nodes"] == []


def test_node_building_written_from_the_building_side(env):
    api = env["api"]
    first, second = b.node(api, 407), b.node(api, 408)
    building = b.building(api, "3 Side Street", nodes=[first["id"], second["id"]])
    for node in (first, second):
        got = api.get(f"/api/v1/nodes/{node['id']}/").json()
        assert [x["id"] for x in got["buildings"]] == [building["id"]]
    path = f"/api/v1/buildings/{building['id']}/"
    api.patch(path, json={"nodes": [second["id"]]}).raise_for_status()
    assert api.get("/api/v1/nodes/407/").json()["buildings"] == []
    assert [n["network_number"] for n in api.get(path).json()["nodes"]] == [408]


def test_setting_a_primary_node_adds_it_to_the_nodes(env):
    api = env["api"]
    first, second = b.node(api, 409), b.node(api, 410)
    building = b.building(api, "4 Side Street", primary_node=first["id"])
    assert building["nodes"] == [{"id": first["id"], "network_number": 409}]
    path = f"/api/v1/buildings/{building['id']}/"
    got = api.patch(path, json={"primary_node": {"id": second["id"]}}).json()
    assert got["primary_node"] == {"id": second["id"], "network_number": 410}
    assert {n["network_number"] for n in got["nodes"]} == {409, 410}
    # Even when the same request leaves it out of the nodes.
    whole = {"latitude": 40.7, "longitude": -73.9, "primary_node": first["id"]}
    got = api.put(path, json=whole)
    assert got.status_code == 200 and got.json()["nodes"] == [
        {"id": first["id"], "network_number": 409}
    ]
    assert [x["id"] for x in api.get("/api/v1/nodes/409/").json()["buildings"]] == [building["id"]]


def test_a_node_may_not_leave_a_building_it_is_primary_of(env):
    api = env["api"]
    node = b.node(api, 411)
    building = b.building(api, "5 Side Street", primary_node=node["id"])
    response = api.patch(f"/api/v1/nodes/{node['id']}/", json={"buildings": []})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "buildings"
    assert building["id"] in response.json()["detail"]
    got = api.get(f"/api/v1/buildings/{building['id']}/").json()
    assert got["nodes"] == [{"id": node["id"], "network_number": 411}]


# --- devices: sectors and access points are devices too ----------------------------------------


def test_sectors_and_access_points_are_in_the_device_list(env):
    api = env["api"]
    w = b.world(api, nn=412)
    found = {d["id"]: d for d in api.get("/api/v1/devices/?page_size=1000").json()["results"]}
    plain, sector, ap = (found[w[k]["id"]] for k in ("devices", "sectors", "accesspoints"))
    assert (plain["kind"], sector["kind"], ap["kind"]) == ("device", "sector", "accesspoint")
    assert (sector["radius"], sector["azimuth"], sector["width"]) == (1.0, 90, 120)
    assert (ap["latitude"], ap["longitude"]) == (40.6996, -73.9418)
    assert "azimuth" not in plain
    node = api.get(f"/api/v1/nodes/{plain['node']['id']}/").json()
    # A plain device's place is read through from its node (MeshDB's DeviceSerializer).
    assert (plain["latitude"], plain["longitude"]) == (node["latitude"], node["longitude"])
    got = api.get(f"/api/v1/devices/{w['accesspoints']['id']}/").json()
    assert got["latitude"] == 40.6996 and got["node"]["network_number"] == 412
    sectors = api.get("/api/v1/sectors/?page_size=1000").json()["results"]
    assert w["sectors"]["id"] in {s["id"] for s in sectors}
    assert all(s["kind"] == "sector" for s in sectors)
    assert api.get(f"/api/v1/sectors/{w['devices']['id']}/").status_code == 404
    node = api.get("/api/v1/nodes/412/").json()
    assert {d["id"] for d in node["devices"]} == {
        w[k]["id"] for k in ("devices", "sectors", "accesspoints")
    }


def test_a_sector_edited_through_the_device_list_keeps_its_wedge(env):
    api = env["api"]
    w = b.world(api, nn=413)
    path = f"/api/v1/devices/{w['sectors']['id']}/"
    whole = api.get(path).json()
    got = api.put(path, json={**whole, "name": "renamed"})
    assert got.status_code == 200, got.text
    assert got.json()["name"] == "renamed" and got.json()["azimuth"] == 90
    assert api.patch(path, json={"status": "Inactive"}).json()["kind"] == "sector"


# --- PUT replaces, PATCH changes --------------------------------------------------------------


def test_put_replaces_the_record_and_patch_changes_only_what_is_given(env):
    api = env["api"]
    node = b.node(api, 414, name="Full", notes="keep?", latitude=40.7, placement="Rooftop")
    path = f"/api/v1/nodes/{node['id']}/"
    patched = api.patch(path, json={"name": "Patched"}).json()
    assert (patched["name"], patched["notes"], patched["latitude"]) == ("Patched", "keep?", 40.7)
    assert patched["placement"] == "rooftop"  # MeshDB's spelling; the old one still reads
    # A whole node: status and place are required (MeshDB's), what is left out is unset.
    whole = {"name": "Put", "status": "Planned", "latitude": 40.6, "longitude": -73.8}
    put = api.put(path, json=whole).json()
    assert (put["name"], put["notes"], put["latitude"], put["placement"]) == (
        "Put",
        None,
        40.6,
        "None",
    )
    assert put["status"] == "Planned"
    # An NN left out of a PUT is kept: it is immutable, not unset.
    assert put["network_number"] == 414
    empty = api.patch(path, json={})
    assert empty.status_code == 200 and empty.json() == {**put, "updated": empty.json()["updated"]}


def test_put_needs_every_required_field(env):
    api = env["api"]
    member = b.member(api, "Required")
    response = api.put(f"/api/v1/members/{member['id']}/", json={"notes": "no name"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_put_of_an_install_keeps_its_number(env):
    api = env["api"]
    w = b.world(api, nn=415)
    install = w["installs"]
    body = b.create_body("installs", w)
    got = api.put(f"/api/v1/installs/{install['install_number']}/", json={**body, "unit": "2R"})
    assert got.status_code == 200, got.text
    assert got.json()["install_number"] == install["install_number"] and got.json()["unit"] == "2R"
    # Sending back the whole record, references as objects, is accepted unchanged.
    whole = api.get(f"/api/v1/installs/{install['id']}/").json()
    again = api.put(f"/api/v1/installs/{install['id']}/", json=whole)
    assert again.status_code == 200 and again.json() == whole


# --- numbers and references ------------------------------------------------------------------


def test_install_numbers_are_sequential_unique_and_aliases_work(env):
    api = env["api"]
    member, building = b.member(api, "Seq"), b.building(api, "6 Seq Street")
    made = [b.install(api, member, building) for _ in range(3)]
    numbers = [i["install_number"] for i in made]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    for install in made:
        got = api.get(f"/api/v1/installs/{install['install_number']}/", role="read_only")
        assert got.status_code == 200 and got.json()["id"] == install["id"]
    assert api.get("/api/v1/installs/99999/").status_code == 404
    assert api.get("/api/v1/nodes/7999/").status_code == 404


def test_references_carry_their_numbers(env):
    api = env["api"]
    w = b.world(api, nn=416)
    number = w["installs"]["install_number"]
    node_ref = {"id": w["nodes"]["id"], "network_number": 416}
    install_ref = {"id": w["installs"]["id"], "install_number": number}
    install = api.get(f"/api/v1/installs/{number}/").json()
    assert install["node"] == node_ref
    assert install["member"] == {"id": w["members"]["id"]}
    assert install["building"] == {"id": w["buildings"]["id"]}
    building = api.get(f"/api/v1/buildings/{w['buildings']['id']}/").json()
    assert building["primary_node"] == node_ref and building["nodes"] == [node_ref]
    assert building["installs"] == [install_ref]
    node = api.get("/api/v1/nodes/416/").json()
    assert node["installs"] == [install_ref]
    assert node["buildings"] == [{"id": w["buildings"]["id"]}]
    assert api.get(f"/api/v1/members/{w['members']['id']}/").json()["installs"] == [install_ref]
    for resource in ("devices", "sectors", "accesspoints"):
        assert api.get(f"/api/v1/{resource}/{w[resource]['id']}/").json()["node"] == node_ref
    link = api.get(f"/api/v1/links/{w['links']['id']}/").json()
    assert link["from_device"] == {"id": w["devices"]["id"]}
    los = api.get(f"/api/v1/loses/{w['loses']['id']}/").json()
    assert los["to_building"] == {"id": w["other_building"]["id"]}


def test_token_scheme_writes_and_is_recorded_by_name(env):
    api = env["api"]
    secret = api.tokens["installer"]
    response = api.post(
        "/api/v1/members/",
        role=None,
        headers={"Authorization": f"Token {secret}"},
        json={"name": "T"},
    )
    assert response.status_code == 201, response.text
    rows = api.get(f"/api/v1/members/{response.json()['id']}/history/").json()
    assert rows[0]["actor"] == "installer"


def test_lists_page_by_100_by_default_and_cap_at_1000(env):
    from ipam import models as m
    from ipam.db import make_sessionmaker, transaction

    api = env["api"]
    before = api.get("/api/v1/loses/?page_size=1").json()["count"]
    with transaction(make_sessionmaker(env["engine"])) as session:
        one, two = (
            m.Building(latitude=40.7, longitude=-73.9),
            m.Building(latitude=40.7, longitude=-73.9),
        )
        session.add_all([one, two])
        session.flush()
        session.add_all(
            m.LOS(from_building_id=one.id, to_building_id=two.id, source="Human Annotated")
            for _ in range(1001)
        )
    total = before + 1001
    page = api.get("/api/v1/loses/").json()
    assert page["count"] == total and len(page["results"]) == 100
    assert page["next"] and page["previous"] is None
    big = api.get("/api/v1/loses/?page_size=1000").json()
    assert len(big["results"]) == 1000 and big["next"]
    last = api.get("/api/v1/loses/?page_size=1000&page=2").json()
    assert len(last["results"]) == total - 1000 and last["next"] is None and last["previous"]
    # Above the maximum is clamped to it (DRF's max_page_size), not refused.
    clamped = api.get("/api/v1/loses/?page_size=9999").json()
    assert len(clamped["results"]) == 1000 and clamped["next"] == big["next"].replace(
        "page_size=1000", "page_size=9999"
    )
    lookup = api.get(f"/api/v1/loses/lookup/?building={one.id}").json()
    assert lookup["count"] == 1001 and len(lookup["results"]) == 100


def test_the_api_describes_itself(env):
    response = env["api"].get("/openapi.json", role=None)
    assert response.status_code == 200
    assert "/api/v1/nodes/lookup/" in response.json()["paths"]
