"""ipam.topology.mesh on real meshes: NYC Mesh's map feed and Freifunk Bremen's meshviewer dump."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import pytest

from bench.datasets import load_meshviewer, load_nycmesh_detailed
from ipam.topology.mesh import Route, TopoLink, Topology, build

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def nyc(shared_data: Path) -> tuple[Topology, dict, list[TopoLink]]:
    """NYC Mesh: the topology, the loader's report and the links it read."""
    load = load_nycmesh_detailed(shared_data / "nycmesh-network-map")
    return build(load.nodes, load.links), load.report, load.links


@pytest.fixture(scope="module")
def bremen(shared_data: Path) -> tuple[Topology, list[TopoLink]]:
    """Freifunk Bremen: the topology and the links it was built from."""
    nodes, links = load_meshviewer(shared_data / "freifunk" / "freifunk-bremen-meshviewer.json")
    return build(nodes, links), links


def check_route(topo: Topology, route: Route, links: list[TopoLink]) -> None:
    """Every hop joins adjacent nodes, and every link it names really joins those two nodes."""
    by_id = {link.id: link for link in links}
    assert route.hop_count == len(route.hops) == len(route.nodes) - 1
    for hop, a, b in zip(route.hops, route.nodes, route.nodes[1:], strict=False):
        assert (hop.src, hop.dst) == (a, b)
        ka, kb = _key(topo, a), _key(topo, b)
        assert topo.graph.has_edge(ka, kb)
        assert hop.links
        for link_id in hop.links:
            link = by_id[link_id]
            assert {link.from_node, link.to_node} == {ka, kb} and link.status == "Active"


def _key(topo: Topology, ref: int | str) -> str:
    """Node key of an answer's node ref."""
    return topo.key(ref) if isinstance(ref, int) else ref


def sample_nns(topo: Topology, count: int, seed: int) -> list[int]:
    """A fixed random sample of the network numbers in a topology."""
    nns = sorted(n.network_number for n in topo.nodes.values() if n.network_number is not None)
    return random.Random(seed).sample(nns, min(count, len(nns)))


def test_nyc_counts(nyc: tuple[Topology, dict, list[TopoLink]]) -> None:
    topo, report, links = nyc
    assert report["rows"] == 14806
    assert report["links"] == len(links) == 1392
    assert report["links_dangling"] == 111  # the data README's count of links to absent ids
    assert report["links_by_status"] == {
        "active": 1239,
        "planned": 78,
        "60GHz": 56,
        "vpn": 16,
        "fiber": 3,
    }
    assert len(topo.report.dangling) == 111
    summary = topo.summary()
    # Every link is on an edge or counted as left out, nothing lost in between.
    kept = summary.links + summary.dangling_links + summary.self_loops + summary.not_active_links
    assert kept == 1392
    assert summary.links_by_type["60 GHz"] == 56 and summary.links_by_type["VPN"] == 16
    # Every "NN assigned" row is a node; the well-known supernodes are exits.
    assert {"nn-227", "nn-713", "nn-1934"} <= topo.exits
    assert topo.nodes["nn-227"].type == "Supernode" and topo.nodes["nn-10"].type == "POP"
    assert topo.nodes["nn-3"].type == "Hub"  # notes "Hub: LiteBeamLR to SN1 ..."
    assert topo.nodes["nn-3127"].type == "Standard"  # notes "Lbe to SN1": a mention, no role
    assert topo.nodes["nn-219"].status == "Active"  # "NN assigned", with Installed installs there


def test_nyc_answers_are_real(nyc: tuple[Topology, dict, list[TopoLink]]) -> None:
    topo, _, links = nyc
    graph = topo.graph
    nns = sample_nns(topo, 120, seed=1)
    for a, b in zip(nns, nns[1:], strict=False):
        route = topo.path(a, b)
        ka, kb = topo.key(a), topo.key(b)
        if route is None:
            assert not nx.has_path(graph, ka, kb)
        else:
            check_route(topo, route, links)
            assert route.hop_count == nx.shortest_path_length(graph, ka, kb)
    for nn in nns:
        answer = topo.nearest_exit(nn)
        if answer is not None:
            check_route(topo, answer.route, links)
            assert _key(topo, answer.exit) in topo.exits
            length, _ = nx.multi_source_dijkstra(graph, topo.exits, target=topo.key(nn))
            assert answer.hops == length


def test_nyc_critical_and_impact(nyc: tuple[Topology, dict, list[TopoLink]]) -> None:
    topo, _, _ = nyc
    graph = topo.graph
    critical = topo.critical()
    assert {_key(topo, r) for r in critical.articulation_points} == set(
        nx.articulation_points(graph)
    )
    assert len(critical.bridges) == len(list(nx.bridges(graph)))
    assert 227 in critical.articulation_points  # Supernode 1 holds up a part of Manhattan
    reach = {k for c in nx.connected_components(graph) if c & topo.exits for k in c}
    # Only nodes with an NN can be asked about; a few cut nodes in NYC have none yet.
    cut = [ref for ref in critical.articulation_points if isinstance(ref, int)]
    assert len(cut) > 100
    for ref in cut[:40]:
        key = _key(topo, ref)
        rest = nx.restricted_view(graph, [key], [])
        after = {k for c in nx.connected_components(rest) if c & topo.exits for k in c}
        assert {_key(topo, r) for r in topo.impact(ref).lost} == reach - after - {key}
    # A leaf's only neighbour, when it fails, takes the leaf off the mesh (unless it is an exit).
    for key in graph:
        nn = topo.nodes[key].network_number
        if graph.degree(key) != 1 or key in topo.exits or key not in reach or nn is None:
            continue
        (only,) = graph.adj[key]
        only_nn = topo.nodes[only].network_number
        if only in topo.exits or only_nn is None:
            continue
        assert nn in topo.impact(only_nn).lost
        assert topo.impact(nn).lost == ()
    # An exit never loses its way out: it is one.
    for ref in cut:
        assert not {_key(topo, r) for r in topo.impact(ref).lost} & topo.exits


def test_nyc_islands(nyc: tuple[Topology, dict, list[TopoLink]]) -> None:
    topo, _, _ = nyc
    islands = topo.islands()
    expected = [c for c in nx.connected_components(topo.graph) if not c & topo.exits]
    assert sorted(island.size for island in islands) == sorted(len(c) for c in expected)
    for island in islands:
        ref = island.nodes[0]
        if isinstance(ref, int):
            assert topo.nearest_exit(ref) is None


def test_nyc_geojson(nyc: tuple[Topology, dict, list[TopoLink]]) -> None:
    topo, _, _ = nyc
    geo = topo.to_geojson()
    points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
    assert len(points) == topo.graph.number_of_nodes()  # every NYC row has coordinates
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == topo.graph.number_of_edges()


def test_bremen_counts(bremen: tuple[Topology, list[TopoLink]]) -> None:
    topo, links = bremen
    summary = topo.summary()
    assert summary.nodes == 891
    assert summary.links == len(links) == 1395
    assert summary.dangling_links == summary.self_loops == 0
    assert summary.exits == 6  # is_gateway
    assert summary.edges < 1395  # batman-adv reports many links both ways: parallel links
    assert (
        sum(island.size for island in topo.islands())
        + sum(len(c) for c in nx.connected_components(topo.graph) if c & topo.exits)
        == 891
    )


def test_bremen_answers_are_real(bremen: tuple[Topology, list[TopoLink]]) -> None:
    topo, links = bremen
    graph = topo.graph
    nns = sample_nns(topo, 150, seed=2)
    for a, b in zip(nns, nns[1:], strict=False):
        route = topo.path(a, b)
        if route is not None:
            check_route(topo, route, links)
            assert route.hop_count == nx.shortest_path_length(graph, topo.key(a), topo.key(b))
    for nn in nns:
        answer = topo.nearest_exit(nn)
        key = topo.key(nn)
        if answer is None:
            assert not any(nx.has_path(graph, key, e) for e in topo.exits)
            continue
        check_route(topo, answer.route, links)
        seen = topo.observed.nearest_exit(nn)
        # Fewer usable links can only make the way out longer, never shorter.
        assert seen is None or seen.hops >= answer.hops
        if topo.nodes[key].observed_status != "up":
            assert seen is None  # a node not seen up reaches nothing in the observed view


def test_bremen_observed_view(bremen: tuple[Topology, list[TopoLink]]) -> None:
    topo, _ = bremen
    seen = topo.observed
    for a, b in seen.graph.edges:
        assert topo.nodes[a].observed_status == topo.nodes[b].observed_status == "up"
    assert seen.graph.number_of_nodes() == topo.graph.number_of_nodes()
    assert seen.exits <= topo.exits
    assert seen.summary().links <= topo.summary().links
