"""Topology over HTTP on a small mesh built through the API: a POP, a hub, a chain and an island."""

import pytest


@pytest.fixture()
def mesh(api):
    """POP 1 - hub 10 - 20 - 30, hub 10 - 40 (parallel links), island 50 - 60."""
    nodes = {}
    for nn, kind in [
        (1, "POP"),
        (10, "Hub"),
        (20, "Standard"),
        (30, "Standard"),
        (40, "Standard"),
        (50, "Standard"),
        (60, "Standard"),
    ]:
        nodes[nn] = api.create(
            "nodes",
            {
                "network_number": nn,
                "status": "Active",
                "type": kind,
                "latitude": 40.7,
                "longitude": -73.9,
            },
        )
    devices = {
        nn: api.create("devices", {"node": node["id"], "name": f"nycmesh-{nn}-omni"})
        for nn, node in nodes.items()
    }

    def link(a, b, status="Active", type_="5 GHz"):
        return api.create(
            "links",
            {
                "from_device": devices[a]["id"],
                "to_device": devices[b]["id"],
                "status": status,
                "type": type_,
            },
        )

    link(1, 10, type_="Fiber")
    link(10, 20)
    link(20, 30)
    link(10, 40)
    link(40, 10, type_="60 GHz")
    link(50, 60)
    link(30, 50, status="Planned")
    return nodes


def test_summary_and_geojson(api, mesh):
    body = api.get("/api/v1/topology/", role="read_only").json()
    assert body["summary"]["nodes"] == 7
    assert body["summary"]["edges"] == 5  # parallel 10-40 links are one edge, Planned left out
    geo = api.get("/api/v1/topology/?format=geojson").json()
    assert geo["type"] == "FeatureCollection"


def test_path_exits_impact_critical_islands(api, mesh):
    path = api.get("/api/v1/topology/path/?from=30&to=1").json()
    assert path["hop_count"] == 3
    exits = api.get("/api/v1/topology/exits/30/").json()
    assert exits["hops"] == 3
    impact = api.get("/api/v1/topology/impact/10/").json()
    assert len(impact["lost"]) == 3  # 20, 30 and 40 lose the POP
    critical = api.get("/api/v1/topology/critical/").json()
    assert critical["articulation_points"]
    islands = api.get("/api/v1/topology/islands/").json()["islands"]
    assert len(islands) == 1 and islands[0]["size"] == 2
    neighbors = api.get("/api/v1/topology/neighbors/10/").json()["neighbors"]
    assert len(neighbors) == 3


def test_cache_follows_changes(api, mesh):
    assert api.get("/api/v1/topology/path/?from=50&to=1").status_code == 404
    link = api.get("/api/v1/links/lookup/?status=Planned").json()["results"][0]
    api.patch(f"/api/v1/links/{link['id']}/", json={"status": "Active"})
    assert api.get("/api/v1/topology/path/?from=50&to=1").json()["hop_count"] == 4


def test_observed_view_counts_only_links_with_both_ends_up(api, mesh):
    body = api.get("/api/v1/topology/?observed=true").json()
    assert body["summary"]["edges"] == 0


def test_unknown_node_and_bad_input(api, mesh):
    assert api.get("/api/v1/topology/exits/999/").status_code == 404
    assert api.get("/api/v1/topology/exits/0/").status_code == 422
    assert api.get("/api/v1/topology/path/?from=1").status_code == 422
    assert api.get("/api/v1/topology/", role=None).status_code == 401
