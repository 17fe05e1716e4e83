"""The routing cycle applied to a real database: visibility, links, subnets, drift, no-op cycles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from collectors.routing import bird_text
from daemon.routing import apply_routing
from ipam import models as m
from ipam.db import transaction
from ipam.enums import NodeStatus
from ipam.enums import ObservedStatus as S
from tests.daemon.helpers import add_device, add_link, add_node, event_rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# NN 101..106 have routers 10.69.1.1..10.69.1.6 (the plan's router addresses); 10.70.1.1 is
# infrastructure (maps to nothing). 101-102 are point-to-point, 102, 103 and 10.70.1.1 share
# a transit network; 104 hangs off 102. 102 also announces 101's LAN (a hijack).
DUMP = """area 0.0.0.0

\trouter 10.69.1.1
\t\tdistance 0
\t\trouter 10.69.1.2 metric 10
\t\texternal 10.96.25.64/26 metric 20

\trouter 10.69.1.2
\t\tdistance 10
\t\trouter 10.69.1.1 metric 20
\t\trouter 10.69.1.4 metric 5
\t\trouter 10.69.1.6 metric 1
\t\tnetwork 198.18.0.0/24 metric 7
\t\texternal 10.96.25.128/26 metric 20
\t\texternal 10.96.25.64/26 metric 20

\trouter 10.69.1.3
\t\tdistance 17
\t\tnetwork 198.18.0.0/24 metric 3
\t\texternal 10.96.25.192/27 metric 20

\trouter 10.69.1.4
\t\t{reach}
\t\trouter 10.69.1.2 metric 5

\trouter 10.69.1.5
\t\tdistance 30
\t\tnetwork 198.18.0.0/24 metric 1
\t\texternal 192.0.2.0/24 metric 20

\trouter 10.69.1.6
\t\tdistance 12
\t\trouter 10.69.1.2 metric 1

\trouter 10.70.1.1
\t\tdistance 20
\t\tnetwork 198.18.0.0/24 metric 1

\tnetwork 198.18.0.0/24
\t\tdr 10.70.1.1
\t\tdistance 17
\t\trouter 10.70.1.1
\t\trouter 10.69.1.2
\t\trouter 10.69.1.3
\t\trouter 10.69.1.5
"""
REACHABLE = DUMP.replace("{reach}", "distance 15")
CUT_OFF = DUMP.replace("{reach}", "unreachable")


def _world(sessions):
    with transaction(sessions) as session:
        nodes = {nn: add_node(session, nn) for nn in (101, 102, 104, 106)}
        nodes[103] = add_node(session, 103, status=NodeStatus.INACTIVE)
        dev = {nn: add_device(session, node, f"nycmesh-{nn}-omni") for nn, node in nodes.items()}
        # 101's device is pinged and silent: with its router in the database it is "visible".
        session.add(m.DeviceObservation(device_id=dev[101].id, status=S.DOWN, failures=3))
        links = {
            "101-102": add_link(session, dev[101], dev[102]).id,
            "102-104": add_link(session, dev[102], dev[104]).id,
            # Both ends visible, never an adjacency between them.
            "101-106": add_link(session, dev[101], dev[106]).id,
        }
        for nn in (102, 103, 104, 106):
            session.add(m.DeviceObservation(device_id=dev[nn].id, status=S.UNKNOWN))
        return {nn: n.id for nn, n in nodes.items()}, links


def _cycle(sessions, text, now):
    with transaction(sessions) as session:
        return apply_routing(session, [bird_text.parse(text)], now)


def _node_states(sessions):
    with transaction(sessions) as session:
        rows = session.execute(
            select(
                m.Node.network_number, m.NodeObservation.status, m.NodeObservation.routing_visible
            ).join(m.NodeObservation, m.NodeObservation.node_id == m.Node.id)
        )
        return {nn: (status, visible) for nn, status, visible in rows}


def test_first_cycle_applies_visibility_links_subnets_and_drift(db, sessions):
    _, links = _world(sessions)
    outcome = _cycle(sessions, REACHABLE, T0)
    assert (outcome.routers, outcome.unknown) == (7, 1)
    assert _node_states(sessions) == {
        101: ("visible", True),  # ping silent, router in the database
        102: ("up", True),  # no monitored device: routing alone
        103: ("up", True),
        104: ("up", True),
        106: ("up", True),
    }
    with transaction(sessions) as session:
        adj = {
            (r.nn_a, r.nn_b): (r.cost_ab, r.cost_ba, r.present)
            for r in session.scalars(select(m.RoutingAdjacency))
        }
        link_state = {
            str(r.link_id): (r.routing_state, r.status)
            for r in session.scalars(select(m.LinkObservation))
        }
        subnets = {
            str(r.prefix): (r.status, r.network_number, r.announced_by)
            for r in session.scalars(select(m.SubnetState))
        }
        drift = {(r.kind, r.subject) for r in session.scalars(select(m.DriftFinding))}
    # Each direction keeps its own cost; a transit network costs the leaving router's metric.
    assert adj == {
        (101, 102): (10, 20, True),
        (102, 104): (5, 5, True),
        (102, 103): (7, 3, True),
        (102, 105): (7, 1, True),
        (103, 105): (3, 1, True),
        (102, 106): (1, 1, True),
    }
    assert link_state == {
        str(links["101-102"]): ("up", "up"),
        str(links["102-104"]): ("up", "up"),
        # No verdict from routing: 101's device is silent, 106's unmonitored.
        str(links["101-106"]): ("absent", "down"),
    }
    assert subnets == {
        "10.96.25.64/26": ("hijacked", 101, [101, 102]),
        "10.96.25.128/26": ("announced_ok", 102, [102]),
        "10.96.25.192/27": ("subset", 103, [103]),
        "10.96.26.128/26": ("not_announced", 106, []),
        "10.96.26.0/26": ("not_announced", 104, []),
        "192.0.2.0/24": ("not_allocated", None, [105]),
    }
    assert drift == {
        ("visible_inactive", "103"),
        ("visible_unrecorded", "105"),
        ("adjacency_unrecorded", "102-103"),
        ("adjacency_unrecorded", "102-106"),
    }
    types = [e["type"] for e in event_rows(db)]
    assert types.count("subnet.status_changed") == 6
    assert sorted(t for t in types if t.startswith("drift.")) == [
        "drift.adjacency_unrecorded",
        "drift.adjacency_unrecorded",
        "drift.visible_inactive",
        "drift.visible_unrecorded",
    ]


def test_a_second_cycle_with_no_change_writes_nothing(db, sessions):
    _world(sessions)
    _cycle(sessions, REACHABLE, T0)
    events = len(event_rows(db))
    writes: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(db, "before_cursor_execute", count)
    try:
        outcome = _cycle(sessions, REACHABLE, T0 + timedelta(minutes=1))
    finally:
        event.remove(db, "before_cursor_execute", count)
    assert outcome.writes == 0 and outcome.transitions == []
    assert writes == []
    assert len(event_rows(db)) == events


def test_a_cut_off_router_takes_its_node_and_link_down(db, sessions):
    nodes, links = _world(sessions)
    _cycle(sessions, REACHABLE, T0)
    before = len(event_rows(db))
    outcome = _cycle(sessions, CUT_OFF, T0 + timedelta(minutes=1))
    assert _node_states(sessions)[104] == ("down", False)
    new = event_rows(db)[before:]
    assert {"type": "node.status_changed", "from": "up", "to": "down"} in [
        {"type": e["type"], **{k: e["data"].get(k) for k in ("from", "to")}}
        for e in new
        if e["subject_id"] == str(nodes[104])
    ]
    link_events = [e for e in new if e["type"] == "link.status_changed"]
    assert [(e["subject_id"], e["data"]["to"]) for e in link_events] == [
        (str(links["102-104"]), "down")
    ]
    assert ("link", str(links["102-104"]), "up", "down") in outcome.transitions
    # 104's LAN is no longer wanted from an invisible node.
    with transaction(sessions) as session:
        assert session.get(m.SubnetState, "10.96.26.0/26") is None


def test_an_active_link_without_adjacency_for_30_days_is_drift(db, sessions):
    _, links = _world(sessions)
    _cycle(sessions, REACHABLE, T0)
    _cycle(sessions, CUT_OFF, T0 + timedelta(minutes=1))
    _cycle(sessions, CUT_OFF, T0 + timedelta(days=29))
    with transaction(sessions) as session:
        kinds = {r.kind for r in session.scalars(select(m.DriftFinding))}
    assert "link_without_adjacency" not in kinds
    _cycle(sessions, CUT_OFF, T0 + timedelta(days=31))
    _cycle(sessions, CUT_OFF, T0 + timedelta(days=32))
    found = [e for e in event_rows(db) if e["type"] == "drift.link_without_adjacency"]
    # Lost for 30 days, and never seen for 30 days: each once.
    assert sorted(e["subject_id"] for e in found) == sorted(
        [str(links["102-104"]), str(links["101-106"])]
    )
    # The adjacency back: the finding goes, the link is up again.
    _cycle(sessions, REACHABLE, T0 + timedelta(days=33))
    with transaction(sessions) as session:
        assert session.get(m.LinkObservation, links["102-104"]).routing_state == "up"
        standing = {
            r.subject
            for r in session.scalars(select(m.DriftFinding))
            if r.kind == "link_without_adjacency"
        }
    assert standing == {str(links["101-106"])}  # 101-106 still never had one


def test_a_new_announcer_of_the_same_state_keeps_its_since(db, sessions):
    _world(sessions)
    _cycle(sessions, REACHABLE, T0)
    # 10.69.1.6 (NN 106) announces 192.0.2.0/24 too: still not allocated, one more announcer.
    more = REACHABLE.replace(
        "\trouter 10.69.1.6\n\t\tdistance 12\n",
        "\trouter 10.69.1.6\n\t\tdistance 12\n\t\texternal 192.0.2.0/24 metric 20\n",
    )
    assert more != REACHABLE
    events = len(event_rows(db))
    outcome = _cycle(sessions, more, T0 + timedelta(minutes=1))
    with transaction(sessions) as session:
        row = session.get(m.SubnetState, "192.0.2.0/24")
        assert (row.status, row.announced_by, row.since) == ("not_allocated", [105, 106], T0)
    assert outcome.writes == 1 and len(event_rows(db)) == events
