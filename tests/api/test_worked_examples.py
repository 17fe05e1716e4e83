"""The six worked examples of "MeshDB Schema Design", built through the API and asked back.

Install numbers are given by the database in order (importing the spreadsheet's numbers is an
import feature, not an API one), so each install keeps its spreadsheet number in `ticket_number`
and the tests assert the structure: which installs sit on which node and building.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import builders as b

# The worked examples, as the document lists them: (legacy install number, NN, address).
INSTALLS = [
    (13134, 492, "216 Schaefer Street"),
    (13276, 492, "216 Schaefer Street"),
    (4734, 4734, "31 Clarkson Av"),
    (6972, 4734, "25 Clarkson Av"),
    (13663, 4734, "27 Clarkson Av"),
    (731, 731, "190 East 7th Street"),
    (12985, 731, "190 East 7th Street"),
    *((n, 5916, "303 Vernon Avenue") for n in (5916, 6345, 11875, 11876, 11877, 11878, 11879)),
    (11880, 5916, "303 Vernon Avenue"),
    (3461, 3461, "135 Eastern Parkway"),
    (3921, 3461, "135 Eastern Parkway"),
    (6723, 6723, "135 Eastern Parkway"),
    (11024, 377, "135 Eastern Parkway"),
    (14399, 3461, "135 Eastern Parkway"),
    (14960, 3461, "135 Eastern Parkway"),
    (3606, 3606, "476 Jefferson Street"),
    (5933, 5933, "476 Jefferson Street"),
    (7177, 5933, "476 Jefferson Street"),
    (8152, 169, "476 Jefferson Street"),
    (8274, 3606, "488 Jefferson Street"),
    (8085, 169, "16 Cypress Avenue"),
]

# address -> (BIN, primary NN, every NN serving it)
BUILDINGS = {
    "216 Schaefer Street": (3079532, 492, {492}),
    "31 Clarkson Av": (3115982, 4734, {4734}),
    "25 Clarkson Av": (3115985, 4734, {4734}),
    "27 Clarkson Av": (3115984, 4734, {4734}),
    "190 East 7th Street": (1086499, 731, {731, 311}),
    "303 Vernon Avenue": (3042881, 5916, {5916}),
    "135 Eastern Parkway": (3029628, 3461, {3461, 6723, 377}),
    "476 Jefferson Street": (3819572, 3606, {3606, 5933, 169}),
    "488 Jefferson Street": (3819572, 3606, {3606, 5933, 169}),
    "28 Scott Avenue": (3819572, 3606, {3606, 5933, 169}),
    "16 Cypress Avenue": (3819572, 3606, {3606, 5933, 169}),
}

# NN -> name (None where the document shows "-"). The document's node table lists Jefferson-3
# as 162 but every other table (buildings, installs, devices) says 169: 169 it is.
NODES = {
    492: None,
    4734: None,
    731: "7th Street",
    311: None,
    5916: "Vernon",
    3461: "Prospect Heights (PH)",
    6723: None,
    377: None,
    3606: "Jefferson",
    5933: "Jefferson-2",
    169: "Jefferson-3",
    1417: "Hex House",
}

DEVICES = {
    "nycmesh-492-omni": 492,
    "nycmesh-lbe-492": 492,
    "nycmesh-4734-omni": 4734,
    "nycmesh-731-omni": 731,
    "nycmesh-311-omni": 311,
    "nycmesh-5916-eh8010-1934": 5916,
    "nycmesh-5916-af60xr-162": 5916,
    "nycmesh-3461-core": 3461,
    "nycmesh-3461-southeast": 3461,
    "nycmesh-3461-af24-713": 3461,
    "nycmesh-nsl-377": 377,
    "nycmesh-3606-omni": 3606,
    "nycmesh-3606-gbelr-1417": 3606,
    "nycmesh-5933-omni": 5933,
    "nycmesh-169-omni": 169,
    "nycmesh-1417-gbelr-3606": 1417,
}

# Vernon's courtyard access points, each at its own light pole.
VERNON_APS = {
    "nycmesh-5916-gbep1-roof": (40.69640, -73.94170),
    "East AP": (40.69625, -73.94120),
    "Southeast AP": (40.69600, -73.94125),
    "South AP": (40.69590, -73.94160),
    "Southwest AP": (40.69600, -73.94200),
    "Northwest AP": (40.69660, -73.94205),
    "Northeast AP": (40.69665, -73.94130),
}


@pytest.fixture(scope="module")
def mesh(engine, tmp_path_factory) -> Any:
    """All six examples in one database (their NNs and addresses do not overlap)."""
    with b.shared_api(engine, tmp_path_factory.mktemp("examples")) as api:
        nodes: dict[int, dict[str, Any]] = {}
        buildings: dict[str, dict[str, Any]] = {}

        def node(nn: int, **fields: Any) -> None:
            nodes[nn] = b.node(api, nn, name=NODES[nn], **fields)

        def building(address: str, **fields: Any) -> None:
            bin_, primary, _ = BUILDINGS[address]
            buildings[address] = b.building(
                api, address, bin_, primary_node=b.ref(nodes[primary]), **fields
            )

        # Nodes before installs: a hand-picked NN may not be an Active install's number.
        for nn in (492, 4734, 731, 311, 5916, 3461, 6723, 377, 3606, 1417):
            node(nn)
        for address in BUILDINGS:
            if address == "190 East 7th Street":
                # Example 3 from the building's side: the second omni joins the building.
                building(address, nodes=[b.ref(nodes[311])])
            elif address == "135 Eastern Parkway":
                # Example 5 gives only the primary node: the others join from the node's side.
                building(address)
            else:
                building(address)
        for nn in (6723, 377):
            api.patch(
                f"/api/v1/nodes/{nn}/",
                json={"buildings": [b.ref(buildings["135 Eastern Parkway"])]},
            ).raise_for_status()
        # Example 6: Jefferson-2 and -3 serve all four addresses, set from the node's side.
        jefferson = [
            b.ref(buildings[a]) for a, (bin_, _, _) in BUILDINGS.items() if bin_ == 3819572
        ]
        node(5933, buildings=jefferson)
        node(169, buildings=jefferson)

        # Members are left out of the document's tables: one per building will do.
        members = {address: b.member(api, f"Tenant of {address}") for address in BUILDINGS}
        installs: dict[int, dict[str, Any]] = {}
        for legacy, nn, address in INSTALLS:
            installs[legacy] = b.install(
                api, members[address], buildings[address], nodes[nn], ticket_number=str(legacy)
            )

        devices = {name: b.device(api, nodes[nn], name) for name, nn in DEVICES.items()}
        aps = {
            name: b.accesspoint(api, nodes[5916], name, latitude=lat, longitude=lon)
            for name, (lat, lon) in VERNON_APS.items()
        }
        links = {
            "731-311": b.link(api, devices["nycmesh-731-omni"], devices["nycmesh-311-omni"]),
            "3606-1417": b.link(
                api, devices["nycmesh-3606-gbelr-1417"], devices["nycmesh-1417-gbelr-3606"]
            ),
        }
        yield {
            "api": api,
            "nodes": nodes,
            "buildings": buildings,
            "installs": installs,
            "devices": devices,
            "aps": aps,
            "links": links,
        }


def _lookup(api: Any, resource: str, query: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/{resource}/lookup/?{query}", role="read_only")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == len(page["results"])
    return page["results"]


def test_install_numbers_come_from_the_database_in_order(mesh):
    numbers = [mesh["installs"][legacy]["install_number"] for legacy, _, _ in INSTALLS]
    assert numbers == list(range(1, len(INSTALLS) + 1))


@pytest.mark.parametrize(("legacy", "nn", "address"), INSTALLS)
def test_each_install_sits_on_its_node_and_building(mesh, legacy, nn, address):
    number = mesh["installs"][legacy]["install_number"]
    got = mesh["api"].get(f"/api/v1/installs/{number}/", role="read_only").json()
    assert got["ticket_number"] == str(legacy)
    assert got["node"] == {"id": mesh["nodes"][nn]["id"], "network_number": nn}
    assert got["building"]["id"] == mesh["buildings"][address]["id"]


@pytest.mark.parametrize("address", BUILDINGS)
def test_each_building_has_its_bin_primary_node_and_nodes(mesh, address):
    bin_, primary, nns = BUILDINGS[address]
    got = mesh["api"].get(f"/api/v1/buildings/{mesh['buildings'][address]['id']}/").json()
    assert got["street_address"] == address and got["bin"] == bin_
    assert got["primary_node"]["network_number"] == primary
    assert {n["network_number"] for n in got["nodes"]} == nns


def test_example1_nn492_alias_and_its_two_tenants(mesh):
    got = mesh["api"].get("/api/v1/nodes/492/", role="read_only")
    assert got.status_code == 200
    node = got.json()
    assert node["id"] == mesh["nodes"][492]["id"] and node["network_number"] == 492
    assert [x["id"] for x in node["buildings"]] == [mesh["buildings"]["216 Schaefer Street"]["id"]]
    legacy = {mesh["installs"][n]["install_number"] for n in (13134, 13276)}
    assert {i["install_number"] for i in node["installs"]} == legacy
    devices = _lookup(mesh["api"], "devices", "network_number=492")
    assert {d["name"] for d in devices} == {"nycmesh-492-omni", "nycmesh-lbe-492"}


def test_example2_nn4734_serves_three_clarkson_buildings(mesh):
    found = _lookup(mesh["api"], "buildings", "network_number=4734")
    assert sorted(x["street_address"] for x in found) == [
        "25 Clarkson Av",
        "27 Clarkson Av",
        "31 Clarkson Av",
    ]
    installs = _lookup(mesh["api"], "installs", "network_number=4734")
    assert {i["ticket_number"] for i in installs} == {"4734", "6972", "13663"}
    assert len(_lookup(mesh["api"], "buildings", "street_address=clarkson")) == 3


def test_example3_two_omnis_on_one_building(mesh):
    api = mesh["api"]
    for nn in (731, 311):
        found = _lookup(api, "buildings", f"network_number={nn}")
        assert [x["street_address"] for x in found] == ["190 East 7th Street"]
    assert _lookup(api, "buildings", "primary_network_number=311") == []
    links = _lookup(api, "links", "network_number=311")
    assert [x["id"] for x in links] == [mesh["links"]["731-311"]["id"]]
    installs = _lookup(api, "installs", "network_number=731")
    assert {i["ticket_number"] for i in installs} == {"731", "12985"}
    assert _lookup(api, "installs", "network_number=311") == []


def test_example4_vernon_access_points_are_devices_with_their_own_location(mesh):
    api = mesh["api"]
    vernon = api.get("/api/v1/nodes/5916/", role="read_only").json()
    assert vernon["name"] == "Vernon"
    devices = _lookup(api, "devices", "network_number=5916")
    assert {d["name"] for d in devices} == {
        "nycmesh-5916-eh8010-1934",
        "nycmesh-5916-af60xr-162",
        *VERNON_APS,
    }
    aps = [d for d in devices if d["kind"] == "accesspoint"]
    assert {d["name"]: (d["latitude"], d["longitude"]) for d in aps} == VERNON_APS
    building = mesh["buildings"]["303 Vernon Avenue"]
    assert all(
        (lat, lon) != (building["latitude"], building["longitude"])
        for lat, lon in VERNON_APS.values()
    )
    only_aps = _lookup(api, "accesspoints", "network_number=5916")
    assert {d["name"] for d in only_aps} == set(VERNON_APS)
    assert len(_lookup(api, "installs", "network_number=5916")) == 8


def test_example5_prospect_heights_has_three_nns(mesh):
    api = mesh["api"]
    building = mesh["buildings"]["135 Eastern Parkway"]
    nodes = _lookup(api, "nodes", f"building={building['id']}")
    assert sorted(n["network_number"] for n in nodes) == [377, 3461, 6723]
    installs = _lookup(api, "installs", "network_number=3461")
    assert {i["ticket_number"] for i in installs} == {"3461", "3921", "14399", "14960"}
    assert all(i["node"]["network_number"] == 3461 for i in installs)
    everyone = _lookup(api, "installs", f"building={building['id']}")
    assert len(everyone) == 6
    number = mesh["installs"][11024]["install_number"]
    assert [n["network_number"] for n in _lookup(api, "nodes", f"install_number={number}")] == [377]
    devices = _lookup(api, "devices", "network_number=377")
    assert [d["name"] for d in devices] == ["nycmesh-nsl-377"]
    [tenant] = _lookup(api, "members", "name=135 eastern")
    assert len(tenant["installs"]) == 6


def test_example6_jefferson_one_bin_four_addresses_three_nns(mesh):
    api = mesh["api"]
    found = _lookup(api, "buildings", "bin=3819572")
    assert sorted(x["street_address"] for x in found) == [
        "16 Cypress Avenue",
        "28 Scott Avenue",
        "476 Jefferson Street",
        "488 Jefferson Street",
    ]
    assert len(_lookup(api, "buildings", "primary_network_number=3606")) == 4
    for nn in (3606, 5933, 169):
        assert len(_lookup(api, "buildings", f"network_number={nn}")) == 4
    on_476 = _lookup(api, "installs", f"building={mesh['buildings']['476 Jefferson Street']['id']}")
    assert sorted((i["ticket_number"], i["node"]["network_number"]) for i in on_476) == [
        ("3606", 3606),
        ("5933", 5933),
        ("7177", 5933),
        ("8152", 169),
    ]
    uplink = _lookup(api, "links", "network_number=1417")
    assert [x["id"] for x in uplink] == [mesh["links"]["3606-1417"]["id"]]
    nodes = _lookup(api, "nodes", "name=jefferson")
    assert sorted(n["network_number"] for n in nodes) == [169, 3606, 5933]


def test_every_device_is_on_its_node(mesh):
    api = mesh["api"]
    for name, nn in DEVICES.items():
        found = _lookup(api, "devices", f"name={name}")
        exact = [d for d in found if d["name"] == name]
        assert [d["node"]["network_number"] for d in exact] == [nn], name
