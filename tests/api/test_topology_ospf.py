"""Topology on the routing graph: weight=ospf paths and exits, and the failure simulator."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address

import networkx as nx
import pytest

from collectors.routing import bird_text
from daemon.routing import apply_routing
from ipam.db import transaction
from ipam.enums import NodeType
from tests.daemon.helpers import add_device, add_link, add_node

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# 201 is the exit. 203 reaches it directly at 10, or through 202 at 1 + 1; 204 only via 202.
DIAMOND = """area 0.0.0.0

\trouter 10.69.2.1
\t\tdistance 0
\t\trouter 10.69.2.2 metric 1
\t\trouter 10.69.2.3 metric 10

\trouter 10.69.2.2
\t\tdistance 1
\t\trouter 10.69.2.1 metric 1
\t\trouter 10.69.2.3 metric 1
\t\trouter 10.69.2.4 metric 1

\trouter 10.69.2.3
\t\tdistance 2
\t\trouter 10.69.2.1 metric 10
\t\trouter 10.69.2.2 metric 1

\trouter 10.69.2.4
\t\tdistance 2
\t\trouter 10.69.2.2 metric 1
"""


def _apply(sessions, text):
    with transaction(sessions) as session:
        apply_routing(session, [bird_text.parse(text)], T0)


@pytest.fixture()
def diamond(api, sessions):
    with transaction(sessions) as session:
        nodes = {nn: add_node(session, nn) for nn in (201, 202, 203, 204)}
        nodes[201].type = NodeType.POP
        dev = {nn: add_device(session, n, f"nycmesh-{nn}") for nn, n in nodes.items()}
        links = {
            pair: str(add_link(session, dev[pair[0]], dev[pair[1]]).id)
            for pair in ((201, 202), (202, 203), (201, 203), (202, 204))
        }
    _apply(sessions, DIAMOND)
    return links


def test_path_and_exit_by_ospf_cost(api, diamond):
    body = api.get("/api/v1/topology/path/?from=203&to=201&weight=ospf").json()
    assert body == {
        "nodes": [203, 202, 201],
        "hops": [{"src": 203, "dst": 202, "cost": 1}, {"src": 202, "dst": 201, "cost": 1}],
        "hop_count": 2,
        "cost": 2,
    }
    # By hops the direct link wins.
    assert api.get("/api/v1/topology/path/?from=203&to=201").json()["hop_count"] == 1
    exit_ = api.get("/api/v1/topology/exits/204/?weight=ospf").json()
    assert (exit_["exit"], exit_["route"]["cost"], exit_["route"]["nodes"]) == (
        201,
        2,
        [204, 202, 201],
    )
    assert api.get("/api/v1/topology/path/?from=203&to=999&weight=ospf").status_code == 404
    assert api.get("/api/v1/topology/path/?from=203&to=201&weight=bogus").status_code == 422


def test_simulate_on_both_graphs(api, diamond):
    observed = api.post("/api/v1/topology/simulate/", json={"nodes": [202]}).json()
    assert observed == {"lost_all_exits": [204], "lost_best_path": [203]}
    recorded = api.post(
        "/api/v1/topology/simulate/", json={"nodes": [202], "graph": "recorded"}
    ).json()
    assert recorded == {"lost_all_exits": [204], "lost_best_path": []}
    by_link = api.post(
        "/api/v1/topology/simulate/",
        json={"links": [diamond[(201, 203)]], "graph": "recorded"},
    ).json()
    assert by_link == {"lost_all_exits": [], "lost_best_path": [203]}
    # Failing the 202-203 link on the routing graph: 203 pays 10 instead of 2.
    cut = api.post("/api/v1/topology/simulate/", json={"links": [diamond[(202, 203)]]}).json()
    assert cut == {"lost_all_exits": [], "lost_best_path": [203]}
    assert api.post("/api/v1/topology/simulate/", json={"nodes": [9999]}).status_code == 422
    assert api.post("/api/v1/topology/simulate/", json={"links": ["nope"]}).status_code == 404


def _reference_graph(db):
    """networkx's own reading of the same database: SPF's edges (RFC 2328 16.1)."""
    g = nx.DiGraph()
    lists = {r.router_id: {link.neighbor for link in r.routers} for r in db.routers if r.reachable}
    members = {n.prefix: set(n.routers) for n in db.networks}
    for r in db.routers:
        if not r.reachable:
            continue
        for link in r.routers:
            if r.router_id in lists.get(link.neighbor, ()):
                old = g.get_edge_data(r.router_id, link.neighbor, {"weight": 1 << 30})["weight"]
                g.add_edge(r.router_id, link.neighbor, weight=min(old, link.cost))
        for net in r.networks:
            if r.router_id in members.get(net.network, ()):
                g.add_edge(r.router_id, net.network, weight=net.cost)
                g.add_edge(net.network, r.router_id, weight=0)
    return g


@pytest.mark.realdata
def test_ospf_paths_match_networkx_on_the_real_database(api, sessions, shared_data):
    text = (shared_data / "nycmesh-ospf" / "bird-show-ospf-state-2023-04-29.txt").read_text()
    db = bird_text.parse(text)
    nns = {227: "10.69.2.27", 3: "10.69.0.3", 1932: "10.69.19.32", 713: "10.69.7.13"}
    with transaction(sessions) as session:
        for nn in nns:
            add_node(session, nn)
    _apply(sessions, text)
    reference = _reference_graph(db)
    checked = 0
    for a in nns:
        for b in nns:
            if a == b:
                continue
            answer = api.get(f"/api/v1/topology/path/?from={a}&to={b}&weight=ospf")
            routers_a = [r.router_id for r in db.routers if str(r.router_id) == nns[a]]
            if not routers_a or IPv4Address(nns[b]) not in reference:
                continue
            expected = nx.dijkstra_path_length(reference, routers_a[0], IPv4Address(nns[b]))
            assert answer.status_code == 200, answer.text
            assert answer.json()["cost"] == expected, (a, b)
            checked += 1
    assert checked >= 6
