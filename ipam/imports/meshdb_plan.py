"""MeshDB's API records -> meshkeeper's rows, purely: the plan `meshdb_apply` writes.

The input is what MeshDB's list endpoints serve (src/meshapi/serializers/model_api.py): every
model field by its own name, and references as NestedKeyObjectRelatedField objects
(`{"id": ..., "network_number": ...}`), of which only the `id` is read. The output is one
dict of column values per record, keyed by its UUID (kept as MeshDB gave it), plus the
many-to-many pairs, plus the problems: rows whose values meshkeeper cannot hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ipam.enums import (
    DeviceKind,
    DeviceStatus,
    InstallStatus,
    LinkStatus,
    LinkType,
    LOSSource,
    NodePlacement,
    NodeStatus,
    NodeType,
)
from ipam.imports.nycmesh_feed import Problem

# MeshDB list endpoints (src/meshapi/urls.py) in the order their rows can be written: every
# reference points at a resource earlier in the list. Each maps to meshkeeper's resource.
RESOURCES: tuple[str, ...] = (
    "members",
    "nodes",
    "buildings",
    "installs",
    "devices",
    "sectors",
    "accesspoints",
    "links",
    "loses",
    "billing/install-fee-data",
)

# Which resource a reference column points at (a device reference may be any device kind).
REFERENCES: dict[str, dict[str, str]] = {
    "buildings": {"primary_node_id": "nodes"},
    "installs": {"member_id": "members", "building_id": "buildings", "node_id": "nodes"},
    "devices": {"node_id": "nodes"},
    "sectors": {"node_id": "nodes"},
    "accesspoints": {"node_id": "nodes"},
    "links": {"from_device_id": "devices", "to_device_id": "devices"},
    "loses": {"from_building_id": "buildings", "to_building_id": "buildings"},
    "billing/install-fee-data": {"install_id": "installs"},
}

# Columns whose values must be one of an enum's (MeshDB's TextChoices are the same words).
CHOICES: dict[str, dict[str, type[StrEnum]]] = {
    "nodes": {"status": NodeStatus, "type": NodeType},
    "installs": {"status": InstallStatus},
    "devices": {"status": DeviceStatus},
    "sectors": {"status": DeviceStatus},
    "accesspoints": {"status": DeviceStatus},
    "links": {"status": LinkStatus, "type": LinkType},
    "loses": {"source": LOSSource},
}


def _id(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def _ref(value: Any) -> uuid.UUID | None:
    """A NestedKeyObjectRelatedField value ({"id": ...}) or a bare id, as a UUID."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return _id(value["id"])
    return _id(value)


def _date(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    # DRF writes UTC as "Z", which datetime.fromisoformat reads only from Python 3.11 on.
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _list(value: Any) -> list[Any]:
    return list(value or [])


def _truth_sources(value: Any) -> list[str]:
    # MeshDB stores str(AddressTruthSource.X) ("AddressTruthSource.NYCPlanningLabs", see
    # models/building.py); meshkeeper keeps the plain name.
    return [str(s).removeprefix("AddressTruthSource.") for s in _list(value)]


def placement(value: Any) -> str:
    """MeshDB's placement ("rooftop", "None") as this release's NodePlacement value."""
    if value is None or str(value).lower() in ("", "none", "unknown"):
        return NodePlacement.UNKNOWN.value
    for choice in NodePlacement:
        if choice.value.lower() == str(value).lower():
            return choice.value
    raise ValueError(f"placement {value!r} is not one of MeshDB's")


def _same(value: Any) -> Any:
    return value


Field = tuple[str, str, Callable[[Any], Any]]  # column, MeshDB field, converter

_DEVICE: tuple[Field, ...] = (
    ("node_id", "node", _ref),
    ("name", "name", _same),
    ("status", "status", _same),
    ("install_date", "install_date", _date),
    ("abandon_date", "abandon_date", _date),
    ("notes", "notes", _same),
    ("uisp_id", "uisp_id", _same),
)
_POSITION: tuple[Field, ...] = (
    ("latitude", "latitude", float),
    ("longitude", "longitude", float),
    ("altitude", "altitude", _same),
)

# Field by field from MeshDB's models (src/meshapi/models/*.py) to meshkeeper's columns.
FIELDS: dict[str, tuple[Field, ...]] = {
    "members": (
        ("name", "name", _same),
        ("primary_email_address", "primary_email_address", _same),
        ("stripe_email_address", "stripe_email_address", _same),
        ("additional_email_addresses", "additional_email_addresses", _list),
        ("phone_number", "phone_number", _same),
        ("additional_phone_numbers", "additional_phone_numbers", _list),
        ("slack_handle", "slack_handle", _same),
        ("notes", "notes", _same),
        ("payment_preference", "payment_preference", _same),
    ),
    "nodes": (
        ("network_number", "network_number", _same),
        ("name", "name", _same),
        ("status", "status", _same),
        ("type", "type", _same),
        ("placement", "placement", placement),
        ("latitude", "latitude", _same),
        ("longitude", "longitude", _same),
        ("altitude", "altitude", _same),
        ("install_date", "install_date", _date),
        ("abandon_date", "abandon_date", _date),
        ("notes", "notes", _same),
    ),
    "buildings": (
        ("bin", "bin", _same),
        ("street_address", "street_address", _same),
        ("city", "city", _same),
        ("state", "state", _same),
        ("zip_code", "zip_code", _same),
        ("address_truth_sources", "address_truth_sources", _truth_sources),
        *_POSITION,
        ("notes", "notes", _same),
        ("panoramas", "panoramas", _list),
        ("primary_node_id", "primary_node", _ref),
    ),
    "installs": (
        ("install_number", "install_number", int),
        ("status", "status", _same),
        ("member_id", "member", _ref),
        ("building_id", "building", _ref),
        ("node_id", "node", _ref),
        ("unit", "unit", _same),
        ("roof_access", "roof_access", bool),
        ("request_date", "request_date", _datetime),
        ("install_date", "install_date", _date),
        ("abandon_date", "abandon_date", _date),
        ("diy", "diy", _same),
        ("referral", "referral", _same),
        ("notes", "notes", _same),
        ("ticket_number", "ticket_number", _same),
        ("stripe_subscription_id", "stripe_subscription_id", _same),
    ),
    "devices": _DEVICE,
    "sectors": (
        *_DEVICE,
        ("radius", "radius", float),
        ("azimuth", "azimuth", int),
        ("width", "width", int),
    ),
    "accesspoints": (*_DEVICE, *_POSITION),
    "links": (
        ("from_device_id", "from_device", _ref),
        ("to_device_id", "to_device", _ref),
        ("status", "status", _same),
        ("type", "type", _same),
        ("install_date", "install_date", _date),
        ("abandon_date", "abandon_date", _date),
        ("description", "description", _same),
        ("notes", "notes", _same),
        ("uisp_id", "uisp_id", _same),
    ),
    "loses": (
        ("from_building_id", "from_building", _ref),
        ("to_building_id", "to_building", _ref),
        ("source", "source", _same),
        ("analysis_date", "analysis_date", _date),
        ("notes", "notes", _same),
    ),
    "billing/install-fee-data": (
        ("install_id", "install", _ref),
        ("status", "status", _same),
        ("billing_date", "billing_date", _date),
        ("invoice_number", "invoice_number", _same),
        ("notes", "notes", _same),
    ),
}

_KIND = {
    "devices": DeviceKind.DEVICE,
    "sectors": DeviceKind.SECTOR,
    "accesspoints": DeviceKind.ACCESS_POINT,
}


@dataclass
class MeshdbPlan:
    """Rows per resource by id, many-to-many pairs, and what could not be read."""

    rows: dict[str, dict[uuid.UUID, dict[str, Any]]] = field(default_factory=dict)
    # building id -> node ids (Building.nodes) and install id -> member ids.
    building_nodes: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    additional_members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def count(self) -> int:
        """Records planned, all kinds together."""
        return sum(len(rows) for rows in self.rows.values())


def _check(resource: str, row: Mapping[str, Any]) -> str | None:
    """Why meshkeeper's schema cannot hold this row, or None (models.py's checks)."""
    for column, choices in CHOICES.get(resource, {}).items():
        value = row.get(column)
        if value is not None and value not in {c.value for c in choices}:
            return f"{column} {value!r} is not one of {', '.join(c.value for c in choices)}"
    lat, lon = row.get("latitude"), row.get("longitude")
    if lat is not None and not -90 <= lat <= 90 or lon is not None and not -180 <= lon <= 180:
        return f"coordinates ({lat}, {lon}) are impossible"
    nn = row.get("network_number")
    if nn is not None and not 1 <= nn <= 8000:
        return f"network number {nn} is outside 1..8000"
    for angle in ("azimuth", "width"):
        if angle in row and not 0 <= row[angle] <= 360:
            return f"{angle} {row[angle]} is outside 0..360"
    if row.get("radius", 0) < 0:
        return f"radius {row['radius']} is negative"
    ends = [v for k, v in row.items() if k.startswith(("from_", "to_"))]
    if len(ends) == 2 and ends[0] == ends[1]:
        return "both ends are the same record"
    return None


def _convert(resource: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": _id(raw["id"])}
    for column, name, convert in FIELDS[resource]:
        if name in raw:
            row[column] = convert(raw[name])
    if resource in _KIND:
        row["kind"] = _KIND[resource].value
    return row


def plan_meshdb(records: Mapping[str, Iterable[Mapping[str, Any]]]) -> MeshdbPlan:
    """Convert every fetched record; unreadable or impossible rows become problems."""
    plan = MeshdbPlan()
    # MeshDB's device list holds sectors and access points too (multi-table inheritance):
    # they are taken from their own lists, with their own fields.
    subclassed = {
        str(raw.get("id")) for name in ("sectors", "accesspoints") for raw in records.get(name, ())
    }
    for resource in RESOURCES:
        rows: dict[uuid.UUID, dict[str, Any]] = {}
        for raw in records.get(resource, ()):
            if resource == "devices" and str(raw.get("id")) in subclassed:
                continue
            subject = f"{resource} {raw.get('id')}"
            try:
                row = _convert(resource, raw)
            except (KeyError, TypeError, ValueError) as exc:
                plan.problems.append(Problem("unreadable record", subject, str(exc)))
                continue
            why = _check(resource, row)
            if why is not None:
                plan.problems.append(Problem("impossible value", subject, why))
                continue
            rows[row["id"]] = row
            if resource == "buildings":
                plan.building_nodes[row["id"]] = {r for r in map(_ref, raw.get("nodes") or ()) if r}
            elif resource == "installs":
                plan.additional_members[row["id"]] = {
                    r for r in map(_ref, raw.get("additional_members") or ()) if r
                }
        plan.rows[resource] = rows
    return plan
