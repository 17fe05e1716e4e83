"""Health answers for operators: recorded beside observed, per node and per device."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from ipam import models as m
from ipam.enums import ObservedStatus, Subject
from ipam.errors import NotFound
from ipam.incidents.availability import for_subject
from ipam.observed.snapshot import fields_marker
from ipam.records.changes import jsonable
from ipam.routing.queries import routing_block


def _rtt(row: Any) -> dict[str, float | None] | None:
    if row is None:
        return None
    return {"min": row.rtt_min_ms, "avg": row.rtt_avg_ms, "max": row.rtt_max_ms}


def _devices_of(session: Session, where: Any) -> list[Any]:
    """Device rows (base table only: health needs no sector fields), in name order."""
    table = m.Device.__table__
    select_ = select(table.c.id, table.c.name, table.c.status, table.c.node_id)
    return list(session.execute(select_.where(where).order_by(table.c.name, table.c.id)))


def _device(row: Any, nn: int | None) -> dict[str, Any]:
    """One device's recorded part; its observed fields stand as a marker."""
    return {
        "id": str(row.id),
        "name": row.name,
        "network_number": nn,
        "recorded_status": row.status,
        **fields_marker("device", row.id),
    }


# Built once: an alias costs a new set of column objects each time it is made. The device base
# table, because aliases of the mapped class would join sectors and access points too.
_FROM, _TO = m.Device.__table__.alias("from_device"), m.Device.__table__.alias("to_device")
_FROM_NODE, _TO_NODE = aliased(m.Node, name="from_node"), aliased(m.Node, name="to_node")


def _links_of(
    session: Session, node_id: uuid.UUID, device_ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    """The node's links with the NN at the far end, in one query."""
    if not device_ids:
        return []
    a, b, na, nb, link = _FROM, _TO, _FROM_NODE, _TO_NODE, m.Link
    rows = session.execute(
        select(link.id, link.status, na.network_number, nb.network_number, a.c.node_id)
        .join(a, a.c.id == link.from_device_id)
        .join(b, b.c.id == link.to_device_id)
        .join(na, na.id == a.c.node_id)
        .join(nb, nb.id == b.c.node_id)
        .where(link.from_device_id.in_(device_ids) | link.to_device_id.in_(device_ids))
        .order_by(link.created)
    )
    return [
        {
            "id": str(link_id),
            "to_network_number": nn_b if from_node == node_id else nn_a,
            "recorded_status": status,
            **fields_marker("link", link_id),
        }
        for link_id, status, nn_a, nn_b, from_node in rows
    ]


def node_health(session: Session, nn: int) -> dict[str, Any]:
    """A node's health answer, recorded parts only (three queries); observed ones are markers.

    The markers are filled from the observed snapshot (ipam/observed/snapshot.py), so this
    part stays valid while no record changes, however often polling changes what is observed.
    """
    node = session.execute(
        select(m.Node.id, m.Node.status).where(m.Node.network_number == nn)
    ).first()
    if node is None:
        raise NotFound(f"no node with network_number {nn}", field="network_number")
    devices = _devices_of(session, m.Device.__table__.c.node_id == node.id)
    obs = session.scalar(select(m.NodeObservation).where(m.NodeObservation.node_id == node.id))
    # Routing and availability are read here, not from the snapshot: they change with routing
    # cycles and outages, which write events, so the record part's cache follows them.
    return {
        "network_number": nn,
        "recorded_status": node.status,
        **fields_marker("node", node.id),
        "devices": [_device(d, nn) for d in devices],
        "links": _links_of(session, node.id, [d.id for d in devices]),
        "routing": routing_block(session, nn, obs),
        "availability": for_subject(session, Subject.NODE, node.id, datetime.now(UTC)),
    }


def one_device(session: Session, device_id: uuid.UUID) -> dict[str, Any]:
    """A device's health by id (recorded part; observed fields as a marker)."""
    found = _devices_of(session, m.Device.__table__.c.id == device_id)
    if not found:
        raise NotFound(f"no device with id {device_id}", field="id")
    nn = session.scalar(select(m.Node.network_number).where(m.Node.id == found[0].node_id))
    answer = _device(found[0], nn)
    answer["availability"] = for_subject(session, Subject.DEVICE, device_id, datetime.now(UTC))
    return answer


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
