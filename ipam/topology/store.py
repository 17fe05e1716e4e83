"""The topology from the database: records and observed state as plain values, cached by version."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.records import versions
from ipam.topology.cache import TopologyCache
from ipam.topology.mesh import TopoLink, Topology, TopoNode, build
from ipam.topology.ospf import OspfGraph


def load_nodes(session: Session) -> list[TopoNode]:
    """Every node with its recorded and observed state, in one query."""
    # Columns, not entities: a whole mesh of ORM objects costs several times the query.
    node = m.Node.__table__.c
    rows = session.execute(
        select(
            node.id,
            node.network_number,
            node.name,
            node.type,
            node.status,
            m.NodeObservation.status,
            node.latitude,
            node.longitude,
        ).outerjoin(m.NodeObservation, m.NodeObservation.node_id == node.id)
    )
    return [
        TopoNode(
            id=str(key),
            network_number=nn,
            name=name,
            type=kind,
            status=status,
            observed_status=observed,
            latitude=lat,
            longitude=lon,
        )
        for key, nn, name, kind, status, observed, lat, lon in rows
    ]


# Built once (an alias costs new column objects), on the device base table: aliases of the
# mapped class would also join sectors and access points, which a link end does not need.
_FROM, _TO = m.Device.__table__.alias("from_device"), m.Device.__table__.alias("to_device")


def load_links(session: Session) -> list[TopoLink]:
    """Every link collapsed onto the nodes of its two devices, in one query."""
    a, b, link = _FROM, _TO, m.Link.__table__.c
    rows = session.execute(
        select(link.id, a.c.node_id, b.c.node_id, link.status, link.type, m.LinkObservation.status)
        .select_from(m.Link.__table__)
        .join(a, a.c.id == link.from_device_id)
        .join(b, b.c.id == link.to_device_id)
        .outerjoin(m.LinkObservation, m.LinkObservation.link_id == link.id)
    )
    return [
        TopoLink(
            id=str(key),
            from_node=str(from_node),
            to_node=str(to_node),
            status=status,
            type=kind,
            observed_status=observed,
        )
        for key, from_node, to_node, status, kind, observed in rows
    ]


def version(session: Session) -> int:
    """Every change writes an event (records and observed transitions): its id is the version."""
    return session.scalar(select(func.coalesce(func.max(m.Event.id), 0))) or 0


def current(
    session: Session, cache: TopologyCache[Topology], exit_types: frozenset[str]
) -> Topology:
    """The topology for the database as it is now, rebuilt only after a change."""
    return cache.get(
        (version(session), exit_types),
        lambda: build(load_nodes(session), load_links(session), exit_types=exit_types),
    )


def load_ospf(session: Session) -> OspfGraph:
    """The OSPF graph the routing job stored: its edges, and the visible routers' NNs."""
    hops = session.execute(select(m.RoutingHop.source, m.RoutingHop.target, m.RoutingHop.cost))
    routers = session.execute(
        select(m.RoutingRouter.router_id, m.RoutingRouter.network_number).where(
            m.RoutingRouter.visible, m.RoutingRouter.network_number.is_not(None)
        )
    )
    return OspfGraph(
        [(s, t, c) for s, t, c in hops], {str(rid): nn for rid, nn in routers if nn is not None}
    )


def current_ospf(session: Session, cache: TopologyCache[OspfGraph]) -> OspfGraph:
    """The OSPF graph as it is now, rebuilt only after a change (routing bumps the counter)."""
    return cache.get(versions.current(session), lambda: load_ospf(session))
