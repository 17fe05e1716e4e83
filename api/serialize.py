"""Records as the API shows them, and the eager loads each shape needs (no hidden queries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from ipam import models as m
from ipam.health import observed_block


def _ref(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.id}


def node_ref(node: m.Node | None) -> dict[str, Any] | None:
    """A node as a reference: id and network number."""
    return None if node is None else {"id": node.id, "network_number": node.network_number}


def install_ref(install: m.Install) -> dict[str, Any]:
    """An install as a reference: id and install number."""
    return {"id": install.id, "install_number": install.install_number}


def _columns(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in ("id", "created", "updated", *names)}


def member(obj: m.Member) -> dict[str, Any]:
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
    out["installs"] = [install_ref(i) for i in obj.installs]
    return out


def building(obj: m.Building) -> dict[str, Any]:
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
    out["primary_node"] = node_ref(obj.primary_node)
    out["nodes"] = [node_ref(n) for n in obj.nodes]
    out["installs"] = [install_ref(i) for i in obj.installs]
    return out


def install(obj: m.Install) -> dict[str, Any]:
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
        ),
    )
    out["member"] = {"id": obj.member_id}
    out["additional_members"] = [_ref(x) for x in obj.additional_members]
    out["building"] = {"id": obj.building_id}
    out["node"] = node_ref(obj.node)
    return out


def node(obj: m.Node) -> dict[str, Any]:
    """A node with its buildings, installs and devices."""
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
        ),
    )
    out["buildings"] = [_ref(b) for b in obj.buildings]
    out["installs"] = [install_ref(i) for i in obj.installs]
    out["devices"] = [_ref(d) for d in obj.devices]
    out["observed"] = observed_block(obj.observation)
    return out


def device(obj: m.Device) -> dict[str, Any]:
    """A device; sectors and access points carry their own fields too."""
    out = _columns(
        obj,
        ("kind", "name", "status", "install_date", "abandon_date", "notes", "uisp_id"),
    )
    out["management_address"] = (
        None if obj.management_address is None else str(obj.management_address)
    )
    out["node"] = node_ref(obj.node)
    out["observed"] = observed_block(obj.observation)
    if isinstance(obj, m.Sector):
        out.update(radius=obj.radius, azimuth=obj.azimuth, width=obj.width)
    elif isinstance(obj, m.AccessPoint):
        out.update(latitude=obj.latitude, longitude=obj.longitude, altitude=obj.altitude)
    return out


def link(obj: m.Link) -> dict[str, Any]:
    """A link between two devices."""
    out = _columns(
        obj,
        ("status", "type", "install_date", "abandon_date", "description", "notes", "uisp_id"),
    )
    out["from_device"] = {"id": obj.from_device_id}
    out["to_device"] = {"id": obj.to_device_id}
    return out


def los(obj: m.LOS) -> dict[str, Any]:
    """A line of sight between two buildings."""
    out = _columns(obj, ("source", "analysis_date", "notes"))
    out["from_building"] = {"id": obj.from_building_id}
    out["to_building"] = {"id": obj.to_building_id}
    return out


def prefix(obj: m.Prefix) -> dict[str, Any]:
    """A static prefix."""
    out = _columns(obj, ("role", "description", "status", "allocate_prefixlen"))
    out["cidr"] = str(obj.cidr)
    return out


def ip_allocation(obj: m.IpAllocation) -> dict[str, Any]:
    """An address or sub-prefix taken from a prefix."""
    out = _columns(obj, ("description",))
    out["address"] = str(obj.address)
    out["prefix"] = {"id": obj.prefix_id}
    out["device"] = None if obj.device_id is None else {"id": obj.device_id}
    out["link"] = None if obj.link_id is None else {"id": obj.link_id}
    return out


_device_loads: list[LoaderOption] = [joinedload(m.Device.node), joinedload(m.Device.observation)]

# What each shape reads, loaded up front: relationships are lazy="raise".
LOADS: dict[str, list[LoaderOption]] = {
    "members": [selectinload(m.Member.installs)],
    "buildings": [
        joinedload(m.Building.primary_node),
        selectinload(m.Building.nodes),
        selectinload(m.Building.installs),
    ],
    "installs": [
        joinedload(m.Install.node),
        selectinload(m.Install.additional_members),
    ],
    "nodes": [
        selectinload(m.Node.buildings),
        selectinload(m.Node.installs),
        selectinload(m.Node.devices),
        joinedload(m.Node.observation),
    ],
    "devices": _device_loads,
    "sectors": [joinedload(m.Sector.node), joinedload(m.Sector.observation)],
    "accesspoints": [joinedload(m.AccessPoint.node), joinedload(m.AccessPoint.observation)],
    "links": [],
    "loses": [],
    "prefixes": [],
    "ip-allocations": [],
}

SHAPES = {
    "members": member,
    "buildings": building,
    "installs": install,
    "nodes": node,
    "devices": device,
    "sectors": device,
    "accesspoints": device,
    "links": link,
    "loses": los,
    "prefixes": prefix,
    "ip-allocations": ip_allocation,
}
