"""Routers -> nodes, visibility, adjacencies and the routing graph, from link-state databases.

A router maps to a node by its router id, then by its /32 stubnets, when that address is a
router (10.69.x.y) or WDS (10.68.x.y) address of the addressing plan, else by a recorded
device address; what maps to nothing (infrastructure in 10.70, anycast in 10.10) stays
unknown. A router is visible unless every source that lists it says it is unreachable (BIRD
keeps a cut-off router's LSA up to MaxAge, an hour, RFC 2328 section 14). Links count only
when both ends list them, as SPF's two-way check does (RFC 2328 section 16.1, step 2b).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import TypeVar

from ipam.numbering.addressing import NYC, AddressingPlan, lookup
from ipam.routing.values import (
    Adjacency,
    DatabaseLike,
    Hop,
    MappedBy,
    MappedRouter,
    RoutingView,
)

# The plan's roles that name a router of a node (the LAN, gateway and DHCP addresses do not).
ROUTER_ROLES = frozenset({"router", "wds"})
K = TypeVar("K")


@dataclass
class _Merged:
    """One router id over every source and area."""

    visible: bool = False
    links: dict[IPv4Address, int] = field(default_factory=dict)  # neighbour -> best cost
    networks: dict[IPv4Network, int] = field(default_factory=dict)
    stubnets: dict[IPv4Network, None] = field(default_factory=dict)  # ordered set
    announces: dict[IPv4Network, None] = field(default_factory=dict)


def _best(costs: dict[K, int], key: K, cost: int) -> None:
    """Keep the lower cost: parallel links between two routers route over the cheaper one."""
    old = costs.get(key)
    if old is None or cost < old:
        costs[key] = cost


def _merge(
    databases: Iterable[DatabaseLike],
) -> tuple[dict[IPv4Address, _Merged], dict[IPv4Network, set[IPv4Address]]]:
    routers: dict[IPv4Address, _Merged] = {}
    members: dict[IPv4Network, set[IPv4Address]] = defaultdict(set)
    for db in databases:
        for r in db.routers:
            merged = routers.setdefault(r.router_id, _Merged())
            merged.visible = merged.visible or r.reachable is not False
            for link in r.routers:
                _best(merged.links, link.neighbor, link.cost)
            for net in r.networks:
                _best(merged.networks, net.network, net.cost)
            for stub in r.stubnets:
                merged.stubnets[stub.prefix] = None
                merged.announces[stub.prefix] = None
            for ext in r.externals:
                merged.announces[ext.prefix] = None
        for network in db.networks:
            members[network.prefix].update(network.routers)
    return routers, members


def network_number_of(
    router_id: IPv4Address,
    stubnets: Iterable[IPv4Network],
    device_nns: Mapping[IPv4Address, int],
    plan: AddressingPlan = NYC,
) -> tuple[int | None, MappedBy | None]:
    """The NN a router belongs to and how that was found, or (None, None)."""
    role = lookup(router_id, plan)
    if role is not None and role.role in ROUTER_ROLES:
        return role.network_number, "router_id"
    hosts = [s.network_address for s in stubnets if s.prefixlen == 32]
    for address in hosts:
        role = lookup(address, plan)
        if role is not None and role.role in ROUTER_ROLES:
            return role.network_number, "stubnet"
    for address in (router_id, *hosts):
        if address in device_nns:
            return device_nns[address], "device"
    return None, None


def map_databases(
    databases: Iterable[DatabaseLike],
    device_nns: Mapping[IPv4Address, int] | None = None,
    plan: AddressingPlan = NYC,
) -> RoutingView:
    """Map every router to its node, and find the adjacencies and hops between visible ones."""
    device_nns = device_nns or {}
    merged, members = _merge(databases)
    mapped = tuple(
        MappedRouter(
            router_id=rid,
            network_number=nn,
            mapped_by=by,
            visible=m.visible,
            announces=tuple(m.announces),
        )
        for rid, m in merged.items()
        for nn, by in [network_number_of(rid, m.stubnets, device_nns, plan)]
    )
    nn_of = {r.router_id: r.network_number for r in mapped}
    visible = {rid for rid, m in merged.items() if m.visible}
    hops: list[Hop] = []
    # Node pair (a, b) -> best cost a -> b; both directions are kept under their own key.
    best: dict[tuple[int, int], int] = {}

    def adjacent(u: IPv4Address, v: IPv4Address, cost: int) -> None:
        nu, nv = nn_of.get(u), nn_of.get(v)
        if nu is not None and nv is not None and nu != nv:
            old = best.get((nu, nv))
            best[(nu, nv)] = cost if old is None else min(old, cost)

    for rid in visible:
        here = merged[rid]
        for neighbor, cost in here.links.items():
            there = merged.get(neighbor)
            if neighbor in visible and there is not None and rid in there.links:
                hops.append(Hop(f"r:{rid}", f"r:{neighbor}", cost))
                adjacent(rid, neighbor, cost)
        for prefix, cost in here.networks.items():
            if rid not in members.get(prefix, ()):
                continue
            hops.append(Hop(f"r:{rid}", f"n:{prefix}", cost))
            hops.append(Hop(f"n:{prefix}", f"r:{rid}", 0))  # network -> router costs 0
            for other in members[prefix]:
                if other != rid and other in visible and prefix in merged[other].networks:
                    adjacent(rid, other, cost)
    adjacencies = tuple(
        Adjacency(a, b, cost, best[(b, a)])
        for (a, b), cost in sorted(best.items())
        if a < b and (b, a) in best
    )
    return RoutingView(routers=mapped, adjacencies=adjacencies, hops=tuple(hops))
