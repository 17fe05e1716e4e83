"""Creating, changing and deleting records, each change written to history and the outbox."""

from __future__ import annotations

import enum
import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, selectinload

from ipam import models as m
from ipam.errors import Conflict, Invalid, NotFound

# Every outbox insert takes this transaction-scoped lock, so event ids become visible in
# the order they were given: a cursor reader can never skip an event that commits late.
EVENT_LOCK = 0x6D6B_0001
# session.info key: while set, `write_event` keeps rows here instead of writing them (see
# `stage_events`), so a long transaction takes EVENT_LOCK only for its last, short step.
STAGED_EVENTS = "meshkeeper.staged_events"


@dataclass(frozen=True)
class Referrer:
    """One kind of record that can point at another and so block its deletion."""

    label: str
    column: Any
    describe: Any


@dataclass(frozen=True)
class RecordKind:
    """What the domain needs to know about one table."""

    resource: str  # URL name, e.g. "nodes"
    singular: str  # event prefix, e.g. "node"
    model: type[m.Record]
    m2m: tuple[str, ...] = ()
    referrers: tuple[Referrer, ...] = field(default=())


def _ids(rows: Iterable[Any]) -> list[str]:
    return [str(r) for r in rows]


KINDS: dict[str, RecordKind] = {
    kind.resource: kind
    for kind in (
        RecordKind(
            "members",
            "member",
            m.Member,
            referrers=(
                Referrer("installs", m.Install.member_id, m.Install.install_number),
                Referrer(
                    "installs (as additional member)",
                    m.install_additional_member.c.member_id,
                    m.install_additional_member.c.install_id,
                ),
            ),
        ),
        RecordKind(
            "buildings",
            "building",
            m.Building,
            m2m=("nodes",),
            referrers=(
                Referrer("installs", m.Install.building_id, m.Install.install_number),
                Referrer("loses", m.LOS.from_building_id, m.LOS.id),
                Referrer("loses", m.LOS.to_building_id, m.LOS.id),
            ),
        ),
        RecordKind(
            "installs",
            "install",
            m.Install,
            m2m=("additional_members",),
            referrers=(
                Referrer(
                    "install fee billing data",
                    m.InstallFeeBillingDatum.install_id,
                    m.InstallFeeBillingDatum.id,
                ),
            ),
        ),
        RecordKind(
            "billing/install-fee-data", "install_fee_billing_datum", m.InstallFeeBillingDatum
        ),
        RecordKind(
            "nodes",
            "node",
            m.Node,
            m2m=("buildings",),
            referrers=(
                Referrer("installs", m.Install.node_id, m.Install.install_number),
                Referrer("devices", m.Device.node_id, m.Device.id),
                Referrer("buildings (as primary node)", m.Building.primary_node_id, m.Building.id),
                Referrer(
                    "buildings",
                    m.node_building.c.node_id,
                    m.node_building.c.building_id,
                ),
            ),
        ),
        *(
            RecordKind(
                resource,
                singular,
                model,
                referrers=(
                    Referrer("links", m.Link.from_device_id, m.Link.id),
                    Referrer("links", m.Link.to_device_id, m.Link.id),
                    Referrer("ip-allocations", m.IpAllocation.device_id, m.IpAllocation.address),
                ),
            )
            for resource, singular, model in (
                ("devices", "device", m.Device),
                ("sectors", "sector", m.Sector),
                ("accesspoints", "accesspoint", m.AccessPoint),
            )
        ),
        RecordKind(
            "links",
            "link",
            m.Link,
            referrers=(Referrer("ip-allocations", m.IpAllocation.link_id, m.IpAllocation.address),),
        ),
        RecordKind(
            "prefixes",
            "prefix",
            m.Prefix,
            referrers=(
                Referrer("ip-allocations", m.IpAllocation.prefix_id, m.IpAllocation.address),
            ),
        ),
        RecordKind("ip-allocations", "ip_allocation", m.IpAllocation),
        RecordKind("loses", "los", m.LOS),
    )
}


def family(kind: RecordKind) -> list[str]:
    """Resources over the same table (devices, sectors and access points share one history)."""
    base = inspect(kind.model).base_mapper
    return [k.resource for k in KINDS.values() if inspect(k.model).base_mapper is base]


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it (UUIDs and dates as strings)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value.ip)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: m.Record, kind: RecordKind) -> dict[str, Any]:
    """The record's own values and its many-to-many ids, for history and events."""
    state = inspect(obj)
    data = {a.key: jsonable(getattr(obj, a.key)) for a in state.mapper.column_attrs}
    for name in kind.m2m:
        data[name] = sorted(str(other.id) for other in getattr(obj, name))
    return data


def load(session: Session, kind: RecordKind, record_id: uuid.UUID, *, lock: bool = False) -> Any:
    """Fetch one record with its many-to-many sides loaded, or raise NotFound."""
    stmt = select(kind.model).where(kind.model.id == record_id)  # type: ignore[attr-defined]
    stmt = stmt.options(*(selectinload(getattr(kind.model, name)) for name in kind.m2m))
    if lock:
        # Lock the base table's row only: a device query outer-joins its sector and access
        # point tables, and PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        stmt = stmt.with_for_update(of=inspect(kind.model).base_mapper.local_table)
    obj = session.scalars(stmt).first()
    if obj is None:
        raise NotFound(f"no {kind.singular} with id {record_id}", field="id")
    return obj


def write_event(
    session: Session,
    event_type: str,
    resource: str,
    subject_id: str,
    data: Mapping[str, Any],
    network_number: int | None = None,
) -> None:
    """Append one event to the outbox, in the caller's transaction (or to its staged events)."""
    row = {
        "type": event_type,
        "resource": resource,
        "subject_id": subject_id,
        "network_number": network_number,
        "data": dict(data),
    }
    staged = session.info.get(STAGED_EVENTS)
    if staged is not None:
        staged.append(row)
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOCK})
    session.add(m.Event(**row))


def stage_events(session: Session) -> None:
    """Keep this session's events in memory from now on, until `take_staged_events`.

    A long transaction (a 50,000-row import) that took EVENT_LOCK at its first event would
    hold it, and so every other writer, until it commits. Staged, its events are written
    at the end in one short step under the lock (ipam.imports.csv_io), in the same
    transaction, so the outbox stays exactly what the changes were.
    """
    session.info[STAGED_EVENTS] = []


def take_staged_events(session: Session) -> list[dict[str, Any]]:
    """The events staged so far, in order, as Event column values; staging ends."""
    staged: list[dict[str, Any]] = session.info.pop(STAGED_EVENTS, None) or []
    return staged


def record_change(
    session: Session,
    kind: RecordKind,
    record_id: uuid.UUID,
    action: str,
    actor: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write the history row and the outbox event of one change, in the same transaction."""
    session.add(
        m.History(
            resource=kind.resource,
            record_id=record_id,
            action=action,
            actor=actor,
            before=before,
            after=after,
        )
    )
    nn = (after or before or {}).get("network_number")
    event_action = "updated" if action == "reverted" else action
    write_event(
        session,
        f"{kind.singular}.{event_action}",
        kind.resource,
        str(record_id),
        {"before": before, "after": after},
        network_number=nn if isinstance(nn, int) else None,
    )


def fetch_related(session: Session, model: type[m.Record], ids: Iterable[uuid.UUID], field: str):
    """Load the records a request points at; a missing one is a 422 naming the field."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = {
        obj.id: obj
        for obj in session.scalars(select(model).where(model.id.in_(wanted)))  # type: ignore[attr-defined]
    }
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        name = model.__tablename__  # type: ignore[attr-defined]
        raise Invalid(f"{field}: no {name} with id {', '.join(missing)}", field=field)
    return [found[i] for i in wanted]


def referrers_of(session: Session, kind: RecordKind, record_id: uuid.UUID) -> dict[str, list]:
    """What still points at a record, by kind, so a delete can say what blocks it."""
    found: dict[str, list] = {}
    for ref in kind.referrers:
        rows = session.execute(select(ref.describe).where(ref.column == record_id).limit(20))
        values = [jsonable(r[0]) for r in rows]
        if values:
            found.setdefault(ref.label, []).extend(values)
    return found


def delete(session: Session, kind: RecordKind, record_id: uuid.UUID, actor: str) -> None:
    """Delete a record nothing points at; otherwise a 409 naming what points at it."""
    obj = load(session, kind, record_id, lock=True)
    blockers = referrers_of(session, kind, record_id)
    if blockers:
        detail = "; ".join(f"{label}: {', '.join(map(str, v))}" for label, v in blockers.items())
        raise Conflict(
            f"{kind.singular} {record_id} is still referenced by {detail}",
            field="id",
            referenced_by=blockers,
        )
    before = snapshot(obj, kind)
    for name in kind.m2m:
        getattr(obj, name).clear()
    session.delete(obj)
    session.flush()
    record_change(session, kind, record_id, "deleted", actor, before, None)


def count(session: Session, stmt: Any) -> int:
    """Rows a select would return."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
