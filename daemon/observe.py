"""Applying what collectors saw: device, node and link observed state, with their events."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import DeviceStatus, LinkStatus, NodeStatus, Subject
from ipam.enums import ObservedStatus as S
from ipam.incidents.outages import Transition as Moved
from ipam.incidents.outages import record_transitions
from ipam.incidents.store import Watch, refresh_incidents
from ipam.observed.history import record_ping
from ipam.observed.rules import (
    State,
    Thresholds,
    drifted,
    link_status,
    node_status_with_routing,
    step,
)
from ipam.records.changes import write_event
from ipam.records.versions import bump_observed


@dataclass(frozen=True)
class DeviceResult:
    """One poll's verdict on one device, with whatever measurements came with it."""

    device_id: uuid.UUID
    status: S
    address: str | None = None
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    packet_loss: float | None = None
    duplicates: int = 0
    error: str | None = None


@dataclass
class Outcome:
    """What one application changed: transitions by kind, for the summary and the logs."""

    devices: int = 0
    transitions: list[tuple[str, str, str, str]] = field(default_factory=list)

    def note(self, kind: str, subject: str, before: str, after: str) -> None:
        """Remember one transition."""
        self.transitions.append((kind, subject, before, after))

    def summary(self) -> str:
        """One line for the CLI: how many devices, which transitions."""
        changes = ", ".join(f"{k} {s}: {b} -> {a}" for k, s, b, a in self.transitions[:10])
        more = len(self.transitions) - 10
        tail = f" (+{more} more)" if more > 0 else ""
        return f"{self.devices} devices, {len(self.transitions)} transitions{tail}" + (
            f": {changes}" if changes else ""
        )


def observations_for(
    session: Session, device_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, m.DeviceObservation]:
    """Observation rows of these devices, locked, created as pending where missing."""
    ids = list(device_ids)
    rows = {
        row.device_id: row
        for row in session.scalars(
            select(m.DeviceObservation)
            .where(m.DeviceObservation.device_id.in_(ids))
            .with_for_update()
        )
    }
    for device_id in ids:
        if device_id not in rows:
            row = m.DeviceObservation(
                device_id=device_id, status=S.PENDING, failures=0, successes=0
            )
            session.add(row)
            rows[device_id] = row
    session.flush()
    return rows


def _state(row: m.DeviceObservation) -> State:
    return State(
        status=S(row.status),
        since=row.since,
        failures=row.failures or 0,
        successes=row.successes or 0,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )


def apply_ping_results(
    session: Session,
    results: Iterable[DeviceResult],
    now: datetime,
    limits: Thresholds = Thresholds(),
    watch: Watch = Watch(),
    history: bool = True,
) -> Outcome:
    """Fold ICMP verdicts into device state; transitions become events in this transaction.

    Outages open and close, and incidents follow, in the same transaction (issue 15).
    """
    results = list(results)
    outcome = Outcome(devices=len(results))
    rows = observations_for(session, (r.device_id for r in results))
    devices = _devices(session, rows)
    moved: list[Moved] = []
    for result in results:
        row = rows[result.device_id]
        before = S(row.status)
        state, change = step(_state(row), result.status, now, limits)
        row.status, row.since = state.status, state.since
        row.failures, row.successes = state.failures, state.successes
        row.first_seen, row.last_seen = state.first_seen, state.last_seen
        row.address = result.address
        row.icmp_at = now
        row.duplicates = result.duplicates
        row.last_error = result.error
        if result.rtt_avg_ms is not None or result.status == S.DOWN:
            row.rtt_min_ms, row.rtt_avg_ms = result.rtt_min_ms, result.rtt_avg_ms
            row.rtt_max_ms, row.packet_loss = result.rtt_max_ms, result.packet_loss
        if change is not None:
            device = devices[result.device_id]
            nn = device.network_number
            write_event(
                session,
                "device.status_changed",
                "devices",
                str(result.device_id),
                {"from": change.before.value, "to": change.after.value, "name": device.name},
                network_number=nn,
            )
            moved.append(Moved(Subject.DEVICE, device.id, [nn], change.before, change.after))
            outcome.note("device", device.name or str(device.id), before, state.status)
    if history:
        record_ping(session, results, now)
    session.flush()
    record_transitions(session, moved, now, watch.flap_transitions)
    bump_observed(session)
    touched_nodes = {devices[r.device_id].node_id for r in results}
    refresh_nodes(session, touched_nodes, now, outcome, watch)
    refresh_links(session, set(rows), now, outcome, watch)
    mesh_moved = any(kind in ("node", "link") for kind, *_ in outcome.transitions)
    flapping = select(exists().where(m.Monitored.flapping_since.is_not(None)))
    if mesh_moved or session.scalar(flapping):
        # Incidents change only when a node or link moves, or when flapping settles with time;
        # a cycle that moves nothing else costs one small query.
        refresh_incidents(session, now, watch)
    return outcome


def _devices(session: Session, rows: Mapping[uuid.UUID, object]) -> dict[uuid.UUID, Any]:
    """id -> (id, name, node_id, network_number): plain rows, no ORM objects.

    A cycle touches every device: building a polymorphic Device and its Node per row only to
    read these four values was a third of the cycle's CPU, held under the GIL beside the API.
    """
    device, node = m.Device.__table__.c, m.Node.__table__.c
    found = session.execute(
        select(device.id, device.name, device.node_id, node.network_number)
        .join_from(m.Device.__table__, m.Node.__table__, node.id == device.node_id)
        .where(device.id.in_(list(rows)))
    )
    return {row.id: row for row in found}


def refresh_nodes(
    session: Session,
    node_ids: Iterable[uuid.UUID],
    now: datetime,
    outcome: Outcome,
    watch: Watch = Watch(),
) -> None:
    """Recompute the observed state of these nodes from their devices'."""
    node_ids = list(node_ids)
    if not node_ids:
        return
    per_node: dict[uuid.UUID, list[m.DeviceObservation]] = defaultdict(list)
    device = m.Device.__table__.c  # the base table: no sector / access point joins
    for node_id, row in session.execute(
        select(device.node_id, m.DeviceObservation)
        .join(m.DeviceObservation, m.DeviceObservation.device_id == device.id)
        .where(device.node_id.in_(node_ids), device.status == DeviceStatus.ACTIVE)
    ):
        per_node[node_id].append(row)
    node_table = m.Node.__table__.c
    nodes = {
        n.id: n
        for n in session.execute(
            select(node_table.id, node_table.network_number, node_table.status).where(
                node_table.id.in_(node_ids)
            )
        )
    }
    existing = {
        row.node_id: row
        for row in session.scalars(
            select(m.NodeObservation)
            .where(m.NodeObservation.node_id.in_(node_ids))
            .with_for_update()
        )
    }
    moved: list[Moved] = []
    for node_id in node_ids:
        rows = per_node.get(node_id, [])
        obs = existing.get(node_id)
        if obs is None:
            obs = m.NodeObservation(node_id=node_id, status=S.PENDING)
            session.add(obs)
        status = node_status_with_routing((S(r.status) for r in rows), obs.routing_visible)
        before = S(obs.status)
        up_rows = [r for r in rows if r.status in (S.UP, S.DUPED) and r.rtt_avg_ms is not None]
        best = min(up_rows, key=lambda r: r.rtt_avg_ms or 0.0, default=None)
        obs.rtt_min_ms = best.rtt_min_ms if best else None
        obs.rtt_avg_ms = best.rtt_avg_ms if best else None
        obs.rtt_max_ms = best.rtt_max_ms if best else None
        losses = [r.packet_loss for r in rows if r.packet_loss is not None]
        obs.packet_loss = min(losses) if losses else None
        seen = [r.last_seen for r in rows if r.last_seen is not None]
        firsts = [r.first_seen for r in rows if r.first_seen is not None]
        obs.last_seen = max(seen) if seen else obs.last_seen
        obs.first_seen = min(firsts) if firsts else obs.first_seen
        node = nodes[node_id]
        if status != before:
            obs.status, obs.since = status, now
            if status != S.DOWN:
                obs.drift_reported_at = None
            write_event(
                session,
                "node.status_changed",
                "nodes",
                str(node_id),
                {"from": before.value, "to": status.value},
                network_number=node.network_number,
            )
            moved.append(Moved(Subject.NODE, node_id, [node.network_number], before, status))
            outcome.note("node", str(node.network_number or node_id), before, status)
        recorded_active = node.status == NodeStatus.ACTIVE
        if obs.drift_reported_at is None and drifted(
            recorded_active, S(obs.status), obs.since, now
        ):
            obs.drift_reported_at = now
            write_event(
                session,
                "node.drift",
                "nodes",
                str(node_id),
                {
                    "recorded": node.status,
                    "observed": obs.status,
                    "since": obs.since and obs.since.isoformat(),
                },
                network_number=node.network_number,
            )
            outcome.note("node", str(node.network_number or node_id), "drift", obs.status)
    session.flush()
    record_transitions(session, moved, now, watch.flap_transitions)


def refresh_links(
    session: Session,
    device_ids: set[uuid.UUID],
    now: datetime,
    outcome: Outcome,
    watch: Watch = Watch(),
) -> None:
    """Recompute the observed state of Active links that touch these devices."""
    if not device_ids:
        return
    links = session.scalars(
        select(m.Link).where(
            m.Link.status == LinkStatus.ACTIVE,
            m.Link.from_device_id.in_(device_ids) | m.Link.to_device_id.in_(device_ids),
        )
    ).all()
    update_links(session, links, now, outcome, watch)


def update_links(
    session: Session,
    links: Sequence[m.Link],
    now: datetime,
    outcome: Outcome,
    watch: Watch = Watch(),
) -> None:
    """Recompute these links' observed state from their ends, UISP and routing; events."""
    if not links:
        return
    ends = {lk.from_device_id for lk in links} | {lk.to_device_id for lk in links}
    device_status = {
        row.device_id: S(row.status)
        for row in session.scalars(
            select(m.DeviceObservation).where(m.DeviceObservation.device_id.in_(ends))
        )
    }
    # A link's outage is listed under both ends' network numbers (read only when one moves).
    device = m.Device.__table__.c  # the base table: no sector or access point join
    end_nn: dict[uuid.UUID, int | None] = {}

    def nns_of(link: m.Link) -> list[int | None]:
        if not end_nn:
            rows = session.execute(
                select(device.id, m.Node.network_number)
                .join(m.Node, m.Node.id == device.node_id)
                .where(device.id.in_(ends))
            )
            end_nn.update((device_id, nn) for device_id, nn in rows)
        return [end_nn.get(link.from_device_id), end_nn.get(link.to_device_id)]

    existing = {
        row.link_id: row
        for row in session.scalars(
            select(m.LinkObservation)
            .where(m.LinkObservation.link_id.in_([lk.id for lk in links]))
            .with_for_update()
        )
    }
    moved: list[Moved] = []
    for link in links:
        obs = existing.get(link.id)
        if obs is None:
            obs = m.LinkObservation(link_id=link.id, status=S.PENDING)
            session.add(obs)
        status = link_status(
            device_status.get(link.from_device_id, S.UNKNOWN),
            device_status.get(link.to_device_id, S.UNKNOWN),
            obs.uisp_state,
            obs.routing_state,
        )
        before = S(obs.status)
        if status != before:
            obs.status, obs.since = status, now
            write_event(
                session,
                "link.status_changed",
                "links",
                str(link.id),
                {"from": before.value, "to": status.value},
            )
            moved.append(Moved(Subject.LINK, link.id, nns_of(link), before, status))
            outcome.note("link", str(link.id), before, status)
    session.flush()
    record_transitions(session, moved, now, watch.flap_transitions)
