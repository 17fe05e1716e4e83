"""One search box over the records: members, installs, buildings, nodes, devices, an address.

Phone numbers match in any common format: both sides are compared as digits, the query first
reduced to its national number (`718-555-0142`, `(718) 555 0142` and `+1 718 555 0142` all find
a stored `+17185550142`). A member found by name, email or phone brings the installs they are on,
as the member or as an additional member (MeshDB's most asked-for search, nycmeshnet/meshdb #395).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.numbering import addressing, allocations
from ipam.records.phones import DEFAULT_REGION

LIMIT = 25
MIN_PHONE_DIGITS = 7  # fewer digits than a local number match too much to be a phone search


@dataclass
class Results:
    """What one query found, a list per kind."""

    query: str
    members: list[dict[str, Any]] = field(default_factory=list)
    installs: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    address: dict[str, Any] | None = None

    @property
    def empty(self) -> bool:
        """True when nothing matched."""
        lists = (self.members, self.installs, self.buildings, self.nodes, self.devices)
        return not any(lists) and self.address is None


def phone_digits(query: str) -> str | None:
    """The digits to look for when the query looks like a phone number, else None."""
    if re.search(r"[A-Za-z@]", query):
        return None
    try:
        number = phonenumbers.parse(query, DEFAULT_REGION)
        digits = str(number.national_number)
    except phonenumbers.NumberParseException:
        digits = re.sub(r"\D", "", query)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


# An extension after the number is not part of the number a phone search matches: ";ext=12"
# as ipam/records/phones.py keeps it, " ext. 12" as MeshDB's international format writes it,
# "x12" as people type it.
_EXTENSION = r"(;ext=|\s*(extension|ext\.?|x)\s*)\d*"


def digits_of(column: Any) -> Any:
    """SQL: a phone column's digits, its extension left out."""
    return func.regexp_replace(func.regexp_replace(column, _EXTENSION, "", "gi"), r"\D", "", "g")


def digits_of_each(array: Any) -> Any:
    """SQL: a phone array's digits, element by element between "|" ("|12125550123|1718|")."""
    joined = func.regexp_replace(func.array_to_string(array, "|"), _EXTENSION, "", "gi")
    return literal("|") + func.regexp_replace(joined, r"[^0-9|]", "", "g") + literal("|")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _any_like(array: Any, pattern: str) -> Any:
    """True when any element of a text array matches (case-insensitive).

    The elements joined with a newline: one string per row is far cheaper than unnesting
    every member's array, and no email or name holds a newline to match across.
    """
    return func.array_to_string(array, "\n").ilike(pattern)


def _any_digits(array: Any, digits: str) -> Any:
    """True when any element's digits end with `digits`."""
    return digits_of_each(array).like(f"%{digits}|%")


def _member_where(query: str) -> Any:
    pattern = _like(query)
    clauses = [
        m.Member.name.ilike(pattern),
        m.Member.primary_email_address.ilike(pattern),
        m.Member.stripe_email_address.ilike(pattern),
        _any_like(m.Member.additional_email_addresses, pattern),
    ]
    digits = phone_digits(query)
    if digits:
        clauses += [
            digits_of(m.Member.phone_number).endswith(digits),
            _any_digits(m.Member.additional_phone_numbers, digits),
        ]
    return or_(*clauses)


def _members(session: Session, query: str) -> list[m.Member]:
    stmt = select(m.Member).where(_member_where(query)).order_by(m.Member.name).limit(LIMIT)
    return list(session.scalars(stmt))


def _installs(session: Session, query: str, member_ids: list[Any]) -> list[dict[str, Any]]:
    extra = m.install_additional_member
    clauses: list[Any] = [m.Install.unit.ilike(_like(query))]
    if query.isdigit() and len(query) < 10:
        clauses.append(m.Install.install_number == int(query))
    if member_ids:
        clauses.append(m.Install.member_id.in_(member_ids))
        clauses.append(
            m.Install.id.in_(select(extra.c.install_id).where(extra.c.member_id.in_(member_ids)))
        )
    rows = session.execute(
        select(
            m.Install.id,
            m.Install.install_number,
            m.Install.status,
            m.Install.unit,
            m.Member.name,
            m.Building.street_address,
            m.Install.member_id,
        )
        .join(m.Member, m.Member.id == m.Install.member_id)
        .join(m.Building, m.Building.id == m.Install.building_id)
        .where(or_(*clauses))
        .order_by(m.Install.install_number.desc())
        .limit(LIMIT)
    )
    return [
        {
            "id": str(row[0]),
            "install_number": row[1],
            "status": row[2],
            "unit": row[3],
            "member": row[4],
            "address": row[5],
            # Found through a member who is on it only as an additional member.
            "additional": bool(member_ids) and row[6] not in member_ids,
        }
        for row in rows
    ]


def _buildings(session: Session, query: str) -> list[dict[str, Any]]:
    clauses: list[Any] = [m.Building.street_address.ilike(_like(query))]
    if query.isdigit() and len(query) < 10:
        clauses.append(m.Building.bin == int(query))
    stmt = select(m.Building).where(or_(*clauses)).order_by(m.Building.street_address).limit(LIMIT)
    return [
        {"id": str(b.id), "address": b.street_address, "city": b.city, "bin": b.bin}
        for b in session.scalars(stmt)
    ]


def _nodes(session: Session, query: str) -> list[dict[str, Any]]:
    clauses: list[Any] = [m.Node.name.ilike(_like(query))]
    if query.isdigit() and len(query) < 6:
        clauses.append(m.Node.network_number == int(query))
    stmt = (
        select(m.Node)
        .where(or_(*clauses))
        .order_by(m.Node.network_number.asc().nulls_last())
        .limit(LIMIT)
    )
    return [
        {"id": str(n.id), "network_number": n.network_number, "name": n.name, "status": n.status}
        for n in session.scalars(stmt)
    ]


def _devices(session: Session, query: str) -> list[dict[str, Any]]:
    table = m.Device.__table__
    pattern = _like(query)
    rows = session.execute(
        select(
            table.c.id,
            table.c.name,
            table.c.status,
            table.c.management_address,
            m.Node.network_number,
        )
        .join(m.Node, m.Node.id == table.c.node_id)
        .where(
            or_(
                table.c.name.ilike(pattern), cast(table.c.management_address, String).ilike(pattern)
            )
        )
        .order_by(table.c.name)
        .limit(LIMIT)
    )
    return [
        {
            "id": str(row[0]),
            "name": row[1],
            "status": row[2],
            "address": None if row[3] is None else str(row[3]),
            "network_number": row[4],
        }
        for row in rows
    ]


def _address(session: Session, query: str) -> dict[str, Any] | None:
    """Who owns an address: the addressing plan's NN and role, else a static prefix."""
    try:
        ip = ipaddress.ip_address(query)
    except ValueError:
        return None
    role = addressing.lookup(ip)
    if role is not None:
        return {"ip": str(ip), "network_number": role.network_number, "role": role.role}
    held = allocations.holder_of(session, str(ip))
    if held is None:
        return {"ip": str(ip), "network_number": None, "role": None}
    allocation = held["allocation"]
    return {
        "ip": str(ip),
        "network_number": None,
        "role": held["prefix"].role,
        "prefix": str(held["prefix"].cidr),
        "allocation": None if allocation is None else allocation.description,
    }


def search(session: Session, query: str) -> Results:
    """Everything the query finds, at most LIMIT of each kind."""
    query = query.strip()[:200]
    results = Results(query)
    if not query:
        return results
    results.address = _address(session, query)
    members = _members(session, query)
    results.members = [
        {
            "id": str(x.id),
            "name": x.name,
            "email": x.primary_email_address,
            "phone": x.phone_number,
        }
        for x in members
    ]
    results.installs = _installs(session, query, [x.id for x in members])
    results.buildings = _buildings(session, query)
    results.nodes = _nodes(session, query)
    results.devices = _devices(session, query)
    return results
