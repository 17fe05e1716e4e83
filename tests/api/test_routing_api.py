"""Subnet states, drift findings and the node health routing block over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from ipam import models as m
from ipam.db import transaction
from tests.daemon.test_routing_apply import REACHABLE, _cycle, _world


def _routed(sessions):
    nodes, links = _world(sessions)
    _cycle(sessions, REACHABLE, datetime(2026, 1, 1, tzinfo=UTC))
    with transaction(sessions) as session:
        session.add(
            m.CollectorState(
                name="routing",
                runs_total=1,
                errors_total=0,
                targets=0,
                last_success=datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC),
            )
        )
    return nodes, links


def test_subnets_filters_and_pages(api, sessions):
    _routed(sessions)
    everything = api.get("/api/v1/subnets/").json()
    assert everything["count"] == 6
    assert [r["prefix"] for r in everything["results"]][:2] == ["10.96.25.64/26", "10.96.25.128/26"]
    hijacked = api.get("/api/v1/subnets/?status=hijacked").json()["results"]
    assert hijacked == [
        {
            "prefix": "10.96.25.64/26",
            "status": "hijacked",
            "network_number": 101,
            "announced_by": [101, 102],
            "routers": ["10.69.1.1", "10.69.1.2"],
            "since": "2026-01-01T00:00:00+00:00",
        }
    ]
    # By node: as owner or as announcer.
    by_102 = api.get("/api/v1/subnets/?network_number=102").json()["results"]
    assert {r["prefix"] for r in by_102} == {"10.96.25.64/26", "10.96.25.128/26"}
    within = api.get("/api/v1/subnets/?prefix=10.96.25.128/25").json()["results"]
    assert [r["prefix"] for r in within] == ["10.96.25.128/26", "10.96.25.192/27"]
    page = api.get("/api/v1/subnets/?page_size=2&page=3").json()
    assert page["count"] == 6 and page["next"] is None and len(page["results"]) == 2
    bad = api.get("/api/v1/subnets/?status=stolen")
    assert bad.status_code == 422
    assert api.get("/api/v1/subnets/?prefix=10.96.25.999/26").status_code == 422
    assert api.get("/api/v1/subnets/", role=None).status_code == 401


def test_drift_lists_routing_findings_and_down_nodes(api, sessions):
    nodes, _ = _routed(sessions)
    with transaction(sessions) as session:
        session.execute(
            update(m.NodeObservation)
            .where(m.NodeObservation.node_id == nodes[106])
            .values(status="down", drift_reported_at=datetime(2026, 2, 1, tzinfo=UTC))
        )
    body = api.get("/api/v1/drift/").json()["results"]
    assert {(f["kind"], f["subject"]) for f in body} == {
        ("visible_inactive", "103"),
        ("visible_unrecorded", "105"),
        ("adjacency_unrecorded", "102-103"),
        ("adjacency_unrecorded", "102-106"),
        ("active_but_down", str(nodes[106])),
    }


def test_node_health_has_a_routing_block(api, sessions):
    _routed(sessions)
    block = api.get("/api/v1/nodes/102/health/").json()["routing"]
    assert block == {
        "visible": True,
        "router_ids": ["10.69.1.2"],
        "adjacencies": 5,  # 101, 103, 104, 105 and 106
        "last_seen": "2026-01-01T00:00:05+00:00",
        "conflict": True,  # it announces 101's LAN
    }
    assert api.get("/api/v1/nodes/101/health/").json()["routing"]["conflict"] is True
    assert api.get("/api/v1/nodes/106/health/").json()["routing"]["conflict"] is False


def test_unknown_routers_are_listed(api, sessions):
    _routed(sessions)
    unknown = api.get("/api/v1/routing/routers/?mapped=false").json()
    assert [(r["router_id"], r["network_number"], r["visible"]) for r in unknown["results"]] == [
        ("10.70.1.1", None, True)
    ]
    mapped = api.get("/api/v1/routing/routers/?mapped=true").json()
    assert mapped["count"] == 6
    assert {r["mapped_by"] for r in mapped["results"]} == {"router_id"}
