"""The routing collector against real BIRD 2 and FRR routers in network namespaces."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from collectors.guard import ProbeGuard
from collectors.routing import sources
from daemon.routing import poll_routing
from ipam import models as m
from ipam.db import transaction
from ipam.settings import Settings
from tests.daemon.helpers import add_device, add_link, add_node, event_rows
from tests.ospf_mesh import need_bird, need_frr, ospf_mesh, wait_for

pytestmark = pytest.mark.peer

# NN 301..303: router ids 10.69.3.1..3, LANs 10.96.75.64/26, .128/26, .192/26 (64 x NN).
LAN = {301: "10.96.75.64/26", 302: "10.96.75.128/26", 303: "10.96.75.192/26"}
GUARD = ProbeGuard()


def _read(url: str):
    return asyncio.run(sources.read(sources.parse_source(url), guard=GUARD, timeout=5))


def _reachable(url: str, wanted: dict[str, bool]) -> bool:
    db = _read(url)
    seen = {str(r.router_id): bool(r.reachable) for r in db.routers}
    return all(seen.get(rid) == want for rid, want in wanted.items())


def _records(sessions):
    with transaction(sessions) as session:
        nodes = {nn: add_node(session, nn) for nn in LAN}
        dev = {nn: add_device(session, n, f"nycmesh-{nn}-omni") for nn, n in nodes.items()}
        return {
            "301-302": str(add_link(session, dev[301], dev[302]).id),
            "302-303": str(add_link(session, dev[302], dev[303]).id),
        }


def _states(sessions):
    with transaction(sessions) as session:
        nodes = dict(
            session.execute(
                select(m.Node.network_number, m.NodeObservation.status).join(
                    m.NodeObservation, m.NodeObservation.node_id == m.Node.id
                )
            ).all()
        )
        links = {
            str(r.link_id): (r.status, r.routing_state)
            for r in session.scalars(select(m.LinkObservation))
        }
        subnets = {str(r.prefix): r.status for r in session.scalars(select(m.SubnetState))}
    return nodes, links, subnets


def test_bird_mesh_cut_a_veth_and_hijack_a_lan(db, sessions, tmp_path, api):
    need_bird()
    links = _records(sessions)
    with ospf_mesh() as mesh:
        a = mesh.router("a", "10.69.3.1", [LAN[301]])
        b = mesh.router("b", "10.69.3.2", [LAN[302]])
        mesh.router("c", "10.69.3.3", [LAN[303]])
        mesh.link("a", "b", 10, 20)
        mesh.link("b", "c", 5, 5)
        mesh.start()
        url = f"bird://{a.socket}"
        all_up = {"10.69.3.1": True, "10.69.3.2": True, "10.69.3.3": True}
        wait_for(lambda: _reachable(url, all_up), what="three BIRD routers")
        wait_for(lambda: sum(len(r.externals) for r in _read(url).routers) == 3, what="LANs")
        settings = Settings(data_dir=tmp_path, routing_sources=[url])

        first = asyncio.run(poll_routing(sessions, settings))
        assert (first.routers, first.unknown, first.adjacencies) == (3, 0, 2)
        nodes, observed, subnets = _states(sessions)
        assert nodes == {301: "up", 302: "up", 303: "up"}  # no monitored device: routing alone
        assert observed == {links["301-302"]: ("up", "up"), links["302-303"]: ("up", "up")}
        # The veths' /30s are stubnets no allocation record covers.
        assert subnets == {
            **dict.fromkeys(LAN.values(), "announced_ok"),
            "198.18.0.0/30": "not_allocated",
            "198.18.1.0/30": "not_allocated",
        }
        with transaction(sessions) as session:
            adj = session.get(m.RoutingAdjacency, (301, 302))
            assert (adj.cost_ab, adj.cost_ba, adj.present) == (10, 20, True)
        path = api.get("/api/v1/topology/path/?from=301&to=303&weight=ospf").json()
        assert (path["nodes"], path["cost"]) == ([301, 302, 303], 15)

        mesh.cut("b", "c")
        wait_for(
            lambda: _reachable(url, {**all_up, "10.69.3.3": False}), what="the cut (unreachable)"
        )
        before = len(event_rows(db))
        asyncio.run(poll_routing(sessions, settings))
        nodes, observed, _ = _states(sessions)
        assert nodes[303] == "down" and nodes[302] == "up"
        assert observed[links["302-303"]] == ("down", "down")
        assert observed[links["301-302"]] == ("up", "up")
        new = [(e["type"], e["subject_id"], e["data"].get("to")) for e in event_rows(db)[before:]]
        assert ("link.status_changed", links["302-303"], "down") in new

        # 302's router starts announcing 301's LAN as well.
        b.reannounce([LAN[302], LAN[301]])
        wait_for(
            lambda: any(
                str(r.router_id) == "10.69.3.2" and len(r.externals) == 2
                for r in _read(url).routers
            ),
            what="the second announcement",
        )
        asyncio.run(poll_routing(sessions, settings))
        _, _, subnets = _states(sessions)
        assert subnets[LAN[301]] == "hijacked"
        assert api.get("/api/v1/nodes/301/health/").json()["routing"]["conflict"] is True
        hijacked = api.get("/api/v1/subnets/?status=hijacked").json()["results"]
        assert [(h["prefix"], h["announced_by"]) for h in hijacked] == [(LAN[301], [301, 302])]


def test_frr_and_bird_agree_on_the_same_database(db, sessions, tmp_path):
    need_frr()
    with ospf_mesh() as mesh:
        a = mesh.router("a", "10.69.3.1", [LAN[301]])
        c = mesh.router("c", "10.69.3.3", [LAN[303]], kind="frr")
        mesh.link("a", "c", 10, 15)
        mesh.start()
        bird_url, frr_url = f"bird://{a.socket}", f"frr://{c.socket}"
        both = {"10.69.3.1": True, "10.69.3.3": True}
        wait_for(lambda: _reachable(bird_url, both), what="BIRD's view")
        wait_for(lambda: _reachable(frr_url, both), what="FRR's view")
        wait_for(lambda: sum(len(r.externals) for r in _read(frr_url).routers) == 2, what="LANs")
        from_bird, from_frr = _read(bird_url), _read(frr_url)

        def summary(db):
            return {
                str(r.router_id): (
                    sorted((str(x.neighbor), x.cost) for x in r.routers),
                    sorted(str(e.prefix) for e in r.externals),
                )
                for r in db.routers
            }

        assert (
            summary(from_bird)
            == summary(from_frr)
            == {
                "10.69.3.1": ([("10.69.3.3", 10)], [LAN[301]]),
                "10.69.3.3": ([("10.69.3.1", 15)], [LAN[303]]),
            }
        )
        with transaction(sessions) as session:
            for nn in (301, 303):
                add_node(session, nn)
        settings = Settings(data_dir=tmp_path, routing_sources=[frr_url])
        outcome = asyncio.run(poll_routing(sessions, settings))
        assert (outcome.routers, outcome.adjacencies) == (2, 1)
        nodes, _, subnets = _states(sessions)
        assert nodes == {301: "up", 303: "up"}
        assert subnets == {
            LAN[301]: "announced_ok",
            LAN[303]: "announced_ok",
            "198.18.0.0/30": "not_allocated",
        }
