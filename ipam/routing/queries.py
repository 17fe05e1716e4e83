"""What the API reads of the routing witness: a node's routing block, drift, subnet states."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import NodeStatus
from ipam.enums import ObservedStatus as S
from ipam.errors import Invalid
from ipam.records.changes import jsonable
from ipam.routing.subnets import HIJACKED

COLLECTOR = "routing"


def routing_block(session: Session, nn: int, obs: m.NodeObservation | None) -> dict[str, Any]:
    """A node's routing block: visible, router ids, adjacencies, last seen, conflicts."""
    routers = session.scalars(
        select(m.RoutingRouter.router_id)
        .where(m.RoutingRouter.network_number == nn)
        .order_by(m.RoutingRouter.router_id)
    ).all()
    adjacencies = session.scalar(
        select(func.count()).where(
            m.RoutingAdjacency.present,
            (m.RoutingAdjacency.nn_a == nn) | (m.RoutingAdjacency.nn_b == nn),
        )
    )
    conflict = session.scalar(
        select(func.count()).where(
            m.SubnetState.status == HIJACKED,
            or_(m.SubnetState.network_number == nn, m.SubnetState.announced_by.any_() == nn),
        )
    )
    visible = obs.routing_visible if obs else None
    if visible:
        # Seen on every cycle since it became visible: the last successful one.
        last_seen = session.scalar(
            select(m.CollectorState.last_success).where(m.CollectorState.name == COLLECTOR)
        )
    else:
        last_seen = obs.routing_since if obs and routers else None
    return {
        "visible": visible,
        "router_ids": [str(r) for r in routers],
        "adjacencies": adjacencies or 0,
        "last_seen": jsonable(last_seen),
        "conflict": bool(conflict),
    }


def drift_findings(session: Session) -> list[dict[str, Any]]:
    """Every standing finding: the routing ones and nodes recorded Active but down 30 days."""
    out = [
        {
            "kind": row.kind,
            "subject": row.subject,
            "network_number": row.network_number,
            "since": jsonable(row.since),
            "data": row.data,
        }
        for row in session.scalars(select(m.DriftFinding).order_by(m.DriftFinding.id))
    ]
    down = session.execute(
        select(m.Node.id, m.Node.network_number, m.NodeObservation.since)
        .join(m.NodeObservation, m.NodeObservation.node_id == m.Node.id)
        .where(
            m.NodeObservation.drift_reported_at.is_not(None),
            m.NodeObservation.status == S.DOWN,
            m.Node.status == NodeStatus.ACTIVE,
        )
        .order_by(m.Node.network_number)
    )
    out += [
        {
            "kind": "active_but_down",
            "subject": str(node_id),
            "network_number": nn,
            "since": jsonable(since),
            "data": {"recorded": NodeStatus.ACTIVE.value, "observed": S.DOWN.value},
        }
        for node_id, nn, since in down
    ]
    return out


def subnets(status: str | None, nn: int | None, prefix: str | None) -> Select[Any]:
    """Subnet states filtered by status, by node (owner or announcer) and within a prefix."""
    stmt = select(m.SubnetState).order_by(m.SubnetState.prefix)
    if status is not None:
        stmt = stmt.where(m.SubnetState.status == status)
    if nn is not None:
        stmt = stmt.where(
            or_(m.SubnetState.network_number == nn, m.SubnetState.announced_by.any_() == nn)
        )
    if prefix is not None:
        try:
            network = ip_network(prefix, strict=False)
        except ValueError:
            raise Invalid(f"prefix {prefix!r} is not an IP prefix", field="prefix") from None
        stmt = stmt.where(m.SubnetState.prefix.op("<<=")(str(network)))
    return stmt


def subnet_row(row: m.SubnetState) -> dict[str, Any]:
    """One subnet state as the API shows it."""
    return {
        "prefix": str(row.prefix),
        "status": row.status,
        "network_number": row.network_number,
        "announced_by": list(row.announced_by),
        "routers": list(row.routers),
        "since": jsonable(row.since),
    }


def routers(mapped: bool | None, visible: bool | None) -> Select[Any]:
    """Routers of the link-state database, by whether they map to a node and are visible."""
    stmt = select(m.RoutingRouter).order_by(m.RoutingRouter.router_id)
    if mapped is not None:
        column = m.RoutingRouter.network_number
        stmt = stmt.where(column.is_not(None) if mapped else column.is_(None))
    if visible is not None:
        stmt = stmt.where(m.RoutingRouter.visible.is_(visible))
    return stmt


def router_row(row: m.RoutingRouter) -> dict[str, Any]:
    """One router as the API shows it."""
    return {
        "router_id": str(row.router_id),
        "network_number": row.network_number,
        "mapped_by": row.mapped_by,
        "visible": row.visible,
        "since": jsonable(row.since),
        "first_seen": jsonable(row.first_seen),
    }
