"""What is wrong right now: nodes down or only visible, devices down, drift, for the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import NodeStatus, ObservedStatus
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


def wrong_now(session: Session) -> dict[str, Any]:
    """Active nodes down, nodes only visible, Active devices down, and drift findings."""
    active = m.Node.status == NodeStatus.ACTIVE
    return {
        "nodes_down": _nodes(session, active, m.NodeObservation.status == ObservedStatus.DOWN),
        "nodes_visible": _nodes(session, m.NodeObservation.status == ObservedStatus.VISIBLE),
        "devices_down": _devices_down(session),
        "drift": _nodes(session, m.NodeObservation.drift_reported_at.is_not(None)),
    }
