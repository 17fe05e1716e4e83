"""NN assignment through the API: MeshDB's flow, vanity numbers, and many at once."""

import asyncio

import httpx
import pytest


def _install(api, building=None, status="Request Received", node=None):
    member = api.create("members", {"name": "M"})
    if building is None:
        building = api.create("buildings", {"latitude": 40.7, "longitude": -73.9})
    body = {"member": member["id"], "building": building["id"], "status": status}
    if node is not None:
        body["node"] = node["id"]
    return api.create("installs", body), building


def _assign(api, number, role="installer"):
    return api.post("/api/v1/nn-assign/", json={"install_number": number}, role=role)


def _make_installs(sessions, count, status="Request Received", own_buildings=False):
    """Installs 1..count, written straight to the database (the API is not under test here)."""
    from ipam import models as m
    from ipam.db import transaction

    with transaction(sessions) as session:
        member = m.Member(name="Bulk")
        shared = m.Building(latitude=40.7, longitude=-73.9)
        for _ in range(count):
            building = m.Building(latitude=40.7, longitude=-73.9) if own_buildings else shared
            session.add(m.Install(member=member, building=building, status=status))


def test_low_install_number_gets_first_free_number_from_101(api):
    install, building = _install(api)
    answer = _assign(api, install["install_number"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["network_number"] == 101
    assert body["created"] is True
    assert body["install_id"] == install["id"] and body["building_id"] == building["id"]
    node = api.get("/api/v1/nodes/101/").json()
    assert node["status"] == "Planned"
    assert node["latitude"] == 40.7 and [b["id"] for b in node["buildings"]] == [building["id"]]
    got = api.get(f"/api/v1/installs/{install['install_number']}/").json()
    assert got["status"] == "Pending" and got["node"]["network_number"] == 101
    assert (
        api.get(f"/api/v1/buildings/{building['id']}/").json()["primary_node"]["network_number"]
        == 101
    )


def test_second_call_answers_200_with_the_same_number(api):
    install, _ = _install(api)
    first = _assign(api, install["install_number"]).json()
    again = _assign(api, install["install_number"])
    assert again.status_code == 200
    assert again.json()["network_number"] == first["network_number"]
    assert again.json()["created"] is False


def test_install_in_range_keeps_its_own_number(api, sessions):
    _make_installs(sessions, 150)
    answer = _assign(api, 130)
    assert answer.status_code == 201
    assert answer.json()["network_number"] == 130


def test_skips_numbers_of_installs_that_moved_on_and_reassigns_given_away_ones(api, sessions):
    _make_installs(sessions, 110)
    # 101 is Pending (blocks its number); 102 is Request Received without node (may be given).
    api.patch("/api/v1/installs/101/", json={"status": "Pending"})
    answer = _assign(api, 5)
    assert answer.json()["network_number"] == 102
    assert api.get("/api/v1/installs/102/").json()["status"] == "NN Reassigned"
    assert _assign(api, 102).status_code == 409


def test_reuses_the_buildings_primary_node(api):
    install, building = _install(api)
    first = _assign(api, install["install_number"]).json()
    neighbour, _ = _install(api, building=building)
    second = _assign(api, neighbour["install_number"])
    assert second.status_code == 201
    assert second.json()["network_number"] == first["network_number"]


def test_unknown_and_closed_installs(api):
    assert _assign(api, 999).status_code == 404
    install, _ = _install(api, status="Closed")
    answer = _assign(api, install["install_number"])
    assert answer.status_code == 409
    assert "Closed" in answer.json()["detail"]


def test_inactive_node_without_number_becomes_planned(api):
    node = api.create("nodes", {"status": "Inactive", "latitude": 40.7, "longitude": -73.9})
    install, _ = _install(api, node=node)
    answer = _assign(api, install["install_number"])
    assert answer.status_code == 201
    assert api.get(f"/api/v1/nodes/{node['id']}/").json()["status"] == "Planned"


@pytest.mark.parametrize("role,status", [("read_only", 403), (None, 401), ("installer", 201)])
def test_assign_needs_installer(api, role, status):
    install, _ = _install(api)
    assert _assign(api, install["install_number"], role=role).status_code == status


def test_vanity_number_reassigns_a_waiting_install_and_refuses_an_active_one(api, sessions):
    _make_installs(sessions, 3)
    api.patch("/api/v1/installs/3/", json={"status": "Active"})
    made = api.post(
        "/api/v1/nodes/",
        json={"network_number": 2, "status": "Planned", "latitude": 40.7, "longitude": -73.9},
    )
    assert made.status_code == 201
    assert api.get("/api/v1/installs/2/").json()["status"] == "NN Reassigned"
    refused = api.post(
        "/api/v1/nodes/",
        json={"network_number": 3, "status": "Planned", "latitude": 40.7, "longitude": -73.9},
    )
    assert refused.status_code == 409
    assert "Active" in refused.json()["detail"]
    taken = api.post(
        "/api/v1/nodes/",
        json={"network_number": 2, "status": "Planned", "latitude": 40.7, "longitude": -73.9},
    )
    assert taken.status_code == 409


def test_node_set_active_without_number_gets_one(api):
    node = api.create("nodes", {"status": "Planned", "latitude": 40.7, "longitude": -73.9})
    changed = api.patch(f"/api/v1/nodes/{node['id']}/", json={"status": "Active"}).json()
    assert changed["network_number"] == 101


def test_disambiguate_number(api, sessions):
    _make_installs(sessions, 3)
    api.post(
        "/api/v1/nodes/",
        json={"network_number": 2, "status": "Planned", "latitude": 40.7, "longitude": -73.9},
    )
    body = api.get("/api/v1/disambiguate-number/?number=2").json()
    assert body["node"]["network_number"] == 2
    assert body["install"]["install_number"] == 2
    assert body["install_recycled_as_nn"] is True
    assert body["install_resolves_to_node"] is None
    # MeshDB's shape (meshapi/views/helpers.py): the NN wins; the recycled install is apart.
    node = body["node"]
    install = api.get("/api/v1/installs/2/").json()
    assert body["resolved_node"] == node
    assert body["supporting_data"] == {
        "exact_match_install": None,
        "exact_match_recycled_install": {"install_number": 2, "id": install["id"], "node": None},
        "exact_match_node": node,
    }
    # An install number alone resolves to its install's node.
    assigned = api.post("/api/v1/nn-assign/", json={"install_number": 3}).json()
    three = api.get("/api/v1/disambiguate-number/?number=3").json()
    assert three["resolved_node"]["network_number"] == assigned["network_number"]
    assert three["supporting_data"]["exact_match_install"]["install_number"] == 3
    assert three["supporting_data"]["exact_match_node"] is None
    missing = api.get("/api/v1/disambiguate-number/?number=4000")
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        "Provided number: 4000 did not correspond to any install or node objects"
    )
    for bad in ("0", "-3", "x"):
        refused = api.get(f"/api/v1/disambiguate-number/?number={bad}")
        assert refused.status_code == 400
        assert refused.json()["detail"] == (
            f"Invalid number: '{bad}'. Must be an integer greater than zero"
        )


def test_two_hundred_simultaneous_assigns_get_distinct_numbers(api, live_api, sessions):
    _make_installs(sessions, 200, status="Pending", own_buildings=True)
    base_url, tokens = live_api

    async def run():
        headers = {"Authorization": f"Bearer {tokens['installer']}"}
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=60, limits=limits
        ) as c:
            return await asyncio.gather(
                *(c.post("/api/v1/nn-assign/", json={"install_number": n}) for n in range(1, 201))
            )

    answers = asyncio.run(run())
    codes = [a.status_code for a in answers]
    assert all(code == 201 for code in codes), sorted(set(codes))
    numbers = [a.json()["network_number"] for a in answers]
    assert len(set(numbers)) == 200
    assert all(101 <= n <= 8000 for n in numbers)


def test_active_install_numbered_in_the_nn_range_without_a_node_gets_its_own_number(api, sessions):
    # MeshDB answers this one with a 500 (issue 12); meshkeeper gives the install its number.
    _make_installs(sessions, 150)
    api.patch("/api/v1/installs/150/", json={"status": "Active"})
    answer = _assign(api, 150)
    assert answer.status_code == 201, answer.text
    assert answer.json()["network_number"] == 150
    assert answer.json()["detail"] == "Network Number has been assigned!"
    assert api.get("/api/v1/installs/150/").json()["status"] == "Active"
