"""Frozen values of one OSPF link-state database, whatever source it was read from.

The shapes follow the LSAs of RFC 2328 section 12.4: a router-LSA lists the router's
point-to-point links to other routers, its links to transit networks and its stub networks;
a network-LSA lists the routers attached to a transit network; AS-external-LSAs carry the
prefixes a router redistributes (type 1 or type 2 metric, forwarding address, tag).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from socket import inet_aton


class ParseError(ValueError):
    """A dump that does not read as a link-state database (the line or key says where)."""


@dataclass(frozen=True, slots=True)
class RouterLink:
    """A point-to-point link to another router (RFC 2328 link type 1), with this side's cost."""

    neighbor: IPv4Address
    cost: int


@dataclass(frozen=True, slots=True)
class NetworkLink:
    """A link to a transit network (link type 2), named by its prefix, with this side's cost."""

    network: IPv4Network
    cost: int


@dataclass(frozen=True, slots=True)
class Stubnet:
    """A stub network (link type 3): a prefix on the router itself (its /32s, its LANs)."""

    prefix: IPv4Network
    cost: int


@dataclass(frozen=True, slots=True)
class External:
    """An AS-external route (RFC 2328 A.4.5): type 2 when `type2` (BIRD's `metric2`)."""

    prefix: IPv4Network
    metric: int
    type2: bool = False
    via: IPv4Address | None = None  # the forwarding address, when not the router itself
    tag: int | None = None


@dataclass(frozen=True, slots=True)
class Router:
    """One router-LSA with the externals its router originates.

    `reachable` is None when the source does not say (NYC Mesh's JSON API); BIRD says
    `unreachable` for a router still in the database but with no path to it.
    """

    router_id: IPv4Address
    area: str | None
    reachable: bool | None
    distance: int | None = None
    routers: tuple[RouterLink, ...] = ()
    networks: tuple[NetworkLink, ...] = ()
    stubnets: tuple[Stubnet, ...] = ()
    externals: tuple[External, ...] = ()


@dataclass(frozen=True, slots=True)
class TransitNetwork:
    """One network-LSA: a shared segment, its designated router and the routers on it."""

    prefix: IPv4Network
    area: str | None
    dr: IPv4Address | None
    routers: tuple[IPv4Address, ...] = ()
    distance: int | None = None


@dataclass(frozen=True, slots=True)
class LinkStateDb:
    """A whole database as one source reported it."""

    source: str
    routers: tuple[Router, ...] = ()
    networks: tuple[TransitNetwork, ...] = ()
    # False when the source carries no reachability: every router in it is then visible.
    has_reachability: bool = True


# ipaddress parses a dotted quad octet by octet in Python (~20 us); a database of 600 routers
# names the same few thousand addresses over and over, so parse each text once, via the C
# inet_aton, and remember it.
_ADDRESSES: dict[str, IPv4Address] = {}
_PREFIXES: dict[str, IPv4Network] = {}


def ipv4(text: str) -> IPv4Address:
    """A dotted-quad IPv4 address (a router id or forwarding address); ParseError otherwise."""
    found = _ADDRESSES.get(text)
    if found is None:
        if text.count(".") != 3:
            raise ParseError(f"{text!r} is not a dotted-quad address")
        try:
            found = IPv4Address(int.from_bytes(inet_aton(text), "big"))
        except OSError as exc:
            raise ParseError(f"{text!r} is not a dotted-quad address") from exc
        if len(_ADDRESSES) < 100_000:
            _ADDRESSES[text] = found
    return found


def ipv4_prefix(text: str) -> IPv4Network:
    """`a.b.c.d/len` as a network (host bits cleared, as OSPF masks them); ParseError otherwise."""
    found = _PREFIXES.get(text)
    if found is None:
        address, slash, length = text.partition("/")
        if not slash or not length.isdigit() or int(length) > 32:
            raise ParseError(f"{text!r} is not an IPv4 prefix")
        found = IPv4Network((int(ipv4(address)), int(length)), strict=False)
        if len(_PREFIXES) < 100_000:
            _PREFIXES[text] = found
    return found


def reachable_from(
    root: IPv4Address, routers: Iterable[Router], networks: Iterable[TransitNetwork]
) -> set[IPv4Address]:
    """Router ids SPF can reach from `root` over links both ends list (RFC 2328 16.1, step 2b)."""
    routers = list(routers)
    lists: dict[IPv4Address, set[IPv4Address]] = {}
    on_network: dict[IPv4Network, set[IPv4Address]] = {}
    for net in networks:
        on_network.setdefault(net.prefix, set()).update(net.routers)
    attached: dict[IPv4Address, set[IPv4Network]] = {}
    for router in routers:
        lists.setdefault(router.router_id, set()).update(link.neighbor for link in router.routers)
        attached.setdefault(router.router_id, set()).update(n.network for n in router.networks)
    seen = {root} if root in lists else set()
    todo = list(seen)
    while todo:
        here = todo.pop()
        nexts = {n for n in lists.get(here, ()) if here in lists.get(n, ())}
        for prefix in attached.get(here, ()):
            members = on_network.get(prefix, set())
            if here in members:
                nexts |= {n for n in members if prefix in attached.get(n, ())}
        for n in nexts - seen:
            seen.add(n)
            todo.append(n)
    return seen
