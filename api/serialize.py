"""Records as the API shows them: one query for the records, one per kind of reference.

References (a node's installs, a building's nodes, ...) are read as plain columns for the
whole page at once, never as ORM objects one record at a time: a page of a hundred installs
costs the same handful of queries as one install, and no related row is built as an object
only to read its id.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.observed.snapshot import observed_marker

Refs = dict[str, dict[uuid.UUID, Any]]
Fetch = Callable[[Session, Sequence[Any]], dict[uuid.UUID, Any]]

DEVICE = m.Device.__table__  # the base table alone: no sector / access point joins for refs


def node_ref(node: m.Node | None) -> dict[str, Any] | None:
    """A node as a reference: id and network number."""
    return None if node is None else {"id": node.id, "network_number": node.network_number}


def _columns(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in ("id", "created", "updated", *names)}


def _many(session: Session, stmt: Select[Any], shape: Callable[..., Any]) -> dict[uuid.UUID, list]:
    """Rows (parent id, *columns) grouped by parent, each shaped."""
    grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for parent, *rest in session.execute(stmt):
        grouped[parent].append(shape(*rest))
    return grouped


def _ids(objs: Iterable[Any], attr: str = "id") -> list[uuid.UUID]:
    return list({getattr(o, attr) for o in objs if getattr(o, attr) is not None})


def _id_ref(ref_id: uuid.UUID) -> dict[str, Any]:
    return {"id": ref_id}


def _install_ref(ref_id: uuid.UUID, number: int) -> dict[str, Any]:
    return {"id": ref_id, "install_number": number}


def _node_ref(ref_id: uuid.UUID, number: int | None) -> dict[str, Any]:
    return {"id": ref_id, "network_number": number}


def installs_of(column: Any) -> Fetch:
    """The installs whose `column` points at each record, in install-number order."""

    def fetch(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
        stmt = (
            select(column, m.Install.id, m.Install.install_number)
            .where(column.in_(_ids(objs)))
            .order_by(m.Install.install_number)
        )
        return _many(session, stmt, _install_ref)

    return fetch


def nodes_by_id(attr: str) -> Fetch:
    """The node a foreign key names (id and network number), per record."""

    def fetch(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
        wanted = _ids(objs, attr)
        if not wanted:
            return {}
        rows = session.execute(
            select(m.Node.id, m.Node.network_number).where(m.Node.id.in_(wanted))
        )
        return {node_id: _node_ref(node_id, nn) for node_id, nn in rows}

    return fetch


def _building_nodes(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    link = m.node_building.c
    stmt = (
        select(link.building_id, m.Node.id, m.Node.network_number)
        .join(m.Node, m.Node.id == link.node_id)
        .where(link.building_id.in_(_ids(objs)))
        .order_by(m.Node.network_number.asc().nulls_last(), m.Node.id)
    )
    return _many(session, stmt, _node_ref)


def _node_buildings(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    link = m.node_building.c
    stmt = (
        select(link.node_id, link.building_id)
        .where(link.node_id.in_(_ids(objs)))
        .order_by(link.building_id)
    )
    return _many(session, stmt, _id_ref)


def _node_devices(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    stmt = (
        select(DEVICE.c.node_id, DEVICE.c.id)
        .where(DEVICE.c.node_id.in_(_ids(objs)))
        .order_by(DEVICE.c.created, DEVICE.c.id)
    )
    return _many(session, stmt, _id_ref)


def _additional_members(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    link = m.install_additional_member.c
    stmt = (
        select(link.install_id, link.member_id)
        .where(link.install_id.in_(_ids(objs)))
        .order_by(link.member_id)
    )
    return _many(session, stmt, _id_ref)


def observations(kind: str) -> Fetch:
    """Each record's observed block, as a marker the observed snapshot fills (api/cache.py).

    No query: observed state changes every polling cycle, records rarely, so the rendered
    record is cached by event id and its observed block is spliced in per observed version.
    """

    def fetch(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
        return {obj.id: observed_marker(kind, obj.id) for obj in objs}

    return fetch


def member(obj: m.Member, refs: Refs) -> dict[str, Any]:
    """A member with its installs."""
    out = _columns(
        obj,
        (
            "name",
            "primary_email_address",
            "stripe_email_address",
            "additional_email_addresses",
            "phone_number",
            "additional_phone_numbers",
            "slack_handle",
            "notes",
            "payment_preference",
        ),
    )
    emails = [obj.primary_email_address, obj.stripe_email_address, *obj.additional_email_addresses]
    phones = [obj.phone_number, *obj.additional_phone_numbers]
    out["all_email_addresses"] = list(dict.fromkeys(e for e in emails if e))
    out["all_phone_numbers"] = list(dict.fromkeys(p for p in phones if p))
    out["installs"] = refs["installs"].get(obj.id, [])
    return out


def building(obj: m.Building, refs: Refs) -> dict[str, Any]:
    """A building with its nodes and installs."""
    out = _columns(
        obj,
        (
            "bin",
            "street_address",
            "city",
            "state",
            "zip_code",
            "latitude",
            "longitude",
            "altitude",
            "address_truth_sources",
            "notes",
            "panoramas",
        ),
    )
    out["primary_node"] = obj.primary_node_id and refs["primary_node"].get(obj.primary_node_id)
    out["nodes"] = refs["nodes"].get(obj.id, [])
    out["installs"] = refs["installs"].get(obj.id, [])
    return out


def install(obj: m.Install, refs: Refs) -> dict[str, Any]:
    """An install with its member, building and node as references."""
    out = _columns(
        obj,
        (
            "install_number",
            "status",
            "unit",
            "roof_access",
            "request_date",
            "install_date",
            "abandon_date",
            "diy",
            "referral",
            "notes",
            "ticket_number",
            "stripe_subscription_id",
        ),
    )
    out["install_fee_billing_datum"] = refs["billing"].get(obj.id)
    out["member"] = {"id": obj.member_id}
    out["additional_members"] = refs["additional_members"].get(obj.id, [])
    out["building"] = {"id": obj.building_id}
    out["node"] = obj.node_id and refs["node"].get(obj.node_id)
    return out


def node(obj: m.Node, refs: Refs) -> dict[str, Any]:
    """A node with its buildings, installs, devices and observed state."""
    out = _columns(
        obj,
        (
            "network_number",
            "name",
            "status",
            "type",
            "placement",
            "latitude",
            "longitude",
            "altitude",
            "install_date",
            "abandon_date",
            "notes",
            "poller_group",
        ),
    )
    out["buildings"] = refs["buildings"].get(obj.id, [])
    out["installs"] = refs["installs"].get(obj.id, [])
    out["devices"] = refs["devices"].get(obj.id, [])
    out["observed"] = refs["observed"][obj.id]
    return out


def device(obj: m.Device, refs: Refs) -> dict[str, Any]:
    """A device; sectors and access points carry their own fields too."""
    out = _columns(
        obj,
        (
            "kind",
            "name",
            "status",
            "install_date",
            "abandon_date",
            "notes",
            "uisp_id",
            "poller_group",
        ),
    )
    out["management_address"] = (
        None if obj.management_address is None else str(obj.management_address)
    )
    out["node"] = refs["node"].get(obj.node_id)
    out["observed"] = refs["observed"][obj.id]
    out["links_from"] = refs["links_from"].get(obj.id, [])
    out["links_to"] = refs["links_to"].get(obj.id, [])
    if isinstance(obj, m.AccessPoint):
        out.update(latitude=obj.latitude, longitude=obj.longitude, altitude=obj.altitude)
    else:
        # MeshDB's DeviceSerializer reads a device's place through from its node.
        place = refs["place"][obj.node_id]
        out.update(zip(("latitude", "longitude", "altitude"), place, strict=True))
    if isinstance(obj, m.Sector):
        out.update(radius=obj.radius, azimuth=obj.azimuth, width=obj.width)
    return out


def link(obj: m.Link, refs: Refs) -> dict[str, Any]:
    """A link between two devices."""
    out = _columns(
        obj,
        ("status", "type", "install_date", "abandon_date", "description", "notes", "uisp_id"),
    )
    out["from_device"] = {"id": obj.from_device_id}
    out["to_device"] = {"id": obj.to_device_id}
    return out


def los(obj: m.LOS, refs: Refs) -> dict[str, Any]:
    """A line of sight between two buildings."""
    out = _columns(obj, ("source", "analysis_date", "notes"))
    out["from_building"] = {"id": obj.from_building_id}
    out["to_building"] = {"id": obj.to_building_id}
    return out


def billing_datum(obj: m.InstallFeeBillingDatum, refs: Refs) -> dict[str, Any]:
    """Install fee billing data, its install as a reference."""
    out = _columns(obj, ("status", "billing_date", "invoice_number", "notes"))
    out["install"] = refs["install"].get(obj.install_id)
    return out


def _install_billing(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    """Each install's billing datum as MeshDB nests it (id, status, date, invoice, notes)."""
    table = m.InstallFeeBillingDatum
    stmt = select(
        table.install_id,
        table.id,
        table.status,
        table.billing_date,
        table.invoice_number,
        table.notes,
    ).where(table.install_id.in_(_ids(objs)))
    names = ("id", "status", "billing_date", "invoice_number", "notes")
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in session.execute(stmt)}


def _billing_installs(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    stmt = select(m.Install.id, m.Install.install_number).where(
        m.Install.id.in_(_ids(objs, "install_id"))
    )
    return {install_id: _install_ref(install_id, n) for install_id, n in session.execute(stmt)}


def prefix(obj: m.Prefix, refs: Refs | None = None) -> dict[str, Any]:
    """A static prefix."""
    out = _columns(obj, ("role", "description", "status", "allocate_prefixlen"))
    out["cidr"] = str(obj.cidr)
    return out


def ip_allocation(obj: m.IpAllocation, refs: Refs | None = None) -> dict[str, Any]:
    """An address or sub-prefix taken from a prefix."""
    out = _columns(obj, ("description",))
    out["address"] = str(obj.address)
    out["prefix"] = {"id": obj.prefix_id}
    out["device"] = None if obj.device_id is None else {"id": obj.device_id}
    out["link"] = None if obj.link_id is None else {"id": obj.link_id}
    return out


def _node_places(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
    """Each device's node's latitude, longitude and altitude, by node id."""
    stmt = select(m.Node.id, m.Node.latitude, m.Node.longitude, m.Node.altitude).where(
        m.Node.id.in_(_ids(objs, "node_id"))
    )
    return {node_id: place for node_id, *place in session.execute(stmt)}


def device_links(end: Any) -> Fetch:
    """The links starting (or ending) at each device: MeshDB's links_from / links_to."""

    def fetch(session: Session, objs: Sequence[Any]) -> dict[uuid.UUID, Any]:
        stmt = select(end, m.Link.id).where(end.in_(_ids(objs))).order_by(m.Link.id)
        return _many(session, stmt, _id_ref)

    return fetch


_device_refs: dict[str, Fetch] = {
    "node": nodes_by_id("node_id"),
    "observed": observations("device"),
    "place": _node_places,
    "links_from": device_links(m.Link.from_device_id),
    "links_to": device_links(m.Link.to_device_id),
}

# What each shape reads besides the record's own row, one query per entry for a whole page.
REFS: dict[str, dict[str, Fetch]] = {
    "members": {"installs": installs_of(m.Install.member_id)},
    "buildings": {
        "primary_node": nodes_by_id("primary_node_id"),
        "nodes": _building_nodes,
        "installs": installs_of(m.Install.building_id),
    },
    "installs": {
        "node": nodes_by_id("node_id"),
        "additional_members": _additional_members,
        "billing": _install_billing,
    },
    "billing/install-fee-data": {"install": _billing_installs},
    "nodes": {
        "buildings": _node_buildings,
        "installs": installs_of(m.Install.node_id),
        "devices": _node_devices,
        "observed": observations("node"),
    },
    "devices": _device_refs,
    "sectors": _device_refs,
    "accesspoints": _device_refs,
    "links": {},
    "loses": {},
    "prefixes": {},
    "ip-allocations": {},
}

SHAPES: dict[str, Callable[[Any, Refs], dict[str, Any]]] = {
    "members": member,
    "buildings": building,
    "installs": install,
    "billing/install-fee-data": billing_datum,
    "nodes": node,
    "devices": device,
    "sectors": device,
    "accesspoints": device,
    "links": link,
    "loses": los,
    "prefixes": prefix,
    "ip-allocations": ip_allocation,
}


def render(session: Session, resource: str, objs: Sequence[Any]) -> list[dict[str, Any]]:
    """Records of one resource as the API shows them, references read in batches."""
    if not objs:
        return []
    refs = {name: fetch(session, objs) for name, fetch in REFS[resource].items()}
    shape = SHAPES[resource]
    return [shape(obj, refs) for obj in objs]
