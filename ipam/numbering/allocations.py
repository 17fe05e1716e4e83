"""Static prefixes against the database: allocation under a lock, and who holds an address."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import cast, func, select, text
from sqlalchemy.dialects.postgresql import CIDR
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.errors import Invalid, NotFound
from ipam.numbering.prefixes import first_free_address, first_free_subnet, load_static_prefixes
from ipam.records import edits
from ipam.records.changes import KINDS

# Held until commit, like the NN lock: two allocations can never pick the same free space.
PREFIX_LOCK = 0x6D6B_0003


def seed_rows() -> list[dict[str, Any]]:
    """The packaged static prefixes as rows for the prefix table (migration 0002 inserts them)."""
    return [
        {
            "id": uuid.uuid4(),
            "cidr": str(p.cidr),
            "role": p.role,
            "description": p.description[:500],
            "status": p.status,
            "allocate_prefixlen": p.allocate,
        }
        for p in load_static_prefixes()
    ]


def allocate(
    session: Session,
    prefix_id: uuid.UUID,
    actor: str,
    *,
    device: uuid.UUID | None = None,
    link: uuid.UUID | None = None,
    prefixlen: int | None = None,
    description: str | None = None,
) -> m.IpAllocation:
    """Take a prefix's first free space: a /31 for a link, else the pool's size or one address."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PREFIX_LOCK})
    prefix = session.get(m.Prefix, prefix_id)
    if prefix is None:
        raise NotFound(f"no prefix with id {prefix_id}", field="id")
    network = ipaddress.ip_network(prefix.cidr)
    if prefixlen is None:
        default = 31 if link is not None else network.max_prefixlen
        prefixlen = prefix.allocate_prefixlen or default
    if not network.prefixlen <= prefixlen <= network.max_prefixlen:
        raise Invalid(
            f"prefix_length: /{prefixlen} does not fit inside {network}", field="prefix_length"
        )
    taken = [
        ipaddress.ip_network(row)
        for row in session.scalars(
            select(m.IpAllocation.address).where(
                m.IpAllocation.address.op("<<=")(cast(str(network), CIDR))
            )
        )
    ]
    # Nested pools count as used space of the prefix they sit in.
    taken += [
        ipaddress.ip_network(row)
        for row in session.scalars(
            select(m.Prefix.cidr).where(m.Prefix.cidr.op("<<")(cast(str(network), CIDR)))
        )
    ]
    if prefixlen == network.max_prefixlen:
        chosen: Any = ipaddress.ip_network(first_free_address(network, taken))
    else:
        chosen = first_free_subnet(network, taken, prefixlen)
    values = {
        "prefix": prefix.id,
        "address": chosen,
        "device": device,
        "link": link,
        "description": description,
    }
    return edits.create(session, KINDS["ip-allocations"], values, actor)


def holder_of(session: Session, ip: str) -> dict[str, Any] | None:
    """The most specific static prefix holding an address, and the allocation holding it."""
    address = cast(ip, CIDR)
    prefix = session.scalars(
        select(m.Prefix)
        .where(m.Prefix.cidr.op(">>=")(address))
        .order_by(func.masklen(m.Prefix.cidr).desc())
        .limit(1)
    ).first()
    if prefix is None:
        return None
    allocation = session.scalars(
        select(m.IpAllocation).where(m.IpAllocation.address.op(">>=")(address)).limit(1)
    ).first()
    return {"prefix": prefix, "allocation": allocation}
