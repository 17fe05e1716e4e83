"""Incidents in the database: what is down grouped by cause, opened, updated and resolved.

`refresh_incidents` runs in the transaction that applied a poll (after outages were opened
and closed), so an incident and its events commit with the transitions that explain them.
Events `incident.opened`, `incident.updated` and `incident.resolved` carry the cause, the
affected network numbers and how many installs and members are cut off; never a member's
name or contact data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import InstallStatus, Subject
from ipam.enums import ObservedStatus as S
from ipam.incidents.outages import DEFAULT_FLAP_TRANSITIONS, settle_flapping
from ipam.incidents.rules import Group, Rank, explain
from ipam.records.changes import write_event
from ipam.topology.mesh import DEFAULT_EXIT_TYPES, Topology, build
from ipam.topology.store import load_links, load_nodes


@dataclass(frozen=True)
class Watch:
    """The settings incidents follow: which node types are exits, when a subject flaps."""

    exit_types: frozenset[str] = DEFAULT_EXIT_TYPES
    flap_transitions: int = DEFAULT_FLAP_TRANSITIONS


@dataclass(frozen=True)
class _Found:
    """One group as an incident would record it."""

    group: Group
    cause_kind: str
    cause_id: uuid.UUID
    label: str
    headline: str
    headline_nn: int | None
    nns: list[int]


def _label(topo: Topology, key: str) -> str:
    node = topo.nodes[key]
    ref = f"NN {node.network_number}" if node.network_number is not None else f"node {key[:8]}"
    return f"{ref} ({node.name})" if node.name else ref


def _describe(topo: Topology, group: Group) -> _Found:
    nns = sorted(
        nn for nn in (topo.nodes[k].network_number for k in group.affected) if nn is not None
    )
    if group.cause_kind == "node":
        key = group.cause[0]
        label = _label(topo, key)
        return _Found(
            group, Subject.NODE, uuid.UUID(key), label, label, topo.nodes[key].network_number, nns
        )
    near, far = group.cause
    link_id = topo.graph.get_edge_data(near, far)["ids"][0]
    ends = "-".join(str(topo.ref(k)) for k in (far, near))
    return _Found(
        group,
        Subject.LINK,
        uuid.UUID(link_id),
        f"link {ends}",
        _label(topo, far),
        topo.nodes[far].network_number,
        nns,
    )


def _holders(session: Session, node_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Per node, the member of each Active install on it (one query for every group)."""
    ids = list(node_ids)
    held: dict[uuid.UUID, list[uuid.UUID]] = {}
    if not ids:
        return held
    for node_id, member_id in session.execute(
        select(m.Install.node_id, m.Install.member_id).where(
            m.Install.node_id.in_(ids), m.Install.status == InstallStatus.ACTIVE
        )
    ):
        held.setdefault(node_id, []).append(member_id)
    return held


def _people(
    held: Mapping[uuid.UUID, list[uuid.UUID]], node_ids: Iterable[uuid.UUID]
) -> tuple[int, int]:
    """Active installs on these nodes, and the distinct members who hold them."""
    members = [member for node in node_ids for member in held.get(node, ())]
    return len(members), len(set(members))


def _rank(topo: Topology) -> Mapping[str, Rank]:
    return {
        key: (1, 0, key) if node.network_number is None else (0, node.network_number, "")
        for key, node in topo.nodes.items()
    }


def body(incident: m.Incident, **extra: Any) -> dict[str, Any]:
    """An incident as event data and API answer (counts only: no member data)."""
    ended = incident.ended_at
    return {
        "id": incident.id,
        "cause": {
            "kind": incident.cause_kind,
            "id": str(incident.cause_id),
            "label": incident.cause_label,
        },
        "headline": incident.headline,
        "network_number": incident.network_number,
        "affected_nns": list(incident.affected_nns),
        "nodes": len(incident.affected_node_ids),
        "peak_nodes": incident.peak_nodes,
        "installs": incident.installs,
        "members": incident.members,
        "flapping": incident.flapping,
        "started_at": incident.started_at.isoformat(),
        "ended_at": ended.isoformat() if ended else None,
        "duration_s": (ended - incident.started_at).total_seconds() if ended else None,
        **extra,
    }


def _emit(session: Session, kind: str, incident: m.Incident, **extra: Any) -> None:
    write_event(
        session,
        f"incident.{kind}",
        "incidents",
        str(incident.id),
        body(incident, **extra),
        network_number=incident.network_number,
    )


def _attach(session: Session, incident_id: int, node_ids: list[uuid.UUID], cause: _Found) -> None:
    """Open outages of the affected nodes, their devices and links, and the cause's, join it."""
    devices = select(m.Device.id).where(m.Device.node_id.in_(node_ids)).scalar_subquery()
    links = (
        select(m.Link.id)
        .where(or_(m.Link.from_device_id.in_(devices), m.Link.to_device_id.in_(devices)))
        .scalar_subquery()
    )
    session.execute(
        update(m.Outage)
        .where(
            m.Outage.ended_at.is_(None),
            m.Outage.incident_id.is_distinct_from(incident_id),
            or_(
                (m.Outage.kind == Subject.NODE) & m.Outage.subject_id.in_(node_ids),
                (m.Outage.kind == Subject.DEVICE) & m.Outage.subject_id.in_(devices),
                (m.Outage.kind == Subject.LINK) & m.Outage.subject_id.in_(links),
                (m.Outage.kind == cause.cause_kind) & (m.Outage.subject_id == cause.cause_id),
            ),
        )
        .values(incident_id=incident_id)
        .execution_options(synchronize_session=False)
    )


def refresh_incidents(session: Session, now: datetime, watch: Watch = Watch()) -> None:
    """Group what is cut off by cause; open, update and resolve incidents to match."""
    settle_flapping(session, now)
    topo = build(load_nodes(session), load_links(session), exit_types=watch.exit_types)
    adj = {u: tuple(nbrs) for u, nbrs in topo.graph.adjacency()}
    observed = {key: node.observed_status for key, node in topo.nodes.items()}
    down = {key for key, status in observed.items() if status == S.DOWN}
    pool = down | {key for key, status in observed.items() if status == S.VISIBLE}
    ranks = _rank(topo)
    found = [_describe(topo, g) for g in explain(adj, topo.exits, pool, down, ranks.__getitem__)]
    open_rows = list(
        session.scalars(select(m.Incident).where(m.Incident.ended_at.is_(None)).with_for_update())
    )
    by_cause = {(row.cause_kind, row.cause_id): row for row in open_rows}
    flapping = set(
        session.scalars(
            select(m.Monitored.subject_id).where(
                m.Monitored.kind == Subject.NODE, m.Monitored.flapping_since.is_not(None)
            )
        )
    )
    matched: dict[int, m.Incident] = {}
    explained: dict[uuid.UUID, m.Incident] = {}
    held = _holders(session, (uuid.UUID(k) for item in found for k in item.group.affected))
    for item in found:
        node_ids = sorted(uuid.UUID(k) for k in item.group.affected)
        installs, members = _people(held, node_ids)
        row = by_cause.get((item.cause_kind, item.cause_id))
        is_flapping = item.cause_kind == Subject.NODE and item.cause_id in flapping
        if row is None:
            row = m.Incident(
                cause_kind=item.cause_kind,
                cause_id=item.cause_id,
                cause_label=item.label,
                headline=item.headline,
                network_number=item.headline_nn,
                started_at=now,
                affected_node_ids=node_ids,
                affected_nns=item.nns,
                peak_nodes=len(node_ids),
                installs=installs,
                members=members,
                flapping=is_flapping,
            )
            session.add(row)
            session.flush()
            _attach(session, row.id, node_ids, item)
            _emit(session, "opened", row)
        else:
            before = set(row.affected_nns)
            became_flapping = is_flapping and not row.flapping
            changed = set(row.affected_node_ids) != set(node_ids) or became_flapping
            row.affected_node_ids, row.affected_nns = node_ids, item.nns
            row.installs, row.members = installs, members
            row.peak_nodes = max(row.peak_nodes, len(node_ids))
            row.flapping = row.flapping or is_flapping
            _attach(session, row.id, node_ids, item)
            if changed:
                fell, back = sorted(set(item.nns) - before), sorted(before - set(item.nns))
                _emit(session, "updated", row, fell_nns=fell, returned_nns=back)
        matched[row.id] = row
        explained.update(dict.fromkeys(node_ids, row))
    for row in open_rows:
        if row.id in matched:
            continue
        if row.cause_kind == Subject.NODE and row.cause_id in flapping:
            # A flapping node's returns and falls fold into one incident until it settles.
            if row.affected_node_ids:
                back = list(row.affected_nns)
                row.affected_node_ids, row.affected_nns = [], []
                row.installs = row.members = 0
                _emit(session, "updated", row, fell_nns=[], returned_nns=back)
            continue
        row.ended_at = now
        into = explained.get(row.cause_id)
        if into is not None and into.id != row.id:
            # Its cause is now cut off by a larger failure: that incident takes its outages.
            _emit(session, "resolved", row, merged_into=into.id)
        else:
            _emit(session, "resolved", row)
    session.flush()
