"""The map feeds by MeshDB's rules (views/map.py, serializers/map.py), records built over HTTP.

Expected values are read off MeshDB's source: which nodes get a stand-in row and with what
status, roof access and request date; the access point rows' shape and made-up ids; cable
runs, planned links from lines of sight and access point links; which sectors show.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api import builders as b

NY_2024_03_01 = 1709269200000  # 2024-03-01 00:00 America/New_York, epoch ms
NY_2024_05_06 = 1714968000000
REQUESTED = "2024-01-02T03:04:05+00:00"
REQUESTED_MS = 1704164645000


def _node(api, nn, status="Active", lat=40.70, lon=-73.95, **fields):
    """A node with status and coordinates always sent (they become required on the API)."""
    body = {"network_number": nn, "status": status, "latitude": lat, "longitude": lon}
    return api.create("nodes", {**body, **fields})


def _feed(api, name):
    response = api.get(f"/api/v1/mapdata/{name}/", role=None)
    assert response.status_code == 200, response.text
    return response.json()


def _ap_id(record) -> int:
    # MeshDB's convert_access_point_id_to_fake_node_number.
    return 1_000_000 + uuid.UUID(record["id"]).int % 1_000_000


@pytest.fixture()
def member(api):
    return b.member(api, "Map Member")


def test_nn_rows_only_for_live_nodes_as_meshdb_decides(api, member):
    active = _node(api, 500, name="Active Place", altitude=20)
    home = b.building(api, "1 Active Street", latitude=40.7001, longitude=-73.9501)
    # MeshDB's representative: the first Active install in Install's order (highest number).
    b.install(api, member, home, active, roof_access=False, request_date=REQUESTED)
    b.install(api, member, home, active, roof_access=True)
    b.install(api, member, home, active, status="Pending", roof_access=True)
    closed = b.install(api, member, home, active, status="Closed")
    _node(api, 501, status="Planned", lat=40.71, lon=-73.96, install_date="2024-03-01")
    _node(api, 502, status="Inactive", lat=40.72, lon=-73.97)
    _node(api, 503, status="Planned", lat=40.73, lon=-73.98, type="Hub")
    rows = {row["id"]: row for row in _feed(api, "nodes")}

    # Active: "NN assigned" at the node's own position with its name; the representative is
    # the second install (the highest Active one), so its roof access.
    assert rows[500]["status"] == "NN assigned" and rows[500]["name"] == "Active Place"
    assert rows[500]["coordinates"] == [-73.95, 40.70, 20] and rows[500]["roofAccess"] is True
    # Planned: a stand-in with no status; no install, so the node's install date and roof True.
    assert "status" not in rows[501] and rows[501]["requestDate"] == NY_2024_03_01
    assert rows[501]["roofAccess"] is True and rows[501]["panoramas"] == []
    # No install date either: the epoch. A non-Standard node's type is the dot's notes.
    assert rows[503]["requestDate"] == 0 and rows[503]["notes"] == "Hub"
    # Inactive: nothing at all.
    assert 502 not in rows
    # Closed installs never show; the others are rows of their own.
    assert closed["install_number"] not in rows
    assert [row["id"] for row in rows.values()] == sorted(rows)


def test_nn_row_takes_the_highest_active_install(api, member):
    node = _node(api, 510)
    home = b.building(api, "2 Active Street", panoramas=["https://p.example/x/510a.jpg"])
    early = b.install(api, member, home, node, roof_access=False)
    late = b.install(api, member, home, node, roof_access=True, request_date=REQUESTED)
    b.install(api, member, home, node, status="Pending", roof_access=False)
    assert early["install_number"] < late["install_number"]
    row = next(r for r in _feed(api, "nodes") if r["id"] == 510)
    assert row["requestDate"] == REQUESTED_MS and row["roofAccess"] is True
    assert row["panoramas"] == ["510a.jpg"]


def test_access_point_rows_in_meshdb_shape(api):
    node = _node(api, 520)
    dated = b.accesspoint(
        api, node, "courtyard-ap", latitude=40.6, longitude=-73.9, install_date="2024-05-06"
    )
    undated = b.accesspoint(api, node, "pole-ap", latitude=40.61, longitude=-73.91)
    b.accesspoint(api, node, "dead-ap", status="Inactive")
    b.accesspoint(api, node, "maybe-ap", status="Potential")
    rows = _feed(api, "nodes")
    aps = [row for row in rows if row["id"] >= 1_000_000]
    # Only Active access points, after every install and NN row, keys in MeshDB's order.
    assert rows[-len(aps) :] == aps and len(aps) == 2
    by_id = {row["id"]: row for row in aps}
    assert by_id[_ap_id(dated)] == {
        "id": _ap_id(dated),
        "name": "courtyard-ap",
        "status": "Installed",
        "coordinates": [-73.9, 40.6, None],
        "roofAccess": False,
        "notes": "AP",
        "panoramas": [],
        "requestDate": NY_2024_05_06,
        "installDate": NY_2024_05_06,
    }
    assert list(by_id[_ap_id(dated)]) == [
        "id",
        "name",
        "status",
        "coordinates",
        "roofAccess",
        "notes",
        "panoramas",
        "requestDate",
        "installDate",
    ]
    assert "requestDate" not in by_id[_ap_id(undated)]
    assert by_id[_ap_id(undated)]["coordinates"] == [-73.91, 40.61, None]


def test_recorded_links_one_per_pair_and_access_point_links(api):
    a, c = _node(api, 530), _node(api, 531, lat=40.8)
    dead = _node(api, 532, status="Inactive")
    da, dc = b.device(api, a, "a-radio"), b.device(api, c, "c-radio")
    da2, dd = b.device(api, a, "a-second"), b.device(api, dead, "dead-radio")
    b.link(api, da, dc, type="5 GHz", install_date="2024-03-01")
    b.link(api, da2, dc, type="24 GHz")  # a second a -> c: one line per pair (either one)
    b.link(api, dc, da, type="6 GHz")  # c -> a is another pair
    b.link(api, da, dd)  # touches an Inactive node
    b.link(api, da, da2)  # within one NN
    ap = b.accesspoint(api, _node(api, 533, lat=40.9), "pole-ap")
    b.link(api, da, ap, type="5 GHz")
    b.link(api, ap, dc, status="Inactive")
    b.link(api, dc, ap, status="Planned")
    rows = _feed(api, "links")
    # Recorded links first, ordered by (from NN, to NN): an access point is a device of its
    # node (533) there, so its links not Inactive show once more as links of that node.
    assert [(x["from"], x["to"]) for x in rows[:4]] == [
        (530, 531),
        (530, 533),
        (531, 530),
        (531, 533),
    ]
    assert rows[0] in (
        {"from": 530, "to": 531, "status": "active", "installDate": NY_2024_03_01},
        {"from": 530, "to": 531, "status": "60GHz"},
    )
    assert rows[2] == {"from": 531, "to": 530, "status": "60GHz"}  # 6 GHz counts as 60GHz
    assert rows[3]["status"] == "planned"
    # Then links to access points, any status (Inactive is "dead"), by link id.
    ap_links = rows[4:]
    assert sorted((x["from"], x["to"], x["status"]) for x in ap_links) == sorted(
        [(530, _ap_id(ap), "active"), (_ap_id(ap), 531, "dead"), (531, _ap_id(ap), "planned")]
    )


def test_cable_runs_join_other_buildings_to_the_node(api, member):
    node = _node(api, 540)
    roof = b.building(api, "1 Roof Street", primary_node=node["id"])
    across = b.building(api, "3 Across Street", latitude=40.69)
    quiet = b.building(api, "5 Quiet Street", latitude=40.695)
    api.patch(
        f"/api/v1/nodes/{node['id']}/",
        json={"buildings": [roof["id"], across["id"], quiet["id"]]},
    ).raise_for_status()
    b.install(api, member, roof, node)  # a number of its own, on the roof: a run to 540
    low = b.install(api, member, across, None)
    b.install(api, member, across, None)
    b.install(api, member, quiet, None, status="Pending")  # no Active install: no run
    numbers = sorted(i["install_number"] for i in api.get("/api/v1/installs/").json()["results"])
    rows = _feed(api, "links")
    runs = sorted((x["from"], x["to"]) for x in rows if x["status"] == "active")
    # The lowest Active install of each building with one (MeshDB's cable runs).
    assert runs == sorted([(numbers[0], 540), (low["install_number"], 540)])
    # A node on one building has no runs.
    single = _node(api, 541)
    b.install(api, member, b.building(api, "7 Single Street", primary_node=single["id"]), single)
    assert not [x for x in _feed(api, "links") if x["to"] == 541]


def test_planned_links_from_lines_of_sight(api, member):
    hub = _node(api, 550)
    hub_home = b.building(api, "1 Hub Street", primary_node=hub["id"])
    api.patch(f"/api/v1/nodes/{hub['id']}/", json={"buildings": [hub_home["id"]]})
    hub_install = b.install(api, member, hub_home, hub)
    far = b.building(api, "9 Far Street", latitude=40.6)
    far_a = b.install(api, member, far, None, status="Pending")
    far_b = b.install(api, member, far, None, status="Closed")  # any install counts
    empty = b.building(api, "11 Empty Street", latitude=40.61)  # no installs: no line
    linked_node = _node(api, 551, lat=40.62)
    linked = b.building(api, "13 Linked Street", latitude=40.62, primary_node=linked_node["id"])
    api.patch(f"/api/v1/nodes/{linked_node['id']}/", json={"buildings": [linked["id"]]})
    b.install(api, member, linked, linked_node)
    radio = b.device(api, hub, "hub-radio")
    b.link(api, b.device(api, linked_node, "linked-radio"), radio, status="Inactive")
    b.los(api, hub_home, far)
    b.los(api, hub_home, far, source="Existing Link")  # the same pair again: once
    b.los(api, hub_home, empty)
    b.los(api, hub_home, linked)  # a link (any status) already joins the two buildings
    rows = [x for x in _feed(api, "links") if x["status"] == "planned"]
    ends = sorted((x["from"], x["to"]) for x in rows)
    froms = sorted([hub_install["install_number"], 550])
    tos = sorted([far_a["install_number"], far_b["install_number"]])
    assert ends == sorted((f, t) for f in froms for t in tos)


def test_sectors_as_meshdb_filters_them(api):
    node = _node(api, 560)
    b.sector(api, node, "live", install_date="2024-03-01")
    b.sector(api, node, "maybe", status="Potential")
    b.sector(api, node, "gone", status="Inactive")
    b.sector(api, _node(api, None, status="Planned", lat=40.75), "no-nn")
    rows = _feed(api, "sectors")
    assert sorted((s["nodeId"], s["device"], s["status"]) for s in rows) == [
        (560, "live", "active"),
        (560, "maybe", "potential"),
    ]
    live = next(s for s in rows if s["device"] == "live")
    assert live == {
        "nodeId": 560,
        "radius": 1,
        "azimuth": 90,
        "width": 120,
        "status": "active",
        "device": "live",
        "installDate": NY_2024_03_01,
    }
