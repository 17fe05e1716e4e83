"""A device's management address change is an event naming who made it (issue 11, 10).

The daemon sends SNMP, v2c community in clear, to that address: an installer pointing it at
a host of theirs must leave a trace an admin can subscribe to.
"""

from __future__ import annotations

from tests.api import builders as b

EVENT = "device.management_address_changed"


def _changes(api) -> list[dict]:
    return api.get(f"/api/v1/events/?after=0&type={EVENT}").json()["events"]


def test_every_management_address_change_names_its_actor(api):
    node = b.node(api, 101)
    device = api.create(
        "devices",
        {"node": node["id"], "name": "omni", "management_address": "10.69.1.1"},
        role="installer",
    )
    path = f"/api/v1/devices/{device['id']}/"
    moved = api.patch(path, json={"management_address": "10.69.66.6"}, role="installer")
    assert moved.status_code == 200, moved.text
    assert api.patch(path, json={"name": "omni-2"}, role="installer").status_code == 200
    sector = b.sector(api, node, "north", management_address="10.69.1.2")
    api.patch(f"/api/v1/sectors/{sector['id']}/", json={"management_address": None})

    changes = _changes(api)
    got = [(e["subject"]["id"], e["data"]) for e in changes]
    assert got == [
        (device["id"], {"from": None, "to": "10.69.1.1", "actor": "installer"}),
        (device["id"], {"from": "10.69.1.1", "to": "10.69.66.6", "actor": "installer"}),
        (sector["id"], {"from": None, "to": "10.69.1.2", "actor": "admin"}),
        (sector["id"], {"from": "10.69.1.2", "to": None, "actor": "admin"}),
    ]
    history = api.get(f"{path}history/").json()
    assert [(h["action"], h["actor"]) for h in history] == [
        ("created", "installer"),
        ("updated", "installer"),
        ("updated", "installer"),
    ]
