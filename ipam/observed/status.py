"""What is wrong right now: open incidents, nodes down or only visible, devices down, flapping
nodes and drift, for the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import NodeStatus, ObservedStatus, Subject
from ipam.incidents.store import body as incident_body
from ipam.records.changes import jsonable


def _nodes(session: Session, *where: Any) -> list[dict[str, Any]]:
    rows = session.execute(
        select(m.Node.network_number, m.Node.name, m.Node.type, m.NodeObservation)
        .join(m.NodeObservation, m.NodeObservation.node_id == m.Node.id)
        .where(*where)
        .order_by(m.NodeObservation.since.desc().nulls_last(), m.Node.network_number)
    )
    return [
        {
            "network_number": nn,
            "name": name,
            "type": node_type,
            "observed_status": obs.status,
            "since": jsonable(obs.since),
            "last_seen": jsonable(obs.last_seen),
        }
        for nn, name, node_type, obs in rows
    ]


def _devices_down(session: Session) -> list[dict[str, Any]]:
    table = m.Device.__table__
    rows = session.execute(
        select(table.c.id, table.c.name, m.Node.network_number, m.DeviceObservation)
        .join(m.DeviceObservation, m.DeviceObservation.device_id == table.c.id)
        .join(m.Node, m.Node.id == table.c.node_id)
        .where(m.DeviceObservation.status == ObservedStatus.DOWN, table.c.status == "Active")
        .order_by(m.DeviceObservation.since.desc().nulls_last())
    )
    return [
        {
            "id": str(device_id),
            "name": name,
            "network_number": nn,
            "since": jsonable(obs.since),
            "last_error": obs.last_error,
        }
        for device_id, name, nn, obs in rows
    ]


def _open_incidents(session: Session) -> list[dict[str, Any]]:
    stmt = select(m.Incident).where(m.Incident.ended_at.is_(None))
    return [incident_body(i) for i in session.scalars(stmt.order_by(m.Incident.started_at.desc()))]


def _flapping(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(m.Node.network_number, m.Node.name, m.Monitored.flapping_since)
        .join(m.Monitored, m.Monitored.subject_id == m.Node.id)
        .where(m.Monitored.kind == Subject.NODE, m.Monitored.flapping_since.is_not(None))
        .order_by(m.Monitored.flapping_since.desc())
    )
    return [
        {"network_number": nn, "name": name, "since": jsonable(since)} for nn, name, since in rows
    ]


def wrong_now(session: Session) -> dict[str, Any]:
    """Open incidents, Active nodes down, nodes only visible, Active devices down, flapping
    nodes, and drift findings."""
    active = m.Node.status == NodeStatus.ACTIVE
    return {
        "incidents": _open_incidents(session),
        "flapping": _flapping(session),
        "nodes_down": _nodes(session, active, m.NodeObservation.status == ObservedStatus.DOWN),
        "nodes_visible": _nodes(session, m.NodeObservation.status == ObservedStatus.VISIBLE),
        "devices_down": _devices_down(session),
        "drift": _nodes(session, m.NodeObservation.drift_reported_at.is_not(None)),
    }
