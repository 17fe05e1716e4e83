"""apply_ping_results on real PostgreSQL: observed state and its events, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from daemon.observe import DeviceResult, apply_ping_results
from ipam import models as m
from ipam.db import transaction
from ipam.enums import NodeStatus
from ipam.enums import ObservedStatus as S
from tests.daemon.helpers import add_device, add_link, add_node, event_counts, event_rows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
DEVICE = "device.status_changed"
NODE = "node.status_changed"
LINK = "link.status_changed"
DRIFT = "node.drift"


def apply(sessions, at: datetime, *results: tuple[m.Device, S], rtt: float | None = None):
    """One poll's verdicts, applied and committed as the daemon does."""
    verdicts = [
        DeviceResult(device.id, status, rtt_avg_ms=rtt if status == S.UP else None)
        for device, status in results
    ]
    with transaction(sessions) as session:
        return apply_ping_results(session, verdicts, at)


def observed(sessions, model, key) -> m.DeviceObservation | m.NodeObservation | m.LinkObservation:
    """The observation row of one device, node or link, read afresh."""
    with sessions() as session:
        row = session.get(model, key)
        assert row is not None
        return row


@pytest.fixture()
def one_node(sessions):
    """Node 101 (Active) with devices a and b."""
    with transaction(sessions) as session:
        node = add_node(session, 101)
        a = add_device(session, node, "nycmesh-101-a")
        b = add_device(session, node, "nycmesh-101-b")
    return node, a, b


def test_down_needs_two_results_in_a_row_and_up_one(sessions, db, one_node):
    node, a, _ = one_node
    steps = [
        (S.DOWN, S.PENDING, 0),  # one lost poll is not an outage
        (S.DOWN, S.DOWN, 1),
        (S.UP, S.UP, 2),  # one answer is enough to come back
        (S.DOWN, S.UP, 2),
        (S.UP, S.UP, 2),  # ... and resets the count of failures
        (S.DOWN, S.UP, 2),
        (S.DOWN, S.DOWN, 3),
    ]
    for i, (result, status, events) in enumerate(steps):
        apply(sessions, T0 + i * MINUTE, (a, result))
        row = observed(sessions, m.DeviceObservation, a.id)
        assert (i, row.status) == (i, status)
        assert (i, event_counts(db)[DEVICE]) == (i, events)
    changes = [(e["data"]["from"], e["data"]["to"]) for e in event_rows(db) if e["type"] == DEVICE]
    assert changes == [("pending", "down"), ("down", "up"), ("up", "down")]
    row = observed(sessions, m.DeviceObservation, a.id)
    assert row.since == T0 + 6 * MINUTE
    assert (row.first_seen, row.last_seen) == (T0 + 2 * MINUTE, T0 + 4 * MINUTE)


def test_events_are_written_in_the_same_transaction(sessions, db, one_node):
    _, a, b = one_node
    # Rolled back: neither the state nor its events remain.
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        apply_ping_results(session, [DeviceResult(a.id, S.UP), DeviceResult(b.id, S.UP)], T0)
        session.flush()
        raise RuntimeError("crash before commit")
    assert event_counts(db) == {}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.DeviceObservation)) == 0
    # Not yet committed: another connection sees no event; committed: it sees all of them.
    with sessions() as session:
        apply_ping_results(session, [DeviceResult(a.id, S.UP), DeviceResult(b.id, S.UP)], T0)
        session.flush()
        assert event_counts(db) == {}
        session.commit()
    assert event_counts(db) == {DEVICE: 2, NODE: 1}
    assert observed(sessions, m.DeviceObservation, a.id).status == S.UP


def test_node_state_follows_its_best_device(sessions, db, one_node):
    node, a, b = one_node
    apply(sessions, T0, (a, S.UP), (b, S.UP), rtt=4.0)
    obs = observed(sessions, m.NodeObservation, node.id)
    assert (obs.status, obs.since, obs.rtt_avg_ms) == (S.UP, T0, 4.0)
    for i in (1, 2):  # a goes down; b still answers, so the node stays up
        apply(sessions, T0 + i * MINUTE, (a, S.DOWN), (b, S.UP))
    assert observed(sessions, m.DeviceObservation, a.id).status == S.DOWN
    assert observed(sessions, m.NodeObservation, node.id).status == S.UP
    assert event_counts(db)[NODE] == 1
    for i in (3, 4):  # b goes down too: now the node is down
        apply(sessions, T0 + i * MINUTE, (a, S.DOWN), (b, S.DOWN))
    obs = observed(sessions, m.NodeObservation, node.id)
    assert (obs.status, obs.since, obs.rtt_avg_ms) == (S.DOWN, T0 + 4 * MINUTE, None)
    apply(sessions, T0 + 5 * MINUTE, (a, S.UP), (b, S.DOWN))
    assert observed(sessions, m.NodeObservation, node.id).status == S.UP
    changes = [(e["data"]["from"], e["data"]["to"]) for e in event_rows(db) if e["type"] == NODE]
    assert changes == [("pending", "up"), ("up", "down"), ("down", "up")]
    assert {e["subject_id"] for e in event_rows(db) if e["type"] == NODE} == {str(node.id)}


def test_link_state_comes_from_both_ends(sessions, db):
    with transaction(sessions) as session:
        near, far = add_node(session, 201), add_node(session, 202)
        a = add_device(session, near, "nycmesh-201-omni")
        b = add_device(session, far, "nycmesh-202-omni")
        c = add_device(session, far, "nycmesh-202-spare")
        link = add_link(session, a, b)
        planned = add_link(session, a, c)
        planned.status = "Planned"
    apply(sessions, T0, (a, S.UP), (b, S.UP), (c, S.UP))
    assert observed(sessions, m.LinkObservation, link.id).status == S.UP
    for i in (1, 2):  # only the far end is polled, and it goes down: so does the link
        apply(sessions, T0 + i * MINUTE, (b, S.DOWN))
    obs = observed(sessions, m.LinkObservation, link.id)
    assert (obs.status, obs.since) == (S.DOWN, T0 + 2 * MINUTE)
    apply(sessions, T0 + 3 * MINUTE, (b, S.UP))
    assert observed(sessions, m.LinkObservation, link.id).status == S.UP
    links = [e for e in event_rows(db) if e["type"] == LINK]
    assert [(e["data"]["from"], e["data"]["to"]) for e in links] == [
        ("pending", "up"),
        ("up", "down"),
        ("down", "up"),
    ]
    assert {e["subject_id"] for e in links} == {str(link.id)}  # a Planned link is not watched
    with sessions() as session:
        assert session.get(m.LinkObservation, planned.id) is None


@pytest.mark.parametrize(
    "recorded,drift_expected", [(NodeStatus.ACTIVE, True), (NodeStatus.INACTIVE, False)]
)
def test_drift_reported_once_after_thirty_days_down(sessions, db, recorded, drift_expected):
    with transaction(sessions) as session:
        node = add_node(session, 301, status=recorded)
        a = add_device(session, node, "nycmesh-301-omni")
    apply(sessions, T0, (a, S.UP))
    apply(sessions, T0 + MINUTE, (a, S.DOWN))
    down_at = T0 + 2 * MINUTE
    apply(sessions, down_at, (a, S.DOWN))
    assert observed(sessions, m.NodeObservation, node.id).since == down_at
    apply(sessions, down_at + timedelta(days=29, hours=23), (a, S.DOWN))
    assert event_counts(db)[DRIFT] == 0
    expected = 1 if drift_expected else 0
    for days in (30, 31, 45):  # reported once, not on every poll after
        apply(sessions, down_at + timedelta(days=days), (a, S.DOWN))
        assert event_counts(db)[DRIFT] == expected
    if not drift_expected:
        return
    (drift,) = [e for e in event_rows(db) if e["type"] == DRIFT]
    assert drift["subject_id"] == str(node.id)
    assert drift["data"] == {"recorded": "Active", "observed": "down", "since": down_at.isoformat()}
    # It comes back, goes down again, and 30 more days later it is a new report.
    back = down_at + timedelta(days=50)
    apply(sessions, back, (a, S.UP))
    assert observed(sessions, m.NodeObservation, node.id).drift_reported_at is None
    apply(sessions, back + MINUTE, (a, S.DOWN))
    apply(sessions, back + 2 * MINUTE, (a, S.DOWN))
    apply(sessions, back + timedelta(days=31), (a, S.DOWN))
    assert event_counts(db)[DRIFT] == 2


def test_no_event_when_nothing_changes(sessions, db, one_node):
    node, a, b = one_node
    apply(sessions, T0, (a, S.UP), (b, S.UP), rtt=2.0)
    first = event_counts(db)
    assert first == {DEVICE: 2, NODE: 1}
    for i in range(1, 4):
        outcome = apply(sessions, T0 + i * MINUTE, (a, S.UP), (b, S.UP), rtt=3.0)
        assert outcome.transitions == []
        assert outcome.devices == 2
    assert event_counts(db) == first
    row = observed(sessions, m.DeviceObservation, a.id)
    # The measurements still move on; only the status (and its events) stays put.
    assert (row.status, row.since) == (S.UP, T0)
    assert row.last_seen == row.icmp_at == T0 + 3 * MINUTE
    assert row.rtt_avg_ms == 3.0
    # Not monitored is a state too: entered once, then quiet.
    for i in range(4, 7):
        apply(sessions, T0 + i * MINUTE, (a, S.UNKNOWN))
    assert event_counts(db)[DEVICE] == 3
