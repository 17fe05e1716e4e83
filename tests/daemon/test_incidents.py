"""Outages, incidents, flapping and availability from real transitions on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from daemon.observe import DeviceResult, apply_ping_results
from ipam import models as m
from ipam.db import transaction
from ipam.enums import ObservedStatus as S
from ipam.incidents.store import Watch
from tests.daemon.helpers import check_transitions, event_rows
from tests.daemon.incident_mesh import HUB, LEAVES, POP, build_mesh, poll

MINUTE = timedelta(minutes=1)


def incident_events(db):
    return [e for e in event_rows(db) if e["type"].startswith("incident.")]


@pytest.fixture()
def mesh(api):
    return build_mesh(api)


def test_a_hub_failure_is_one_incident_with_the_hub_as_cause(api, db, sessions, mesh):
    t0 = datetime.now(UTC).replace(microsecond=0) - 30 * MINUTE
    behind = (HUB, *LEAVES)
    poll(sessions, mesh, t0)
    poll(sessions, mesh, t0 + MINUTE, down=behind)  # one bad sweep is no outage yet
    assert incident_events(db) == []
    poll(sessions, mesh, t0 + 2 * MINUTE, down=behind)
    poll(sessions, mesh, t0 + 3 * MINUTE, down=behind)  # still down: nothing new
    events = incident_events(db)
    assert [e["type"] for e in events] == ["incident.opened"]
    opened = events[0]["data"]
    assert opened["cause"]["kind"] == "node"
    assert opened["cause"]["label"] == "NN 227 (Hub)"
    assert opened["affected_nns"] == [HUB, *LEAVES]
    assert (opened["nodes"], opened["installs"], opened["members"]) == (4, 6, 6)
    assert "Member" not in str(events)  # counts only: no member name or contact in events

    # Every node, device and link that went dark has one open outage in that incident.
    body = api.get("/api/v1/outages/?open=true&page_size=100").json()
    assert body["count"] == 4 + 4 + 4  # nodes, devices, links (POP-hub and hub-leaves)
    assert {o["incident"] for o in body["results"]} == {opened["id"]}
    assert {o["started_at"] for o in body["results"]} == {(t0 + 2 * MINUTE).isoformat()}
    # A link's outage is listed under both of its ends' NNs.
    leaf = api.get(f"/api/v1/outages/?network_number={LEAVES[0]}").json()["results"]
    assert sorted(o["kind"] for o in leaf) == ["device", "link", "node"]
    pop = api.get(f"/api/v1/outages/?network_number={POP}").json()["results"]
    assert [o["kind"] for o in pop] == ["link"]

    incident = api.get("/api/v1/incidents/?open=true").json()["results"]
    assert [i["id"] for i in incident] == [opened["id"]]

    # One leaf comes back before the hub (its own path cannot, but a test may say so).
    poll(sessions, mesh, t0 + 4 * MINUTE, down=(HUB, *LEAVES[1:]))
    updated = incident_events(db)[-1]
    assert updated["type"] == "incident.updated"
    assert updated["data"]["returned_nns"] == [LEAVES[0]]
    assert updated["data"]["installs"] == 4

    poll(sessions, mesh, t0 + 7 * MINUTE)  # the hub returns: resolved, once
    events = incident_events(db)
    assert [e["type"] for e in events] == [
        "incident.opened",
        "incident.updated",
        "incident.resolved",
    ]
    resolved = events[-1]["data"]
    assert resolved["duration_s"] == 5 * 60.0
    assert api.get("/api/v1/outages/?open=true").json()["count"] == 0
    detail = api.get(f"/api/v1/incidents/{opened['id']}/").json()
    assert detail["open"] is False and len(detail["outages"]) == 12
    hub_outage = next(
        o for o in detail["outages"] if o["kind"] == "node" and o["network_numbers"] == [HUB]
    )
    assert hub_outage["duration_s"] == 5 * 60.0
    check_transitions(event_rows(db))

    # Availability: monitored from t0 (30 min ago), down 5 of those minutes.
    health = api.get(f"/api/v1/nodes/{HUB}/health/").json()["availability"]["1d"]
    assert health["down_s"] == 300.0
    assert health["unmonitored_s"] == pytest.approx(86400 - health["monitored_s"])
    assert health["availability_pct"] == pytest.approx(
        100 * (1 - 300 / health["monitored_s"]), abs=1e-3
    )
    ranking = api.get("/api/v1/availability/?period=30d").json()
    assert ranking["count"] == 4
    # The hub and two leaves were down 5 minutes, the first leaf 2: it ranks last (best).
    assert [r["network_numbers"] for r in ranking["results"]][-1] == [LEAVES[0]]
    assert [r["down_s"] for r in ranking["results"]] == [300.0, 300.0, 300.0, 120.0]
    assert ranking["results"][0]["availability_pct"] < ranking["results"][-1]["availability_pct"]
    device = api.get(f"/api/v1/devices/{mesh.device_id(POP)}/health/").json()["availability"]
    assert device["7d"]["down_s"] == 0.0 and device["7d"]["availability_pct"] == 100.0


def test_a_lone_leaf_is_its_own_incident_and_a_later_hub_failure_absorbs_it(db, sessions, mesh):
    t0 = datetime.now(UTC) - 30 * MINUTE
    poll(sessions, mesh, t0)
    for i in (1, 2):
        poll(sessions, mesh, t0 + i * MINUTE, down=(LEAVES[0],))
    first = incident_events(db)
    assert [(e["type"], e["data"]["affected_nns"]) for e in first] == [
        ("incident.opened", [LEAVES[0]])
    ]
    for i in (3, 4):
        poll(sessions, mesh, t0 + i * MINUTE, down=(HUB, *LEAVES))
    kinds = [(e["type"], e["data"]["cause"]["label"]) for e in incident_events(db)]
    assert kinds == [
        ("incident.opened", "NN 1934 (Leaf 1934)"),
        ("incident.opened", "NN 227 (Hub)"),
        ("incident.resolved", "NN 1934 (Leaf 1934)"),
    ]
    hub = incident_events(db)[1]["data"]
    assert incident_events(db)[2]["data"]["merged_into"] == hub["id"]
    with sessions() as session:
        owners = set(
            session.scalars(select(m.Outage.incident_id).where(m.Outage.ended_at.is_(None)))
        )
    assert owners == {hub["id"]}


def test_a_flapping_node_is_one_event_and_one_incident_until_it_settles(db, sessions, mesh):
    t0 = datetime.now(UTC) - 10 * 60 * MINUTE
    watch = Watch(flap_transitions=4)
    poll(sessions, mesh, t0, watch=watch)
    at = t0
    for _ in range(4):  # down (two bad sweeps), then up: two transitions each round
        for _ in range(2):
            at += MINUTE
            poll(sessions, mesh, at, down=(LEAVES[2],), watch=watch)
        at += MINUTE
        poll(sessions, mesh, at, watch=watch)
    types = [e["type"] for e in event_rows(db)]
    assert types.count("node.flapping") == 1
    # Round one opened and resolved an incident; from round two on (4 transitions: flapping)
    # the falls and returns fold into one incident that stays open.
    events = incident_events(db)
    opened = [e for e in events if e["type"] == "incident.opened"]
    assert len(opened) == 2
    assert [e["type"] for e in events if e["data"]["id"] == opened[1]["data"]["id"]][-1] in (
        "incident.updated",
        "incident.opened",
    )
    assert api_open(sessions) == [opened[1]["data"]["id"]]
    # Quiet for an hour: it settles and the incident is resolved.
    poll(sessions, mesh, at + 61 * MINUTE, watch=watch)
    assert "node.flapping_ended" in [e["type"] for e in event_rows(db)]
    assert incident_events(db)[-1]["type"] == "incident.resolved"
    assert api_open(sessions) == []


def api_open(sessions):
    with sessions() as session:
        return list(session.scalars(select(m.Incident.id).where(m.Incident.ended_at.is_(None))))


def test_a_hub_alive_but_cut_off_blames_its_link(db, sessions, mesh):
    # The hub's radio is seen (visible: UISP still reaches it) but nothing behind it answers:
    # the hub is not down, so the link from the POP that cut them all off is the cause.
    t0 = datetime.now(UTC) - 30 * MINUTE
    poll(sessions, mesh, t0)
    for i in (1, 2):
        results = [
            DeviceResult(mesh.device_id(nn), S.VISIBLE if nn == HUB else S.DOWN)
            for nn in (HUB, *LEAVES)
        ] + [DeviceResult(mesh.device_id(POP), S.UP, rtt_avg_ms=1.0)]
        with transaction(sessions) as session:
            apply_ping_results(session, results, t0 + i * MINUTE)
    (opened,) = incident_events(db)
    data = opened["data"]
    assert data["cause"]["kind"] == "link"
    assert data["cause"]["id"] == mesh.links[HUB]["id"]
    assert (data["cause"]["label"], data["headline"]) == (f"link {HUB}-{POP}", "NN 227 (Hub)")
    assert data["affected_nns"] == [HUB, *LEAVES]
    with sessions() as session:
        node_outages = session.scalars(select(m.Outage).where(m.Outage.kind == "node")).all()
    # A visible node is alive: no node outage for the hub, one for each leaf.
    assert sorted(o.network_numbers[0] for o in node_outages) == list(LEAVES)
