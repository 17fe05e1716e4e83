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
from ipam.records.changes import jsonable
from ipam.routing.queries import routing_block


def _rtt(row: Any) -> dict[str, float | None] | None:
    if row is None:
        return None
    return {"min": row.rtt_min_ms, "avg": row.rtt_avg_ms, "max": row.rtt_max_ms}


def _snmp(row: m.DeviceObservation | None) -> dict[str, Any]:
    """What the last SNMP poll read (the device_observation.radio JSON), empty when none."""
    return (row.radio if row is not None else None) or {}


def _by_source(uisp: str | None, snmp: str | None) -> tuple[str | None, str | None]:
    # UISP's value (what the operator's management system knows the device as) is shown when
    # there is one; SNMP's stands beside it, never over it.
    return (uisp, "uisp") if uisp else (snmp, "snmp") if snmp else (None, None)


def models(row: m.DeviceObservation | None) -> dict[str, Any]:
    """The model and firmware each source gives, the ones shown, and where they came from.

    SNMP's model comes with the MIB object it was read from; sysDescr is its own field, never
    a model.
    """
    system = _snmp(row).get("system") or {}
    uisp_model = row.model if row is not None else None
    uisp_firmware = row.firmware if row is not None else None
    model, model_source = _by_source(uisp_model, system.get("model"))
    firmware, firmware_source = _by_source(uisp_firmware, system.get("firmware"))
    return {
        "model": model,
        "model_source": model_source,
        "models": {
            "uisp": uisp_model,
            "snmp": system.get("model"),
            "snmp_object": system.get("model_source"),
        },
        "firmware": firmware,
        "firmware_source": firmware_source,
        "firmwares": {"uisp": uisp_firmware, "snmp": system.get("firmware")},
    }


def snmp_details(row: m.DeviceObservation | None) -> dict[str, Any]:
    """The SNMP figures of the health answer: identity, interfaces, radios, LTE modems."""
    block = _snmp(row)
    system = block.get("system") or {}
    return {
        "sys_descr": system.get("sys_descr"),
        "sys_object_id": system.get("sys_object_id"),
        "serial": system.get("serial"),
        "licence": system.get("licence"),
        "interfaces": block.get("interfaces") or [],
        "radio": {"radios": block["radios"]} if block.get("radios") else None,
        "lte": block.get("lte") or [],
    }


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
            last_error=row.last_error,
            **models(row),
        )
    return block


def device_health(device: Any, obs: m.DeviceObservation | None, nn: int | None) -> dict[str, Any]:
    """One device: recorded status, observed state and what polling measured."""
    return {
        "id": str(device.id),
        "name": device.name,
        "network_number": nn,
        "recorded_status": device.status,
        "observed_status": obs.status if obs else ObservedStatus.PENDING.value,
        "since": jsonable(obs.since) if obs else None,
        "address": str(obs.address) if obs and obs.address is not None else None,
        "last_seen": jsonable(obs.last_seen) if obs else None,
        "first_seen": jsonable(obs.first_seen) if obs else None,
        "rtt_ms": _rtt(obs),
        "packet_loss": obs.packet_loss if obs else None,
        "uptime_s": obs.uptime_s if obs else None,
        **models(obs),
        **snmp_details(obs),
        "last_error": obs.last_error if obs else None,
    }


def _devices_with_observations(
    session: Session, where: Any
) -> list[tuple[Any, m.DeviceObservation | None]]:
    """Devices (base table only: health needs no sector fields) with their observation rows."""
    table = m.Device.__table__
    rows = session.execute(
        select(table, m.DeviceObservation)
        .outerjoin(m.DeviceObservation, m.DeviceObservation.device_id == table.c.id)
        .where(where)
        .order_by(table.c.name, table.c.id)
    )
    return [(row, row.DeviceObservation) for row in rows]


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
        select(
            link.id,
            link.status,
            na.network_number,
            nb.network_number,
            a.c.node_id,
            m.LinkObservation.status,
        )
        .join(a, a.c.id == link.from_device_id)
        .join(b, b.c.id == link.to_device_id)
        .join(na, na.id == a.c.node_id)
        .join(nb, nb.id == b.c.node_id)
        .outerjoin(m.LinkObservation, m.LinkObservation.link_id == link.id)
        .where(link.from_device_id.in_(device_ids) | link.to_device_id.in_(device_ids))
        .order_by(link.created)
    )
    return [
        {
            "id": str(link_id),
            "to_network_number": nn_b if from_node == node_id else nn_a,
            "recorded_status": status,
            "observed_status": observed or ObservedStatus.PENDING.value,
        }
        for link_id, status, nn_a, nn_b, from_node, observed in rows
    ]


def node_health(session: Session, nn: int) -> dict[str, Any]:
    """A node's health: its observed state, each device's, and each link's (three queries)."""
    found = session.execute(
        select(m.Node, m.NodeObservation)
        .outerjoin(m.NodeObservation, m.NodeObservation.node_id == m.Node.id)
        .where(m.Node.network_number == nn)
    ).first()
    if found is None:
        raise NotFound(f"no node with network_number {nn}", field="network_number")
    node, obs = found
    devices = _devices_with_observations(session, m.Device.__table__.c.node_id == node.id)
    return {
        "network_number": nn,
        "recorded_status": node.status,
        "observed_status": obs.status if obs else ObservedStatus.PENDING.value,
        "since": jsonable(obs.since) if obs else None,
        "last_seen": jsonable(obs.last_seen) if obs else None,
        "first_seen": jsonable(obs.first_seen) if obs else None,
        "rtt_ms": _rtt(obs),
        "packet_loss": obs.packet_loss if obs else None,
        "devices": [device_health(d, o, nn) for d, o in devices],
        "links": _links_of(session, node.id, [d.id for d, _ in devices]),
        "routing": routing_block(session, nn, obs),
        "availability": for_subject(session, Subject.NODE, node.id, datetime.now(UTC)),
    }


def one_device(session: Session, device_id: uuid.UUID) -> dict[str, Any]:
    """A device's health by id."""
    found = _devices_with_observations(session, m.Device.__table__.c.id == device_id)
    if not found:
        raise NotFound(f"no device with id {device_id}", field="id")
    device, obs = found[0]
    nn = session.scalar(select(m.Node.network_number).where(m.Node.id == device.node_id))
    answer = device_health(device, obs, nn)
    answer["availability"] = for_subject(session, Subject.DEVICE, device.id, datetime.now(UTC))
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
