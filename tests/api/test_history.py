"""History: every create, update and delete is recorded with its actor; admins revert."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.api import builders as b


@pytest.fixture(scope="module")
def env(engine, tmp_path_factory) -> Any:
    """One of every record; each test makes the records whose history it reads."""
    with b.shared_api(engine, tmp_path_factory.mktemp("history")) as api:
        yield {"api": api, "world": b.world(api, nn=300)}


def _history(api: Any, resource: str, key: str, role: str = "read_only") -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/{resource}/{key}/history/", role=role)
    assert response.status_code == 200, response.text
    return response.json()


def _revert(api: Any, resource: str, key: str, history_id: int, role: str = "admin") -> Any:
    return api.post(f"/api/v1/{resource}/{key}/history/{history_id}/revert/", role=role)


def test_create_update_delete_are_recorded_with_actor_and_both_versions(env):
    api = env["api"]
    made = api.create("members", {"name": "Hedy", "notes": "first"}, role="installer")
    path = f"/api/v1/members/{made['id']}/"
    assert api.patch(path, role="installer", json={"notes": "second"}).status_code == 200
    assert api.put(path, role="admin", json={"name": "Hedy Lamarr"}).status_code == 200
    assert api.delete(path, role="admin").status_code == 204

    rows = _history(api, "members", made["id"])
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("created", "installer"),
        ("updated", "installer"),
        ("updated", "admin"),
        ("deleted", "admin"),
    ]
    created, patched, put, deleted = rows
    assert created["before"] is None and created["after"]["name"] == "Hedy"
    assert created["after"]["id"] == made["id"]
    assert (patched["before"]["notes"], patched["after"]["notes"]) == ("first", "second")
    assert patched["before"]["name"] == patched["after"]["name"] == "Hedy"
    # PUT replaces the whole record: the notes left out are gone.
    assert (put["before"]["name"], put["after"]["name"]) == ("Hedy", "Hedy Lamarr")
    assert put["after"]["notes"] is None
    assert deleted["before"]["name"] == "Hedy Lamarr" and deleted["after"] is None
    times = [datetime.fromisoformat(r["at"]) for r in rows]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


@pytest.mark.parametrize("resource", b.RESOURCES)
def test_every_resource_records_create_and_update(env, resource):
    api, w = env["api"], env["world"]
    made = b.fresh(api, resource, w)
    api.patch(f"/api/v1/{resource}/{made['id']}/", json={"notes": "noted"}).raise_for_status()
    rows = _history(api, resource, made["id"])
    assert [r["action"] for r in rows] == ["created", "updated"]
    assert rows[1]["before"]["notes"] is None and rows[1]["after"]["notes"] == "noted"


def test_many_to_many_sides_are_in_the_versions(env):
    api, w = env["api"], env["world"]
    building = b.building(api, "5 History Lane")
    node = api.create(
        "nodes",
        {
            "name": "hist",
            "buildings": [building["id"]],
            "status": "Planned",
            "latitude": 40.7,
            "longitude": -73.9,
        },
    )
    rows = _history(api, "nodes", node["id"])
    assert rows[0]["after"]["buildings"] == [building["id"]]
    api.patch(f"/api/v1/buildings/{building['id']}/", json={"primary_node": node["id"]})
    after = _history(api, "buildings", building["id"])[-1]["after"]
    assert after["primary_node_id"] == node["id"] and after["nodes"] == [node["id"]]
    assert w  # the world is untouched


def test_a_failed_write_leaves_no_history(env):
    api = env["api"]
    made = b.member(api, "Unchanged")
    path = f"/api/v1/members/{made['id']}/"
    assert api.patch(path, json={"name": ""}).status_code == 422
    assert api.patch(path, role="read_only", json={"name": "x"}).status_code == 403
    assert api.put(path, json={"name": "x" * 1000}).status_code == 422
    assert len(_history(api, "members", made["id"])) == 1


def test_revert_restores_a_version_and_is_itself_recorded(env):
    api = env["api"]
    made = b.member(api, "A", notes="one")
    path = f"/api/v1/members/{made['id']}/"
    api.patch(path, json={"name": "B"}).raise_for_status()
    api.patch(path, role="installer", json={"name": "C", "notes": "three"}).raise_for_status()
    rows = _history(api, "members", made["id"])
    to_b = rows[1]

    response = _revert(api, "members", made["id"], to_b["id"])
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["notes"]) == ("B", "one")
    assert api.get(path).json()["name"] == "B"

    rows = _history(api, "members", made["id"])
    last = rows[-1]
    assert (last["action"], last["actor"]) == ("reverted", "admin")
    assert last["before"]["name"] == "C" and last["after"]["name"] == "B"
    assert len(rows) == 4

    # Reverting to the created version goes all the way back, and is recorded again.
    again = _revert(api, "members", made["id"], rows[0]["id"])
    assert again.status_code == 200
    assert (again.json()["name"], again.json()["notes"]) == ("A", "one")
    assert [r["action"] for r in _history(api, "members", made["id"])][-1] == "reverted"


def test_revert_restores_foreign_keys_and_many_to_many(env):
    api, w = env["api"], env["world"]
    first = b.node(api, None, name="first", status="Planned")
    second = b.node(api, None, name="second", status="Planned")
    building = b.building(api, "7 Revert Road", primary_node=first["id"])
    path = f"/api/v1/buildings/{building['id']}/"
    api.patch(path, json={"primary_node": second["id"], "nodes": [second["id"]]}).raise_for_status()
    assert {n["id"] for n in api.get(path).json()["nodes"]} == {second["id"]}
    created = _history(api, "buildings", building["id"])[0]
    restored = _revert(api, "buildings", building["id"], created["id"])
    assert restored.status_code == 200, restored.text
    assert restored.json()["primary_node"]["id"] == first["id"]
    assert [n["id"] for n in restored.json()["nodes"]] == [first["id"]]

    install = b.install(api, b.member(api, "Mover"), building, first, status="Pending")
    ipath = f"/api/v1/installs/{install['id']}/"
    api.patch(ipath, json={"status": "Active", "node": None, "unit": "4F"}).raise_for_status()
    back = _revert(
        api,
        "installs",
        install["install_number"],
        _history(api, "installs", install["id"])[0]["id"],
    )
    assert back.status_code == 200, back.text
    got = back.json()
    assert (got["status"], got["node"]["id"], got["unit"]) == ("Pending", first["id"], None)
    assert got["install_number"] == install["install_number"]
    assert w


def test_revert_of_a_device_with_dates_and_an_address(env):
    api, w = env["api"], env["world"]
    device = b.device(
        api, w["nodes"], "dated", install_date="2024-05-01", management_address="10.69.3.1"
    )
    path = f"/api/v1/devices/{device['id']}/"
    api.patch(path, json={"install_date": None, "management_address": "fd00::1"}).raise_for_status()
    first = _history(api, "devices", device["id"])[0]
    back = _revert(api, "devices", device["id"], first["id"])
    assert back.status_code == 200, back.text
    assert back.json()["install_date"] == "2024-05-01"
    assert back.json()["management_address"] == "10.69.3.1"


def test_sector_history_is_shared_with_the_device_list(env):
    api, w = env["api"], env["world"]
    sector = b.sector(api, w["nodes"], "shared-history")
    api.patch(f"/api/v1/devices/{sector['id']}/", json={"name": "renamed"}).raise_for_status()
    for resource in ("sectors", "devices"):
        rows = _history(api, resource, sector["id"])
        assert [r["action"] for r in rows] == ["created", "updated"], resource
    back = _revert(api, "devices", sector["id"], rows[0]["id"])
    assert back.status_code == 200, back.text
    assert back.json()["name"] == "shared-history" and back.json()["azimuth"] == 90


@pytest.mark.parametrize(("role", "status"), [("installer", 403), ("read_only", 403), (None, 401)])
def test_revert_by_a_non_admin_is_refused(env, role, status):
    api = env["api"]
    made = b.member(api, "Kept")
    api.patch(f"/api/v1/members/{made['id']}/", json={"name": "Changed"}).raise_for_status()
    first = _history(api, "members", made["id"])[0]
    assert _revert(api, "members", made["id"], first["id"], role=role).status_code == status
    assert api.get(f"/api/v1/members/{made['id']}/").json()["name"] == "Changed"
    assert len(_history(api, "members", made["id"])) == 2


def test_revert_with_a_history_row_of_another_record_is_refused(env):
    api = env["api"]
    mine, other = b.member(api, "Mine"), b.member(api, "Other")
    theirs = _history(api, "members", other["id"])[0]["id"]
    response = _revert(api, "members", mine["id"], theirs)
    assert response.status_code in (404, 422), response.text
    assert b.errors_name(response.json(), "history_id")
    assert api.get(f"/api/v1/members/{mine['id']}/").json()["name"] == "Mine"
    # A row of another resource, and a row that does not exist.
    node_row = _history(api, "nodes", env["world"]["nodes"]["id"])[0]["id"]
    for history_id in (node_row, 10**9):
        response = _revert(api, "members", mine["id"], history_id)
        assert response.status_code in (404, 422), response.text
        assert b.errors_name(response.json(), "history_id")


def test_revert_of_a_deleted_record_is_404(env):
    api = env["api"]
    gone = b.member(api, "Gone")
    api.delete(f"/api/v1/members/{gone['id']}/").raise_for_status()
    rows = _history(api, "members", gone["id"])
    assert [r["action"] for r in rows] == ["created", "deleted"]
    assert _revert(api, "members", gone["id"], rows[0]["id"]).status_code == 404


def test_history_of_nothing_is_404_and_a_bad_id_422(env):
    api = env["api"]
    assert (
        api.get(f"/api/v1/members/{'0' * 8}-0000-0000-0000-{'0' * 12}/history/").status_code == 404
    )
    assert api.get("/api/v1/members/nope/history/").status_code == 422


def test_history_by_number_alias(env):
    api, w = env["api"], env["world"]
    by_nn = _history(api, "nodes", str(w["nodes"]["network_number"]))
    assert by_nn == _history(api, "nodes", w["nodes"]["id"])
    by_number = _history(api, "installs", str(w["installs"]["install_number"]))
    assert by_number and by_number[0]["after"]["id"] == w["installs"]["id"]
