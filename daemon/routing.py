"""One routing cycle: read the link-state databases, map them, apply what changed.

The routing table is a witness like ping (ARCHITECTURE.md): it feeds node visibility, observed
links, subnet states and drift findings, never the records. Only differences are written, so
a cycle that finds nothing new writes nothing (timestamps that would move every cycle, such as
"last seen in routing", are read from the collector's last success instead).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from collectors.errors import CollectorError
from collectors.guard import ProbeGuard
from collectors.routing import sources as routing_sources
from daemon.observe import Outcome, refresh_nodes, update_links
from ipam import models as m
from ipam.db import transaction
from ipam.enums import LinkStatus, NodeStatus
from ipam.enums import ObservedStatus as S
from ipam.observed.rules import DRIFT_AFTER
from ipam.records.changes import write_event
from ipam.records.versions import bump_observed
from ipam.routing.mapping import map_databases
from ipam.routing.subnets import NOBODY, subnet_states
from ipam.routing.values import DatabaseLike, RoutingView
from ipam.settings import Settings

UP, DOWN = S.UP.value, S.DOWN.value


@dataclass
class RoutingOutcome(Outcome):
    """What one routing cycle saw and changed."""

    routers: int = 0
    unknown: int = 0
    adjacencies: int = 0
    writes: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        failed = (
            f"; {len(self.errors)} sources failed: {'; '.join(self.errors)}" if self.errors else ""
        )
        return (
            f"{self.routers} routers ({self.unknown} unknown), {self.adjacencies} adjacencies, "
            f"{self.writes} rows written, " + super().summary() + failed
        )


def device_addresses(session: Session) -> dict[IPv4Address, int]:
    """Recorded device addresses (management, allocations) -> their node's NN."""
    out: dict[IPv4Address, int] = {}
    rows = session.execute(
        select(m.Device.__table__.c.management_address, m.Node.network_number)
        .join(m.Node, m.Node.id == m.Device.__table__.c.node_id)
        .where(
            m.Device.__table__.c.management_address.is_not(None), m.Node.network_number.is_not(None)
        )
    )
    allocated = session.execute(
        select(m.IpAllocation.address, m.Node.network_number)
        .join(m.Device, m.Device.id == m.IpAllocation.device_id)
        .join(m.Node, m.Node.id == m.Device.node_id)
        .where(m.Node.network_number.is_not(None))
    )
    for address, nn in [*rows, *allocated]:
        ip = ip_address(str(address).split("/")[0])
        if isinstance(ip, IPv4Address):
            out[ip] = nn
    return out


def allocations(session: Session) -> dict[IPv4Network, int]:
    """Allocation records as prefix -> owner NN (NOBODY when for a link or for no device)."""
    rows = session.execute(
        select(m.IpAllocation.address, m.Node.network_number)
        .outerjoin(m.Device, m.Device.id == m.IpAllocation.device_id)
        .outerjoin(m.Node, m.Node.id == m.Device.node_id)
    )
    out: dict[IPv4Network, int] = {}
    for address, nn in rows:
        net = ip_network(str(address), strict=False)
        if isinstance(net, IPv4Network):
            out[net] = NOBODY if nn is None else nn
    return out


def apply_routing(
    session: Session, databases: Sequence[DatabaseLike], now: datetime
) -> RoutingOutcome:
    """Fold one cycle's databases into the observed state; events in this transaction."""
    view = map_databases(databases, device_addresses(session))
    outcome = RoutingOutcome(
        routers=len(view.routers), unknown=len(view.unknown), adjacencies=len(view.adjacencies)
    )
    nodes = {
        n.network_number: n
        for n in session.scalars(select(m.Node).where(m.Node.network_number.is_not(None)))
        if n.network_number is not None
    }
    _routers(session, view, now, outcome)
    _visibility(session, view, nodes, now, outcome)
    present = _adjacencies(session, view, now, outcome)
    _hops(session, view, outcome)
    recorded_pairs = _links(session, view, present, now, outcome)
    _subnets(session, view, set(nodes), now, outcome)
    _drift(session, view, nodes, present, recorded_pairs, now, outcome)
    if outcome.writes:
        bump_observed(session)
    return outcome


def _routers(session: Session, view: RoutingView, now: datetime, outcome: RoutingOutcome) -> None:
    rows = {str(r.router_id): r for r in session.scalars(select(m.RoutingRouter))}
    for router in view.routers:
        key = str(router.router_id)
        row = rows.pop(key, None)
        if row is None:
            session.add(
                m.RoutingRouter(
                    router_id=key,
                    network_number=router.network_number,
                    mapped_by=router.mapped_by,
                    visible=router.visible,
                    since=now,
                    first_seen=now,
                )
            )
            outcome.writes += 1
            continue
        if row.visible != router.visible:
            row.visible, row.since = router.visible, now
            outcome.writes += 1
        if (row.network_number, row.mapped_by) != (router.network_number, router.mapped_by):
            row.network_number, row.mapped_by = router.network_number, router.mapped_by
            outcome.writes += 1
    # A router gone from every database (MaxAge passed) is not visible; its row stays as history.
    for row in rows.values():
        if row.visible:
            row.visible, row.since = False, now
            outcome.writes += 1


def _visibility(
    session: Session,
    view: RoutingView,
    nodes: dict[int, m.Node],
    now: datetime,
    outcome: RoutingOutcome,
) -> None:
    visible = view.visible_nns
    obs = {row.node_id: row for row in session.scalars(select(m.NodeObservation).with_for_update())}
    changed: list[uuid.UUID] = []
    for nn, node in nodes.items():
        want = nn in visible
        row = obs.get(node.id)
        if row is None:
            row = m.NodeObservation(node_id=node.id, status=S.PENDING)
            session.add(row)
        elif row.routing_visible == want:
            continue
        row.routing_visible, row.routing_since = want, now
        changed.append(node.id)
    outcome.writes += len(changed)
    session.flush()
    refresh_nodes(session, changed, now, outcome)


def _adjacencies(
    session: Session, view: RoutingView, now: datetime, outcome: RoutingOutcome
) -> set[tuple[int, int]]:
    rows = {(r.nn_a, r.nn_b): r for r in session.scalars(select(m.RoutingAdjacency))}
    present: set[tuple[int, int]] = set()
    for adj in view.adjacencies:
        key = (adj.a, adj.b)
        present.add(key)
        row = rows.pop(key, None)
        if row is None:
            session.add(
                m.RoutingAdjacency(
                    nn_a=adj.a,
                    nn_b=adj.b,
                    cost_ab=adj.cost_ab,
                    cost_ba=adj.cost_ba,
                    present=True,
                    since=now,
                )
            )
            outcome.writes += 1
            continue
        if not row.present:
            row.present, row.since = True, now
            outcome.writes += 1
        if (row.cost_ab, row.cost_ba) != (adj.cost_ab, adj.cost_ba):
            row.cost_ab, row.cost_ba = adj.cost_ab, adj.cost_ba
            outcome.writes += 1
    for row in rows.values():
        if row.present:
            row.present, row.since = False, now
            outcome.writes += 1
    return present


def _hops(session: Session, view: RoutingView, outcome: RoutingOutcome) -> None:
    """The routing graph as edges, rewritten only where it differs."""
    rows = {(r.source, r.target): r for r in session.scalars(select(m.RoutingHop))}
    for hop in view.hops:
        row = rows.pop((hop.source, hop.target), None)
        if row is None:
            session.add(m.RoutingHop(source=hop.source, target=hop.target, cost=hop.cost))
            outcome.writes += 1
        elif row.cost != hop.cost:
            row.cost = hop.cost
            outcome.writes += 1
    for row in rows.values():
        session.delete(row)
        outcome.writes += 1


_FROM_DEV, _TO_DEV = aliased(m.Device.__table__), aliased(m.Device.__table__)
_FROM_NODE, _TO_NODE = aliased(m.Node), aliased(m.Node)


def _links(
    session: Session,
    view: RoutingView,
    present: set[tuple[int, int]],
    now: datetime,
    outcome: RoutingOutcome,
) -> set[tuple[int, int]]:
    """Each recorded link between two nodes: up with an adjacency, down when an Active one's
    adjacency is gone (or both ends are visible without one). Answers the recorded node pairs."""
    rows = session.execute(
        select(m.Link, _FROM_NODE.network_number, _TO_NODE.network_number)
        .join(_FROM_DEV, _FROM_DEV.c.id == m.Link.from_device_id)
        .join(_TO_DEV, _TO_DEV.c.id == m.Link.to_device_id)
        .join(_FROM_NODE, _FROM_NODE.id == _FROM_DEV.c.node_id)
        .join(_TO_NODE, _TO_NODE.id == _TO_DEV.c.node_id)
    ).all()
    observations = {
        row.link_id: row
        for row in session.scalars(
            select(m.LinkObservation).where(
                m.LinkObservation.link_id.in_([link.id for link, _, _ in rows])
            )
        )
    }
    visible = view.visible_nns
    pairs: set[tuple[int, int]] = set()
    changed: list[m.Link] = []
    for link, nn_a, nn_b in rows:
        if nn_a is None or nn_b is None or nn_a == nn_b:
            continue
        pair = (min(nn_a, nn_b), max(nn_a, nn_b))
        pairs.add(pair)
        obs = observations.get(link.id)
        before = obs.routing_state if obs else None
        if pair in present:
            want: str | None = UP
        elif link.status == LinkStatus.ACTIVE and (
            before == UP or (nn_a in visible and nn_b in visible)
        ):
            want = DOWN
        else:
            want = before if before == DOWN and link.status == LinkStatus.ACTIVE else None
        if want == before:
            continue
        if obs is None:
            obs = m.LinkObservation(link_id=link.id, status=S.PENDING)
            session.add(obs)
        obs.routing_state, obs.routing_since = want, now
        changed.append(link)
    outcome.writes += len(changed)
    session.flush()
    update_links(session, changed, now, outcome)
    return pairs


def _subnets(
    session: Session, view: RoutingView, recorded: set[int], now: datetime, outcome: RoutingOutcome
) -> None:
    states = subnet_states(view.routers, allocations(session), recorded)
    rows = {str(r.prefix): r for r in session.scalars(select(m.SubnetState))}
    for state in states:
        key = str(state.prefix)
        row = rows.pop(key, None)
        routers = [str(r) for r in state.routers]
        before = row.status if row else None
        if row is None:
            row = m.SubnetState(prefix=key, since=now)
            session.add(row)
        elif (row.status, row.network_number, list(row.announced_by), list(row.routers)) == (
            state.status,
            state.network_number,
            list(state.announced_by),
            routers,
        ):
            continue
        outcome.writes += 1
        row.network_number = state.network_number
        row.announced_by, row.routers = list(state.announced_by), routers
        if before != state.status:
            row.status, row.since = state.status, now
            _subnet_event(session, key, before, state.status, state.network_number)
            outcome.note("subnet", key, before or "-", state.status)
    # Withdrawn and no longer wanted: no state to keep.
    for key, row in rows.items():
        _subnet_event(session, key, row.status, None, row.network_number)
        outcome.note("subnet", key, row.status, "-")
        session.delete(row)
        outcome.writes += 1


def _subnet_event(
    session: Session, prefix: str, before: str | None, after: str | None, nn: int | None
) -> None:
    write_event(
        session,
        "subnet.status_changed",
        "subnets",
        prefix,
        {"prefix": prefix, "from": before, "to": after},
        network_number=nn,
    )


def _drift(
    session: Session,
    view: RoutingView,
    nodes: dict[int, m.Node],
    present: set[tuple[int, int]],
    recorded_pairs: set[tuple[int, int]],
    now: datetime,
    outcome: RoutingOutcome,
) -> None:
    """Records and network disagreeing: each finding an event once, kept while it lasts."""
    found: dict[tuple[str, str], tuple[int | None, dict[str, Any]]] = {}
    for a, b in sorted(present - recorded_pairs):
        if a in nodes and b in nodes:
            found[("adjacency_unrecorded", f"{a}-{b}")] = (a, {"network_numbers": [a, b]})
    for nn in sorted(view.visible_nns):
        node = nodes.get(nn)
        if node is None:
            found[("visible_unrecorded", str(nn))] = (nn, {"network_number": nn})
        elif node.status == NodeStatus.INACTIVE:
            found[("visible_inactive", str(nn))] = (nn, {"recorded": node.status})
    for link_id, since in session.execute(
        select(m.LinkObservation.link_id, m.LinkObservation.routing_since)
        .join(m.Link, m.Link.id == m.LinkObservation.link_id)
        .where(m.Link.status == LinkStatus.ACTIVE, m.LinkObservation.routing_state == DOWN)
    ):
        if since is not None and now - since >= DRIFT_AFTER:
            found[("link_without_adjacency", str(link_id))] = (
                None,
                {"link": str(link_id), "since": since.isoformat()},
            )
    existing = {(r.kind, r.subject): r for r in session.scalars(select(m.DriftFinding))}
    for key, (nn, data) in found.items():
        if key in existing:
            continue
        kind, subject = key
        session.add(
            m.DriftFinding(kind=kind, subject=subject, network_number=nn, data=data, since=now)
        )
        write_event(session, f"drift.{kind}", "drift", subject, data, network_number=nn)
        outcome.note("drift", subject, "-", kind)
        outcome.writes += 1
    gone = [row.id for key, row in existing.items() if key not in found]
    if gone:
        session.execute(delete(m.DriftFinding).where(m.DriftFinding.id.in_(gone)))
        outcome.writes += len(gone)


async def poll_routing(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> RoutingOutcome:
    """Read every routing source once and apply the union of what answered."""
    try:
        sources = [routing_sources.parse_source(url) for url in settings.routing_sources]
    except ValueError as exc:
        raise CollectorError(routing_sources.COLLECTOR, str(exc)) from None
    collection = await routing_sources.collect(
        sources,
        guard=ProbeGuard.from_cidrs(settings.probe_networks),
        timeout=settings.routing_timeout_s,
    )
    when = now or datetime.now(UTC)

    def apply() -> RoutingOutcome:
        with transaction(sessions) as session:
            return apply_routing(session, collection.databases, when)

    outcome = await asyncio.to_thread(apply)
    outcome.errors = list(collection.errors)
    return outcome
