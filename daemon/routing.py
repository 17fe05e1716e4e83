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
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from collectors.errors import CollectorError
from collectors.guard import ProbeGuard
from collectors.routing import sources as routing_sources
from daemon.observe import Outcome, refresh_nodes, update_links
from ipam import models as m
from ipam.db import transaction
from ipam.enums import LinkStatus, NodeStatus
from ipam.enums import ObservedStatus as S
from ipam.incidents.store import Watch, refresh_incidents
from ipam.observed.rules import DRIFT_AFTER
from ipam.records.changes import write_event
from ipam.records.versions import bump_observed
from ipam.routing.mapping import map_databases
from ipam.routing.subnets import NOBODY, subnet_states
from ipam.routing.values import DatabaseLike, RoutingView
from ipam.settings import Settings

UP, DOWN = S.UP.value, S.DOWN.value
# A recorded Active link between two visible nodes that has never had an adjacency.
ABSENT = "absent"


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


def _table(model: type[m.Base]) -> Table:
    return cast(Table, model.__table__)


def _write(
    session: Session,
    table: Table,
    key: Sequence[str],
    outcome: RoutingOutcome,
    *,
    inserts: Sequence[dict[str, Any]] = (),
    updates: Sequence[dict[str, Any]] = (),
    deletes: Sequence[dict[str, Any]] = (),
) -> None:
    """Batched Core statements for the rows that changed (ORM objects per row cost ten times
    the whole steady cycle on NYC Mesh's database)."""
    if inserts:
        session.execute(insert(table), list(inserts))
    match = and_(*(table.c[k] == bindparam(f"k_{k}") for k in key))
    # One executemany per set of columns: some updates leave `since` alone.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(c for c in row if c not in key), []).append(row)
    for columns, rows in groups.items():
        params = [
            {**{f"k_{k}": row[k] for k in key}, **{f"v_{c}": row[c] for c in columns}}
            for row in rows
        ]
        stmt = update(table).where(match).values({c: bindparam(f"v_{c}") for c in columns})
        session.execute(stmt, params)
    if deletes:
        session.execute(
            delete(table).where(match), [{f"k_{k}": row[k] for k in key} for row in deletes]
        )
    outcome.writes += len(inserts) + len(updates) + len(deletes)


def apply_routing(
    session: Session, databases: Sequence[DatabaseLike], now: datetime, watch: Watch = Watch()
) -> RoutingOutcome:
    """Fold one cycle's databases into the observed state; events, outages and incidents in
    this transaction."""
    view = map_databases(databases, device_addresses(session))
    outcome = RoutingOutcome(
        # `devices` is what the collector state counts as targets: here, routers.
        devices=len(view.routers),
        routers=len(view.routers),
        unknown=len(view.unknown),
        adjacencies=len(view.adjacencies),
    )
    nodes = {
        nn: (node_id, status)
        for node_id, nn, status in session.execute(
            select(m.Node.id, m.Node.network_number, m.Node.status).where(
                m.Node.network_number.is_not(None)
            )
        )
    }
    _routers(session, view, now, outcome)
    _visibility(session, view, nodes, now, outcome, watch)
    present = _adjacencies(session, view, now, outcome)
    _hops(session, view, outcome)
    recorded_pairs = _links(session, view, present, now, outcome, watch)
    _subnets(session, view, set(nodes), now, outcome)
    _drift(session, view, nodes, present, recorded_pairs, now, outcome)
    if outcome.writes:
        bump_observed(session)
    if any(kind in ("node", "link") for kind, *_ in outcome.transitions):
        # A router that vanishes is a node down as surely as a ping that fails: same incidents.
        refresh_incidents(session, now, watch)
    return outcome


def _routers(session: Session, view: RoutingView, now: datetime, outcome: RoutingOutcome) -> None:
    t = _table(m.RoutingRouter)
    rows = {
        str(rid): (nn, by, visible)
        for rid, nn, by, visible in session.execute(
            select(t.c.router_id, t.c.network_number, t.c.mapped_by, t.c.visible)
        )
    }
    inserts, updates = [], []
    for router in view.routers:
        key = str(router.router_id)
        want = (router.network_number, router.mapped_by, router.visible)
        row = rows.pop(key, None)
        fields = dict(zip(("network_number", "mapped_by", "visible"), want, strict=True))
        if row is None:
            inserts.append({"router_id": key, **fields, "since": now, "first_seen": now})
        elif row != want:
            # `since` moves with visibility only, not with a new mapping.
            moved = {"since": now} if row[2] != router.visible else {}
            updates.append({"router_id": key, **fields, **moved})
    # A router gone from every database (MaxAge passed) is not visible; its row stays as history.
    for key, (_, _, visible) in rows.items():
        if visible:
            updates.append({"router_id": key, "visible": False, "since": now})
    _write(session, t, ("router_id",), outcome, inserts=inserts, updates=updates)


def _visibility(
    session: Session,
    view: RoutingView,
    nodes: dict[int, tuple[uuid.UUID, str]],
    now: datetime,
    outcome: RoutingOutcome,
    watch: Watch,
) -> None:
    t = _table(m.NodeObservation)
    visible = view.visible_nns
    seen: dict[uuid.UUID, bool | None] = {
        node_id: routing_visible
        for node_id, routing_visible in session.execute(select(t.c.node_id, t.c.routing_visible))
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for nn, (node_id, _) in nodes.items():
        want = nn in visible
        if node_id not in seen:
            inserts.append(
                {
                    "node_id": node_id,
                    "status": S.PENDING.value,
                    "routing_visible": want,
                    "routing_since": now,
                }
            )
        elif seen[node_id] != want:
            updates.append({"node_id": node_id, "routing_visible": want, "routing_since": now})
    _write(session, t, ("node_id",), outcome, inserts=inserts, updates=updates)
    changed = [cast(uuid.UUID, r["node_id"]) for r in (*inserts, *updates)]
    refresh_nodes(session, changed, now, outcome, watch)


def _adjacencies(
    session: Session, view: RoutingView, now: datetime, outcome: RoutingOutcome
) -> set[tuple[int, int]]:
    t = _table(m.RoutingAdjacency)
    rows = {
        (a, b): (ab, ba, present)
        for a, b, ab, ba, present in session.execute(
            select(t.c.nn_a, t.c.nn_b, t.c.cost_ab, t.c.cost_ba, t.c.present)
        )
    }
    inserts, updates = [], []
    present: set[tuple[int, int]] = set()
    for adj in view.adjacencies:
        key = (adj.a, adj.b)
        present.add(key)
        row = rows.pop(key, None)
        fields = {"nn_a": adj.a, "nn_b": adj.b, "cost_ab": adj.cost_ab, "cost_ba": adj.cost_ba}
        if row is None:
            inserts.append({**fields, "present": True, "since": now})
        elif row != (adj.cost_ab, adj.cost_ba, True):
            # A cost change keeps `since`; only appearing and disappearing move it.
            moved = {"since": now} if not row[2] else {}
            updates.append({**fields, "present": True, **moved})
    for a, b in (key for key, row in rows.items() if row[2]):
        updates.append({"nn_a": a, "nn_b": b, "present": False, "since": now})
    _write(session, t, ("nn_a", "nn_b"), outcome, inserts=inserts, updates=updates)
    return present


def _hops(session: Session, view: RoutingView, outcome: RoutingOutcome) -> None:
    """The routing graph as edges, rewritten only where it differs."""
    t = _table(m.RoutingHop)
    rows = {(s, d): c for s, d, c in session.execute(select(t.c.source, t.c.target, t.c.cost))}
    inserts, updates = [], []
    for hop in view.hops:
        cost = rows.pop((hop.source, hop.target), None)
        row = {"source": hop.source, "target": hop.target, "cost": hop.cost}
        if cost is None:
            inserts.append(row)
        elif cost != hop.cost:
            updates.append(row)
    deletes = [{"source": s, "target": d} for s, d in rows]
    _write(
        session, t, ("source", "target"), outcome, inserts=inserts, updates=updates, deletes=deletes
    )


_FROM_DEV, _TO_DEV = aliased(m.Device.__table__), aliased(m.Device.__table__)
_FROM_NODE, _TO_NODE = aliased(m.Node.__table__), aliased(m.Node.__table__)


def _links(
    session: Session,
    view: RoutingView,
    present: set[tuple[int, int]],
    now: datetime,
    outcome: RoutingOutcome,
    watch: Watch,
) -> set[tuple[int, int]]:
    """Each recorded link between two nodes: up with an adjacency, down when an Active one's
    adjacency disappears, absent while two visible nodes never had one. Answers the recorded
    node pairs."""
    lk, obs = _table(m.Link), _table(m.LinkObservation)
    rows = session.execute(
        select(
            lk.c.id,
            lk.c.status,
            _FROM_NODE.c.network_number,
            _TO_NODE.c.network_number,
            obs.c.link_id,
            obs.c.routing_state,
        )
        .join(_FROM_DEV, _FROM_DEV.c.id == lk.c.from_device_id)
        .join(_TO_DEV, _TO_DEV.c.id == lk.c.to_device_id)
        .join(_FROM_NODE, _FROM_NODE.c.id == _FROM_DEV.c.node_id)
        .join(_TO_NODE, _TO_NODE.c.id == _TO_DEV.c.node_id)
        .outerjoin(obs, obs.c.link_id == lk.c.id)
    ).all()  # fmt: skip
    visible = view.visible_nns
    pairs: set[tuple[int, int]] = set()
    inserts, updates = [], []
    for link_id, status, nn_a, nn_b, observed, before in rows:
        if nn_a is None or nn_b is None or nn_a == nn_b:
            continue
        pair = (min(nn_a, nn_b), max(nn_a, nn_b))
        pairs.add(pair)
        active = status == LinkStatus.ACTIVE
        if pair in present:
            want: str | None = UP
        elif active and before in (UP, DOWN):
            want = DOWN  # its adjacency disappeared (and stays lost until it is back)
        elif active and nn_a in visible and nn_b in visible:
            # Never seen with an adjacency: no verdict on the link (its nodes may route over
            # a third one), but the clock for "no adjacency for 30 days" runs.
            want = ABSENT
        else:
            want = None
        if want == before:
            continue
        row = {"link_id": link_id, "routing_state": want, "routing_since": now}
        if observed is None:
            inserts.append({**row, "status": S.PENDING.value})
        else:
            updates.append(row)
    _write(session, obs, ("link_id",), outcome, inserts=inserts, updates=updates)
    changed = [r["link_id"] for r in (*inserts, *updates)]
    if changed:
        links = session.scalars(select(m.Link).where(m.Link.id.in_(changed))).all()
        update_links(session, links, now, outcome, watch)
    return pairs


def _subnets(
    session: Session, view: RoutingView, recorded: set[int], now: datetime, outcome: RoutingOutcome
) -> None:
    t = _table(m.SubnetState)
    states = subnet_states(view.routers, allocations(session), recorded)
    rows = {
        str(prefix): (status, nn, list(by), list(routers))
        for prefix, status, nn, by, routers in session.execute(
            select(t.c.prefix, t.c.status, t.c.network_number, t.c.announced_by, t.c.routers)
        )
    }
    inserts, updates = [], []
    for state in states:
        key = str(state.prefix)
        want = (
            state.status.value,
            state.network_number,
            list(state.announced_by),
            [str(r) for r in state.routers],
        )
        row = rows.pop(key, None)
        if row == want:
            continue
        fields = dict(
            zip(("status", "network_number", "announced_by", "routers"), want, strict=True)
        )
        before = row[0] if row else None
        if row is None:
            inserts.append({"prefix": key, **fields, "since": now})
        else:
            moved = {"since": now} if before != state.status else {}
            updates.append({"prefix": key, **fields, **moved})
        if before != state.status:
            _subnet_event(session, key, before, state.status.value, state.network_number)
            outcome.note("subnet", key, before or "-", state.status)
    # Withdrawn and no longer wanted: no state to keep.
    for key, (status, nn, _, _) in rows.items():
        _subnet_event(session, key, status, None, nn)
        outcome.note("subnet", key, status, "-")
    deletes = [{"prefix": key} for key in rows]
    _write(session, t, ("prefix",), outcome, inserts=inserts, updates=updates, deletes=deletes)


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
    nodes: dict[int, tuple[uuid.UUID, str]],
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
        elif node[1] == NodeStatus.INACTIVE:
            found[("visible_inactive", str(nn))] = (nn, {"recorded": node[1]})
    for link_id, since in session.execute(
        select(m.LinkObservation.link_id, m.LinkObservation.routing_since)
        .join(m.Link, m.Link.id == m.LinkObservation.link_id)
        .where(
            m.Link.status == LinkStatus.ACTIVE,
            m.LinkObservation.routing_state.in_((DOWN, ABSENT)),
        )
    ):
        if since is not None and now - since >= DRIFT_AFTER:
            found[("link_without_adjacency", str(link_id))] = (
                None,
                {"link": str(link_id), "since": since.isoformat()},
            )
    t = _table(m.DriftFinding)
    existing = {
        (kind, subject): i
        for i, kind, subject in session.execute(select(t.c.id, t.c.kind, t.c.subject))
    }
    inserts = []
    for key, (owner, data) in found.items():
        if key in existing:
            continue
        kind, subject = key
        inserts.append(
            {"kind": kind, "subject": subject, "network_number": owner, "data": data, "since": now}
        )
        write_event(session, f"drift.{kind}", "drift", subject, data, network_number=owner)
        outcome.note("drift", subject, "-", kind)
    deletes = [{"id": i} for key, i in existing.items() if key not in found]
    _write(session, t, ("id",), outcome, inserts=inserts, deletes=deletes)


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

    watch = Watch(frozenset(settings.exit_types), settings.flap_transitions)

    def apply() -> RoutingOutcome:
        with transaction(sessions) as session:
            return apply_routing(session, collection.databases, when, watch)

    outcome = await asyncio.to_thread(apply)
    outcome.errors = list(collection.errors)
    return outcome
