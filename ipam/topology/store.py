"""The topology from the database: records and observed state as plain values, cached by version."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.topology.cache import TopologyCache
from ipam.topology.mesh import TopoLink, Topology, TopoNode, build


def load_nodes(session: Session) -> list[TopoNode]:
    """Every node with its recorded and observed state, in one query."""
    rows = session.execute(
        select(m.Node, m.NodeObservation.status).outerjoin(
            m.NodeObservation, m.NodeObservation.node_id == m.Node.id
        )
    )
    return [
        TopoNode(
            id=str(node.id),
            network_number=node.network_number,
            name=node.name,
            type=node.type,
            status=node.status,
            observed_status=observed,
            latitude=node.latitude,
            longitude=node.longitude,
        )
        for node, observed in rows
    ]


# Built once (an alias costs new column objects), on the device base table: aliases of the
# mapped class would also join sectors and access points, which a link end does not need.
_FROM, _TO = m.Device.__table__.alias("from_device"), m.Device.__table__.alias("to_device")


def load_links(session: Session) -> list[TopoLink]:
    """Every link collapsed onto the nodes of its two devices, in one query."""
    a, b = _FROM, _TO
    rows = session.execute(
        select(m.Link, a.c.node_id, b.c.node_id, m.LinkObservation.status)
        .join(a, a.c.id == m.Link.from_device_id)
        .join(b, b.c.id == m.Link.to_device_id)
        .outerjoin(m.LinkObservation, m.LinkObservation.link_id == m.Link.id)
    )
    return [
        TopoLink(
            id=str(link.id),
            from_node=str(from_node),
            to_node=str(to_node),
            status=link.status,
            type=link.type,
            observed_status=observed,
        )
        for link, from_node, to_node, observed in rows
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
