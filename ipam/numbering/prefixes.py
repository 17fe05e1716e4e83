"""Pure prefix allocation: the first free address or aligned subnet of a prefix.

Allocations are addresses or networks (ipaddress objects or strings). Work is done on merged
integer intervals, so a /16 with thousands of allocations costs O(n log n), not a walk of
65,536 addresses. The packaged seed of static ranges is read by `load_static_prefixes`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from ipam.errors import Conflict, DomainError, Invalid

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
Allocation = Address | Network | str

STATIC_PREFIXES_FILE = "nycmesh-static-prefixes.json"


class PrefixError(DomainError):
    """Base of the prefix-allocation errors."""


class InvalidPrefix(PrefixError, Invalid, ValueError):
    """A prefix, allocation or requested size that cannot be used (invalid input)."""


class PrefixFull(PrefixError, Conflict):
    """No free address or subnet of the requested size is left in the prefix (a conflict)."""

    def __init__(self, prefix: Network, what: str) -> None:
        super().__init__(f"prefix {prefix} is full: no free {what} left", field="prefix")
        self.prefix = prefix


def _as_network(value: Allocation) -> Network:
    """An allocation as a network (an address is its host route, /32 or /128)."""
    if isinstance(value, IPv4Network | IPv6Network):
        return value
    if isinstance(value, IPv4Address | IPv6Address):
        return ip_network(value)
    if not isinstance(value, str):
        raise InvalidPrefix(
            f"allocation {value!r} is not an address or a network", field="allocations"
        )
    try:
        # Strict: "10.0.0.1/24" is a host with a mask, not a network; refuse the ambiguity.
        return ip_network(value) if "/" in value else ip_network(ip_address(value))
    except ValueError as exc:
        raise InvalidPrefix(
            f"allocation {value!r} is not an address or a network ({exc})", field="allocations"
        ) from exc


def _as_prefix(prefix: Network | str) -> Network:
    """`prefix` as a network object, or InvalidPrefix."""
    if isinstance(prefix, IPv4Network | IPv6Network):
        return prefix
    try:
        return ip_network(prefix)
    except (TypeError, ValueError) as exc:
        raise InvalidPrefix(f"prefix {prefix!r} is not a network ({exc})", field="prefix") from exc


def _span(item: Allocation) -> tuple[int, int, int, bool]:
    """(IP version, first, last, is a plain address) of one allocation."""
    network = _as_network(item)
    plain = isinstance(item, IPv4Address | IPv6Address) or (
        isinstance(item, str) and "/" not in item
    )
    return network.version, int(network.network_address), int(network.broadcast_address), plain


def _used_intervals(prefix: Network, allocations: Iterable[Allocation]) -> list[tuple[int, int]]:
    """Sorted, merged [first, last] integer ranges of `prefix` covered by allocations."""
    low, high = int(prefix.network_address), int(prefix.broadcast_address)
    spans: list[tuple[int, int]] = []
    for item in allocations:
        version, first, last, plain = _span(item)
        if version != prefix.version or last < low or first > high:
            continue
        # A network that contains the whole prefix is its container (e.g. the pool row itself
        # returned by `cidr <<= prefix`), not a use of its space; a plain address always counts.
        if not plain and first <= low and last >= high:
            continue
        spans.append((max(first, low), min(last, high)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def first_free_address(prefix: Network | str, allocations: Iterable[Allocation]) -> Address:
    """The lowest unallocated usable address of `prefix`, else PrefixFull."""
    net = _as_prefix(prefix)
    low, high = int(net.network_address), int(net.broadcast_address)
    # RFC 3021 (/31) and RFC 6164 (/127): both addresses of a point-to-point link are usable;
    # otherwise skip the network (subnet-router anycast in IPv6, RFC 4291 2.6.1) and the
    # IPv4 broadcast address.
    if net.prefixlen < net.max_prefixlen - 1:
        low += 1
        if net.version == 4:
            high -= 1
    candidate = low
    for first, last in _used_intervals(net, allocations):
        if candidate < first:
            break
        candidate = max(candidate, last + 1)
    if candidate > high:
        raise PrefixFull(net, "address")
    return type(net.network_address)(candidate)


def first_free_subnet(
    prefix: Network | str, allocations: Iterable[Allocation], new_prefix: int = 31
) -> Network:
    """The lowest aligned unallocated /new_prefix inside `prefix` (a /31 link by default)."""
    net = _as_prefix(prefix)
    if not net.prefixlen <= new_prefix <= net.max_prefixlen:
        raise InvalidPrefix(
            f"new_prefix /{new_prefix} must be between /{net.prefixlen} and /{net.max_prefixlen}",
            field="new_prefix",
        )
    size = 1 << (net.max_prefixlen - new_prefix)
    high = int(net.broadcast_address)
    candidate = int(net.network_address)
    for first, last in _used_intervals(net, allocations):
        if candidate + size - 1 < first:
            break
        if last >= candidate:
            # Round up to the next boundary of `size` after the used range (CIDR alignment).
            candidate = (last // size + 1) * size
    if candidate + size - 1 > high:
        raise PrefixFull(net, f"/{new_prefix}")
    return type(net)((candidate, new_prefix))


def overlaps(candidate: Allocation, allocations: Iterable[Allocation]) -> tuple[Allocation, ...]:
    """The allocations that share any address with `candidate` (empty, so falsy, when none)."""
    version, low, high, _ = _span(candidate)
    result = []
    for item in allocations:
        item_version, first, last, _ = _span(item)
        if item_version == version and first <= high and last >= low:
            result.append(item)
    return tuple(result)


@dataclass(frozen=True, slots=True)
class StaticPrefix:
    """One configured range: where it is, what it is for, and what size it hands out."""

    cidr: Network
    role: str
    description: str
    status: str
    allocate: int | None = None


def parse_static_prefixes(data: Mapping[str, Any]) -> tuple[StaticPrefix, ...]:
    """Read the static-prefixes document (see ipam/data/nycmesh-static-prefixes.json)."""
    entries = data.get("prefixes")
    if not isinstance(entries, list):
        raise InvalidPrefix("static prefixes: expected a 'prefixes' list")
    result = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InvalidPrefix(f"static prefixes[{index}]: expected an object")
        missing = [key for key in ("cidr", "role", "description", "status") if key not in entry]
        if missing:
            raise InvalidPrefix(f"static prefixes[{index}]: missing {missing}")
        try:
            cidr = ip_network(entry["cidr"])
        except (TypeError, ValueError) as exc:
            raise InvalidPrefix(f"static prefixes[{index}]: cidr ({exc})") from exc
        allocate = entry.get("allocate")
        if allocate is not None and (
            isinstance(allocate, bool)
            or not isinstance(allocate, int)
            or not cidr.prefixlen <= allocate <= cidr.max_prefixlen
        ):
            raise InvalidPrefix(f"static prefixes[{index}]: allocate {allocate!r} must fit {cidr}")
        result.append(
            StaticPrefix(
                cidr=cidr,
                role=str(entry["role"]),
                description=str(entry["description"]),
                status=str(entry["status"]),
                allocate=allocate,
            )
        )
    return tuple(result)


def load_static_prefixes(name: str = STATIC_PREFIXES_FILE) -> tuple[StaticPrefix, ...]:
    """Read a static-prefixes seed packaged in ipam/data."""
    text = resources.files("ipam").joinpath("data", name).read_text(encoding="utf-8")
    return parse_static_prefixes(json.loads(text))
