"""Health answers for operators: recorded beside observed, per node and per device."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from ipam import models as m
from ipam.enums import ObservedStatus
from ipam.errors import NotFound
from ipam.records import jsonable


def _rtt(row: Any) -> dict[str, float | None] | None:
    if row is None:
        return None
    return {"min": row.rtt_min_ms, "avg": row.rtt_avg_ms, "max": row.rtt_max_ms}


def observed_block(row: m.DeviceObservation | m.NodeObservation | None) -> dict[str, Any]:
    """The observed state as records carry it (MeshDB-shaped clients see it without a call)."""
    if row is None:
        return {"status": ObservedStatus.PENDING.value, "since": None, "last_seen": None}
    block: dict[str, Any] = {
        "status": row.status,
        "since": jsonable(row.since),
        "first_seen": jsonable(row.first_seen),
        "last_seen": jsonable(row.last_seen),
        "rtt_ms": _rtt(row),
        "packet_loss": row.packet_loss,
    }
    if isinstance(row, m.DeviceObservation):
        block.update(
            address=None if row.address is None else str(row.address),
            uptime_s=row.uptime_s,
            firmware=row.firmware,
            model=row.model,
            last_error=row.last_error,
        )
    return block


def device_health(device: m.Device) -> dict[str, Any]:
    """One device: recorded status, observed state and what polling measured."""
    obs = device.observation
    return {
        "id": str(device.id),
        "name": device.name,
        "network_number": device.node.network_number,
        "recorded_status": device.status,
        "observed_status": obs.status if obs else ObservedStatus.PENDING.value,
        "since": jsonable(obs.since) if obs else None,
        "address": str(obs.address) if obs and obs.address is not None else None,
        "last_seen": jsonable(obs.last_seen) if obs else None,
        "first_seen": jsonable(obs.first_seen) if obs else None,
        "rtt_ms": _rtt(obs),
        "packet_loss": obs.packet_loss if obs else None,
        "uptime_s": obs.uptime_s if obs else None,
        "firmware": obs.firmware if obs else None,
        "model": obs.model if obs else None,
        "radio": obs.radio if obs else None,
        "last_error": obs.last_error if obs else None,
    }


def _links_of(session: Session, node: m.Node) -> list[dict[str, Any]]:
    """The node's links with the NN at the far end, in one query."""
    device_ids = [d.id for d in node.devices]
    if not device_ids:
        return []
    a, b = aliased(m.Device), aliased(m.Device)
    na, nb = aliased(m.Node), aliased(m.Node)
    rows = session.execute(
        select(m.Link, na.network_number, nb.network_number, a.node_id, m.LinkObservation.status)
        .join(a, a.id == m.Link.from_device_id)
        .join(b, b.id == m.Link.to_device_id)
        .join(na, na.id == a.node_id)
        .join(nb, nb.id == b.node_id)
        .outerjoin(m.LinkObservation, m.LinkObservation.link_id == m.Link.id)
        .where(m.Link.from_device_id.in_(device_ids) | m.Link.to_device_id.in_(device_ids))
        .order_by(m.Link.created)
    )
    return [
        {
            "id": str(link.id),
            "to_network_number": nn_b if from_node == node.id else nn_a,
            "recorded_status": link.status,
            "observed_status": observed or ObservedStatus.PENDING.value,
        }
        for link, nn_a, nn_b, from_node, observed in rows
    ]


def node_health(session: Session, nn: int) -> dict[str, Any]:
    """A node's health: its observed state, each device's, and each link's."""
    node = session.scalars(
        select(m.Node)
        .where(m.Node.network_number == nn)
        .options(
            joinedload(m.Node.observation),
            selectinload(m.Node.devices).joinedload(m.Device.observation),
            selectinload(m.Node.devices).joinedload(m.Device.node),
        )
    ).first()
    if node is None:
        raise NotFound(f"no node with network_number {nn}", field="network_number")
    obs = node.observation
    return {
        "network_number": nn,
        "recorded_status": node.status,
        "observed_status": obs.status if obs else ObservedStatus.PENDING.value,
        "since": jsonable(obs.since) if obs else None,
        "last_seen": jsonable(obs.last_seen) if obs else None,
        "first_seen": jsonable(obs.first_seen) if obs else None,
        "rtt_ms": _rtt(obs),
        "packet_loss": obs.packet_loss if obs else None,
        "devices": [device_health(d) for d in sorted(node.devices, key=lambda d: d.name or "")],
        "links": _links_of(session, node),
    }


def one_device(session: Session, device_id: uuid.UUID) -> dict[str, Any]:
    """A device's health by id."""
    device = session.scalars(
        select(m.Device)
        .where(m.Device.id == device_id)
        .options(joinedload(m.Device.observation), joinedload(m.Device.node))
    ).first()
    if device is None:
        raise NotFound(f"no device with id {device_id}", field="id")
    return device_health(device)


def nodes_by_state(observed: str | None, recorded: str | None) -> Select[Any]:
    """Nodes filtered by observed and recorded status, for a paginated list."""
    stmt = (
        select(m.Node, m.NodeObservation)
        .outerjoin(m.NodeObservation, m.NodeObservation.node_id == m.Node.id)
        .order_by(m.Node.network_number.asc().nulls_last(), m.Node.id)
    )
    if observed is not None:
        if observed == ObservedStatus.PENDING:
            stmt = stmt.where(
                (m.NodeObservation.status == observed) | m.NodeObservation.node_id.is_(None)
            )
        else:
            stmt = stmt.where(m.NodeObservation.status == observed)
    if recorded is not None:
        stmt = stmt.where(m.Node.status == recorded)
    return stmt


def summary_row(node: m.Node, obs: m.NodeObservation | None) -> dict[str, Any]:
    """One line of the health list."""
    return {
        "id": str(node.id),
        "network_number": node.network_number,
        "name": node.name,
        "recorded_status": node.status,
        "observed_status": obs.status if obs else ObservedStatus.PENDING.value,
        "since": jsonable(obs.since) if obs else None,
        "last_seen": jsonable(obs.last_seen) if obs else None,
        "rtt_ms": _rtt(obs),
        "packet_loss": obs.packet_loss if obs else None,
    }
