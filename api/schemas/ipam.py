"""Request and response shapes for static prefixes and IP allocations."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Annotated

from pydantic import Field, field_validator

from api.schemas.common import IpNetwork, RecordIn, RecordOut, Ref, Ref_, partial

Description = Annotated[str, Field(max_length=500)]


class PrefixIn(RecordIn):
    """A static prefix as clients write it (host bits must be zero)."""

    cidr: IpNetwork
    role: Annotated[str, Field(min_length=1, max_length=50)]
    description: Description | None = None
    status: Annotated[str, Field(max_length=20)] = "Active"
    allocate_prefixlen: int | None = Field(default=None, ge=0, le=128)


class PrefixOut(RecordOut):
    """A static prefix as the API shows it."""

    cidr: str
    role: str
    description: str | None
    status: str
    allocate_prefixlen: int | None


class IpAllocationIn(RecordIn):
    """An address or sub-prefix taken from a prefix, for a device or a link."""

    prefix: Ref
    address: IpNetwork
    device: Ref | None = None
    link: Ref | None = None
    description: Description | None = None

    @field_validator("address", mode="before")
    @classmethod
    def _single_address(cls, value: object) -> object:
        # A bare address means that one address (/32 or /128).
        if isinstance(value, str) and "/" not in value:
            try:
                address = IPv4Address(value) if ":" not in value else IPv6Address(value)
            except ValueError:
                return value
            return f"{address}/{address.max_prefixlen}"
        return value


class IpAllocationOut(RecordOut):
    """An allocation as the API shows it."""

    prefix: Ref_
    address: str
    device: Ref_ | None
    link: Ref_ | None
    description: str | None


class AllocateIn(RecordIn):
    """What to allocate from a prefix: for a link (a /31) or a device, or a size of your own."""

    device: Ref | None = None
    link: Ref | None = None
    prefix_length: int | None = Field(default=None, ge=0, le=128)
    description: Description | None = None


PrefixPatch = partial(PrefixIn, "PrefixPatch")
IpAllocationPatch = partial(IpAllocationIn, "IpAllocationPatch")
