"""Applying validated values to records: foreign keys, many-to-many sides and the field rules."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.errors import Conflict, Invalid
from ipam.numbering import nn_assign as assign
from ipam.records.changes import (
    KINDS,
    RecordKind,
    family,
    fetch_related,
    load,
    record_change,
    snapshot,
    write_event,
)

# Request field -> (target model, column on this record).
FOREIGN_KEYS: dict[str, dict[str, tuple[type[m.Record], str]]] = {
    "buildings": {"primary_node": (m.Node, "primary_node_id")},
    "installs": {
        "member": (m.Member, "member_id"),
        "building": (m.Building, "building_id"),
        "node": (m.Node, "node_id"),
    },
    "devices": {"node": (m.Node, "node_id")},
    "sectors": {"node": (m.Node, "node_id")},
    "accesspoints": {"node": (m.Node, "node_id")},
    "links": {"from_device": (m.Device, "from_device_id"), "to_device": (m.Device, "to_device_id")},
    "loses": {
        "from_building": (m.Building, "from_building_id"),
        "to_building": (m.Building, "to_building_id"),
    },
    "billing/install-fee-data": {"install": (m.Install, "install_id")},
    "ip-allocations": {
        "prefix": (m.Prefix, "prefix_id"),
        "device": (m.Device, "device_id"),
        "link": (m.Link, "link_id"),
    },
}

# Request field -> target model of a many-to-many side.
MANY_TO_MANY: dict[str, dict[str, type[m.Record]]] = {
    "buildings": {"nodes": m.Node},
    "nodes": {"buildings": m.Building},
    "installs": {"additional_members": m.Member},
}

# Values the database gives and nobody edits afterwards.
READ_ONLY = {"install_number"}

Hook = Callable[[Session, Any, dict[str, Any], str], None]


def _check_node_number(session: Session, node: m.Node, values: dict[str, Any], actor: str) -> None:
    """A network number is immutable once set; a new one follows the vanity-NN rules."""
    if "network_number" not in values:
        return
    wanted = values["network_number"]
    if node.network_number is not None and wanted != node.network_number:
        raise Invalid(
            f"network_number: {node.network_number} is set and may not change",
            field="network_number",
        )
    if wanted is not None and wanted != node.network_number:
        assign.check_vanity(session, node, wanted, actor)


def _number_when_active(session: Session, node: m.Node, values: dict[str, Any], actor: str) -> None:
    """Setting a node Active without an NN assigns one automatically."""
    assign.number_for_active_node(session, node)


def _building_keeps_primary(
    session: Session, building: m.Building, values: dict[str, Any], actor: str
) -> None:
    """Setting a building's primary node also puts that node among its nodes."""
    primary = building.primary_node_id
    if primary is not None and all(n.id != primary for n in building.nodes):
        building.nodes.append(session.get_one(m.Node, primary))


def _node_keeps_primary_buildings(
    session: Session, node: m.Node, values: dict[str, Any], actor: str
) -> None:
    """A node may not leave a building it is the primary node of (change that first)."""
    if "buildings" not in values or node.id is None:
        return
    kept = {b.id for b in node.buildings}
    primary_of = session.scalars(select(m.Building.id).where(m.Building.primary_node_id == node.id))
    left = [str(b) for b in primary_of if b not in kept]
    if left:
        raise Invalid(
            f"buildings: this node is the primary node of building {', '.join(left)}; "
            "change that building's primary_node first",
            field="buildings",
        )


def _unique(column: str, resource: str) -> Hook:
    """A unique value another record holds is a 409 that names the holder."""

    def check(session: Session, obj: Any, values: dict[str, Any], actor: str) -> None:
        wanted = values.get(column)
        if wanted is None or wanted == getattr(obj, column):
            return
        # Sectors and access points share the device table's uniqueness.
        base = inspect(type(obj)).base_mapper.class_
        holder = session.scalar(select(base.id).where(getattr(base, column) == wanted))
        if holder is not None and holder != obj.id:
            raise Conflict(
                f"{column}: {wanted!r} is held by {resource} {holder}",
                field=column,
                held_by={"resource": resource, "id": str(holder)},
            )

    return check


def _distinct_ends(first: str, second: str) -> Hook:
    def check(session: Session, obj: Any, values: dict[str, Any], actor: str) -> None:
        if getattr(obj, f"{first}_id") == getattr(obj, f"{second}_id"):
            raise Invalid(f"{second}: must differ from {first}", field=second)

    return check


BEFORE: dict[str, list[Hook]] = {
    "nodes": [_check_node_number],
    "devices": [_unique("uisp_id", "devices")],
    "sectors": [_unique("uisp_id", "devices")],
    "accesspoints": [_unique("uisp_id", "devices")],
    "links": [_unique("uisp_id", "links")],
}


def _inside_prefix(
    session: Session, allocation: m.IpAllocation, values: dict[str, Any], actor: str
) -> None:
    """An allocation lies inside the prefix it is taken from."""
    prefix = session.get(m.Prefix, allocation.prefix_id)
    if prefix is None:
        return  # the foreign-key check has already named the missing prefix
    inner, outer = ipaddress.ip_network(allocation.address), ipaddress.ip_network(prefix.cidr)
    if inner.version != outer.version or not inner.subnet_of(outer):  # type: ignore[arg-type]
        raise Invalid(f"address: {inner} is not inside prefix {outer}", field="address")


AFTER: dict[str, list[Hook]] = {
    "nodes": [_number_when_active, _node_keeps_primary_buildings],
    "buildings": [_building_keeps_primary],
    "links": [_distinct_ends("from_device", "to_device")],
    "loses": [_distinct_ends("from_building", "to_building")],
    "ip-allocations": [_inside_prefix],
}


def _apply(
    session: Session, kind: RecordKind, obj: Any, values: dict[str, Any], actor: str
) -> None:
    """Set plain columns, resolve foreign keys and replace many-to-many sides."""
    # No autoflush: a half-filled new record must not reach the database mid-way.
    with session.no_autoflush:
        _set_values(session, kind, obj, values, actor)


def _set_values(
    session: Session, kind: RecordKind, obj: Any, values: dict[str, Any], actor: str
) -> None:
    for hook in BEFORE.get(kind.resource, []):
        hook(session, obj, values, actor)
    fks = FOREIGN_KEYS.get(kind.resource, {})
    m2m = MANY_TO_MANY.get(kind.resource, {})
    for name, value in values.items():
        if name in READ_ONLY:
            # None means "not given"; any other value must be the one the database gave.
            if value is not None and value != getattr(obj, name, None):
                raise Invalid(f"{name}: given by the database and never editable", field=name)
            continue
        if name in fks:
            target, column = fks[name]
            if value is not None:
                fetch_related(session, target, [value], name)
            setattr(obj, column, value)
        elif name in m2m:
            setattr(obj, name, fetch_related(session, m2m[name], value or [], name))
        else:
            setattr(obj, name, value)
    for hook in AFTER.get(kind.resource, []):
        hook(session, obj, values, actor)


def _flush(session: Session) -> None:
    """Flush, turning a constraint the database enforces into a clear client error."""
    try:
        session.flush()
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        column = getattr(diag, "column_name", None)
        if constraint == "no_overlap":
            raise Conflict("address: overlaps an existing allocation", field="address") from exc
        if constraint.startswith("uq_"):
            # NAMING: uq_<table>_<column>, so the field is what follows the table's name.
            table = getattr(diag, "table_name", None) or ""
            taken = constraint.removeprefix(f"uq_{table}_")
            raise Conflict(f"{taken}: value already taken", field=taken) from exc
        if column:
            raise Invalid(f"{column}: may not be null", field=column) from exc
        raise Invalid(f"{constraint or 'record'}: violates a rule of the records") from exc


# Device fields whose change is an event of its own, naming who made it: the daemon sends
# SNMP (with the v2c community in clear) to a device's management address, so pointing it
# at another host is something admins want to hear about (issue 11).
WATCHED = {"management_address": "management_address_changed"}


def _watched_changes(
    session: Session,
    kind: RecordKind,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    actor: str,
) -> None:
    """A `device.<field>_changed` event {from, to, actor} for each watched field that changed."""
    if not issubclass(kind.model, m.Device):  # sectors and access points are devices too
        return
    for name, word in WATCHED.items():
        old, new = (before or {}).get(name), after.get(name)
        if old != new:
            data = {"from": old, "to": new, "actor": actor}
            # "device." for sectors and access points too: one subscription hears them all.
            event_type = f"{KINDS['devices'].singular}.{word}"
            write_event(session, event_type, kind.resource, str(after["id"]), data)


def create(session: Session, kind: RecordKind, values: dict[str, Any], actor: str) -> Any:
    """Create a record from validated values; history and event in the same transaction."""
    obj = kind.model()
    for name in kind.m2m:
        setattr(obj, name, [])
    session.add(obj)
    _apply(session, kind, obj, dict(values), actor)
    _flush(session)
    after = snapshot(obj, kind)
    record_change(session, kind, obj.id, "created", actor, None, after)
    _watched_changes(session, kind, None, after, actor)
    return obj


def update(
    session: Session, kind: RecordKind, record_id: uuid.UUID, values: dict[str, Any], actor: str
) -> Any:
    """Change a record (PUT or PATCH); history and event in the same transaction."""
    obj = load(session, kind, record_id, lock=True)
    before = snapshot(obj, kind)
    _apply(session, kind, obj, dict(values), actor)
    _flush(session)
    after = snapshot(obj, kind)
    if after != before:
        record_change(session, kind, obj.id, "updated", actor, before, after)
        _watched_changes(session, kind, before, after, actor)
    return obj


def revert(
    session: Session, kind: RecordKind, record_id: uuid.UUID, history_id: int, actor: str
) -> Any:
    """Restore the version a history row holds; the revert is itself recorded."""
    row = session.get(m.History, history_id)
    if row is None or row.record_id != record_id or row.resource not in family(kind):
        raise Invalid(f"history_id: no history {history_id} for this record", field="history_id")
    version = row.after if row.after is not None else row.before
    if version is None:
        raise Invalid("history_id: that history row holds no version", field="history_id")
    obj = load(session, kind, record_id, lock=True)
    before = snapshot(obj, kind)
    restorable = {
        key: value
        for key, value in version.items()
        if key not in ("id", "created", "updated", "kind", *READ_ONLY)
    }
    for name, (_, column) in FOREIGN_KEYS.get(kind.resource, {}).items():
        if column in restorable:
            value = restorable.pop(column)
            restorable[name] = uuid.UUID(value) if value else None
    for name in kind.m2m:
        restorable[name] = [uuid.UUID(v) for v in restorable.get(name, [])]
    _apply(session, kind, obj, restorable, actor)
    _flush(session)
    after = snapshot(obj, kind)
    record_change(session, kind, obj.id, "reverted", actor, before, after)
    _watched_changes(session, kind, before, after, actor)
    return obj


def kind_of(resource: str) -> RecordKind:
    """The record kind behind a URL name."""
    return KINDS[resource]
