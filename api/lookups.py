"""MeshDB's lookup filters, one table per resource: text matches substrings, ids match exactly."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, cast, func, or_, select
from sqlalchemy.dialects.postgresql import CIDR

from ipam import models as m
from ipam.enums import (
    BillingStatus,
    DeviceStatus,
    InstallStatus,
    LinkStatus,
    LinkType,
    LOSSource,
    NodeStatus,
)
from ipam.errors import Invalid
from ipam.records.search import digits_of, digits_of_each

Parse = Callable[[str], Any]
Clause = Callable[[Any], ColumnElement[bool]]


@dataclass(frozen=True)
class Filter:
    """One query parameter: how to read it and which rows it keeps."""

    parse: Parse
    where: Clause


def _int(value: str) -> int:
    number = int(value)
    if not -(2**31) <= number < 2**31:
        raise ValueError("out of range for a number here")
    return number


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))


def _text(value: str) -> str:
    if len(value) > 300:
        raise ValueError("at most 300 characters")
    if "\x00" in value:
        raise ValueError("may not contain NUL characters")
    return value


# How each parser's values are described in the OpenAPI schema (string when not listed).
SCHEMAS: dict[Parse, dict[str, Any]] = {
    _int: {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
    _uuid: {"type": "string", "format": "uuid"},
    _ip: {"type": "string", "description": "an IP address"},
    _text: {"type": "string", "maxLength": 300},
    date.fromisoformat: {"type": "string", "format": "date"},
}


class NotAllowed(ValueError):
    """A value outside an enum; carries the values that are allowed."""

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(f"must be one of {', '.join(allowed)}")
        self.allowed = allowed


def _enum(kind: type[StrEnum]) -> Parse:
    def parse(value: str) -> str:
        for member in kind:
            if member.value.lower() == value.lower():
                return member.value
        raise NotAllowed([e.value for e in kind])

    SCHEMAS[parse] = {"type": "string", "enum": [e.value for e in kind]}
    return parse


def text_filter(column: Any) -> Filter:
    """Case-insensitive substring match (LIKE wildcards in the value are taken literally)."""
    return Filter(_text, lambda v: column.icontains(v, autoescape=True))


def exact(column: Any, parse: Parse) -> Filter:
    """Exact match on an id, number or enum."""
    return Filter(parse, lambda v: column == v)


def iexact(column: Any) -> Filter:
    """Case-insensitive equality (Django's `iexact`)."""
    # Both sides lowered by PostgreSQL: Python's and PostgreSQL's case rules differ.
    return Filter(_text, lambda v: func.lower(column) == func.lower(v))


def _array_text(column: Any) -> Any:
    return func.array_to_string(column, " ")


# What a person types as a phone number: digits and the marks written between them.
_PHONE_SPELLING = re.compile(r"[\d\s().+-]*\d[\d\s().+-]*")


def _phone(value: str) -> ColumnElement[bool]:
    """MeshDB's substring match on the phone fields (meshapi/views/lookups.py), by digits too.

    Numbers are stored E.164 (ipam/records/phones.py) while MeshDB stored "+1 212-555-0123":
    a value written as a phone number also matches by its digits, so every spelling MeshDB's
    clients search with ("212-555-0123", "(212) 555") still finds the member.
    """
    clauses = [
        m.Member.phone_number.icontains(value, autoescape=True),
        _array_text(m.Member.additional_phone_numbers).icontains(value, autoescape=True),
    ]
    if _PHONE_SPELLING.fullmatch(value):
        digits = re.sub(r"\D", "", value)
        clauses += [
            digits_of(m.Member.phone_number).contains(digits),
            digits_of_each(m.Member.additional_phone_numbers).contains(digits),
        ]
    return or_(*clauses)


def _node_ids_with_nn(nn: int) -> Any:
    return select(m.Node.id).where(m.Node.network_number == nn).scalar_subquery()


def _buildings_of_node(where: ColumnElement[bool]) -> Any:
    return (
        select(m.node_building.c.building_id)
        .join(m.Node, m.Node.id == m.node_building.c.node_id)
        .where(where)
    )


def _building_of_install(number: int) -> Any:
    return select(m.Install.building_id).where(m.Install.install_number == number)


def _devices_of_nodes(node_where: ColumnElement[bool]) -> Any:
    return select(m.Device.id).join(m.Node, m.Node.id == m.Device.node_id).where(node_where)


def _device_filters(model: Any) -> dict[str, Filter]:
    return {
        "node": exact(model.node_id, _uuid),
        "network_number": Filter(_int, lambda v: model.node_id == _node_ids_with_nn(v)),
        "name": text_filter(model.name),
        "status": exact(model.status, _enum(DeviceStatus)),
        "uisp_id": exact(model.uisp_id, _text),
    }


def _link_end(where: Callable[[Any], ColumnElement[bool]]) -> Callable[[Any], Any]:
    def clause(value: Any) -> ColumnElement[bool]:
        devices = where(value)
        return or_(m.Link.from_device_id.in_(devices), m.Link.to_device_id.in_(devices))

    return clause


def _los_end(buildings: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def clause(value: Any) -> ColumnElement[bool]:
        ids = buildings(value)
        return or_(m.LOS.from_building_id.in_(ids), m.LOS.to_building_id.in_(ids))

    return clause


FILTERS: dict[str, dict[str, Filter]] = {
    "installs": {
        "network_number": Filter(_int, lambda v: m.Install.node_id == _node_ids_with_nn(v)),
        "node": exact(m.Install.node_id, _uuid),
        "member": exact(m.Install.member_id, _uuid),
        "building": exact(m.Install.building_id, _uuid),
        "status": exact(m.Install.status, _enum(InstallStatus)),
    },
    "buildings": {
        "network_number": Filter(
            _int,
            lambda v: m.Building.id.in_(_buildings_of_node(m.Node.network_number == v)),
        ),
        "primary_network_number": Filter(
            _int, lambda v: m.Building.primary_node_id == _node_ids_with_nn(v)
        ),
        "node": Filter(
            _uuid,
            lambda v: m.Building.id.in_(
                select(m.node_building.c.building_id).where(m.node_building.c.node_id == v)
            ),
        ),
        "install_number": Filter(_int, lambda v: m.Building.id.in_(_building_of_install(v))),
        "primary_node": exact(m.Building.primary_node_id, _uuid),
        "street_address": text_filter(m.Building.street_address),
        # MeshDB's BuildingFilter: city and state iexact, bin and zip_code exact.
        "city": iexact(m.Building.city),
        "state": iexact(m.Building.state),
        "bin": exact(m.Building.bin, _int),
        "zip_code": exact(m.Building.zip_code, _text),
    },
    "nodes": {
        "install_number": Filter(
            _int,
            lambda v: m.Node.id.in_(select(m.Install.node_id).where(m.Install.install_number == v)),
        ),
        "name": text_filter(m.Node.name),
        "building": Filter(
            _uuid,
            lambda v: m.Node.id.in_(
                select(m.node_building.c.node_id).where(m.node_building.c.building_id == v)
            ),
        ),
        "status": exact(m.Node.status, _enum(NodeStatus)),
    },
    "members": {
        "name": text_filter(m.Member.name),
        "email": Filter(
            _text,
            lambda v: or_(
                m.Member.primary_email_address.icontains(v, autoescape=True),
                m.Member.stripe_email_address.icontains(v, autoescape=True),
                _array_text(m.Member.additional_email_addresses).icontains(v, autoescape=True),
            ),
        ),
        "phone": Filter(_text, _phone),
    },
    "links": {
        "network_number": Filter(
            _int, _link_end(lambda v: _devices_of_nodes(m.Node.network_number == v))
        ),
        "node": Filter(_uuid, _link_end(lambda v: _devices_of_nodes(m.Node.id == v))),
        "device": Filter(
            _uuid, lambda v: or_(m.Link.from_device_id == v, m.Link.to_device_id == v)
        ),
        "status": exact(m.Link.status, _enum(LinkStatus)),
        "type": exact(m.Link.type, _enum(LinkType)),
        "uisp_id": exact(m.Link.uisp_id, _text),
    },
    "loses": {
        "network_number": Filter(
            _int, _los_end(lambda v: _buildings_of_node(m.Node.network_number == v))
        ),
        "node": Filter(_uuid, _los_end(lambda v: _buildings_of_node(m.Node.id == v))),
        "install_number": Filter(_int, _los_end(_building_of_install)),
        "building": Filter(
            _uuid, lambda v: or_(m.LOS.from_building_id == v, m.LOS.to_building_id == v)
        ),
        "source": exact(m.LOS.source, _enum(LOSSource)),
        "analysis_date": exact(m.LOS.analysis_date, date.fromisoformat),
    },
    "devices": _device_filters(m.Device),
    "sectors": _device_filters(m.Sector),
    "accesspoints": _device_filters(m.AccessPoint),
    "billing/install-fee-data": {
        "install": exact(m.InstallFeeBillingDatum.install_id, _uuid),
        "status": exact(m.InstallFeeBillingDatum.status, _enum(BillingStatus)),
    },
    "prefixes": {
        "role": text_filter(m.Prefix.role),
        "status": text_filter(m.Prefix.status),
        "description": text_filter(m.Prefix.description),
        # The prefixes holding an address (GiST index on cidr, inet_ops).
        "contains": Filter(_ip, lambda v: m.Prefix.cidr.op(">>=")(cast(v, CIDR))),
    },
    "ip-allocations": {
        "prefix": exact(m.IpAllocation.prefix_id, _uuid),
        "device": exact(m.IpAllocation.device_id, _uuid),
        "link": exact(m.IpAllocation.link_id, _uuid),
        "contains": Filter(_ip, lambda v: m.IpAllocation.address.op(">>=")(cast(v, CIDR))),
    },
}

# MeshDB's names for the member filters (`meshapi/views/lookups.py`); `email` and `phone`
# stay as meshkeeper's first names for them.
FILTERS["members"]["email_address"] = FILTERS["members"]["email"]
FILTERS["members"]["phone_number"] = FILTERS["members"]["phone"]

PAGING = {"page", "page_size", "format"}
# The parsers, for other modules' filter tables (api/query.py).
as_int, as_uuid, as_text = _int, _uuid, _text


def openapi_parameters(resource: str) -> list[dict[str, Any]]:
    """A resource's filters as OpenAPI query parameters (the lookup reads them itself)."""
    return [
        {"name": name, "in": "query", "required": False, "schema": SCHEMAS.get(f.parse, {})}
        for name, f in sorted(FILTERS[resource].items())
    ]


def where_clauses(
    resource: str, params: dict[str, str], filters: dict[str, Filter] | None = None
) -> list[ColumnElement[bool]]:
    """Turn query parameters into WHERE clauses; the caller has checked the names are known."""
    filters = FILTERS[resource] if filters is None else filters
    clauses = []
    for name, raw in params.items():
        try:
            value = filters[name].parse(raw)
        except NotAllowed as exc:
            raise Invalid(f"{name}: {exc}", field=name, allowed=exc.allowed) from exc
        except ValueError as exc:
            raise Invalid(f"{name}: {exc}", field=name) from exc
        clauses.append(filters[name].where(value))
    return clauses
