"""Subnet states: every announced prefix against the plan and the allocation records.

nodewatcher's states (../shared/seeds/nodewatcher-schema.txt): `announced_ok` (announced by
the node it belongs to, or allocated to no node in particular), `not_announced` (a visible
node's own LAN /26 or allocated prefix that nobody announces), `not_allocated` (announced,
allocated to nobody), `subset` (a more specific of a prefix its owner may announce),
`hijacked` (announced by a router of another node than the owner, whether or not the owner
announces it too). A node's router and WDS /32s are its identity, not subnets, and the
default route belongs to no one: neither gets a state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from ipam.enums import SubnetStatus
from ipam.numbering.addressing import NYC, AddressingPlan, addresses_for, lookup
from ipam.routing.mapping import ROUTER_ROLES
from ipam.routing.values import MappedRouter

ANNOUNCED_OK, NOT_ANNOUNCED, NOT_ALLOCATED, SUBSET, HIJACKED = (
    SubnetStatus.ANNOUNCED_OK,
    SubnetStatus.NOT_ANNOUNCED,
    SubnetStatus.NOT_ALLOCATED,
    SubnetStatus.SUBSET,
    SubnetStatus.HIJACKED,
)
DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")
LAN_ROLES = frozenset({"lan", "gateway", "dhcp"})
# An allocation record with no device or link: allocated, to no node in particular.
NOBODY = -1


@dataclass(frozen=True, slots=True)
class SubnetState:
    """One prefix's state, its owner (an NN, or None) and who announces it."""

    prefix: IPv4Network
    status: SubnetStatus
    network_number: int | None
    announced_by: tuple[int, ...] = ()  # NNs of the announcing routers (unmapped ones left out)
    routers: tuple[IPv4Address, ...] = ()


def _identity(prefix: IPv4Network, plan: AddressingPlan) -> bool:
    if prefix == DEFAULT_ROUTE:
        return True
    if prefix.prefixlen != 32:
        return False
    role = lookup(prefix.network_address, plan)
    return role is not None and role.role in ROUTER_ROLES


def owner_of(
    prefix: IPv4Network, allocations: Mapping[IPv4Network, int], plan: AddressingPlan = NYC
) -> tuple[int | None, bool]:
    """(owner NN or NOBODY or None, whether the prefix is exactly the owned range)."""
    best: IPv4Network | None = None
    for allocated in allocations:
        if (prefix == allocated or prefix.subnet_of(allocated)) and (
            best is None or allocated.prefixlen > best.prefixlen
        ):
            best = allocated
    if best is not None:
        return allocations[best], best == prefix
    role = lookup(prefix.network_address, plan)
    if role is not None and role.role in LAN_ROLES and prefix.prefixlen >= plan.lan_prefixlen:
        return role.network_number, prefix.prefixlen == plan.lan_prefixlen
    return None, False


def subnet_states(
    routers: Iterable[MappedRouter],
    allocations: Mapping[IPv4Network, int],
    recorded_nns: Iterable[int],
    plan: AddressingPlan = NYC,
) -> tuple[SubnetState, ...]:
    """The state of every announced prefix, and of each visible node's unannounced ones."""
    announcers: dict[IPv4Network, list[MappedRouter]] = defaultdict(list)
    for router in routers:
        if not router.visible:
            continue  # a cut-off router's LSA is stale: it announces nothing that is routed
        for prefix in router.announces:
            if not _identity(prefix, plan):
                announcers[prefix].append(router)
    states: list[SubnetState] = []
    for prefix, by in announcers.items():
        owner, exact = owner_of(prefix, allocations, plan)
        nns = tuple(sorted({r.network_number for r in by if r.network_number is not None}))
        rids = tuple(sorted({r.router_id for r in by}))
        if owner is None:
            status = NOT_ALLOCATED
        elif owner != NOBODY and any(nn != owner for nn in nns):
            status = HIJACKED
        else:
            status = ANNOUNCED_OK if exact else SUBSET
        shown_owner = None if owner == NOBODY else owner
        states.append(SubnetState(prefix, status, shown_owner, nns, rids))
    visible = {r.network_number for r in routers if r.visible and r.network_number is not None}
    wanted: dict[IPv4Network, int] = {}
    for nn in sorted(visible & set(recorded_nns)):
        if plan.nn_min <= nn <= plan.nn_max:
            wanted[addresses_for(nn, plan).lan] = nn
    for prefix, nn in allocations.items():
        if nn in visible and prefix.prefixlen < 32:
            wanted[prefix] = nn
    # Announced prefixes widened to each wanted length: "is a part of it announced" in O(1).
    covered = {
        a.supernet(new_prefix=length)
        for length in {p.prefixlen for p in wanted}
        for a in announcers
        if a.prefixlen >= length
    }
    for prefix, nn in wanted.items():
        if prefix not in covered:
            states.append(SubnetState(prefix, NOT_ANNOUNCED, nn))
    return tuple(sorted(states, key=lambda s: (s.prefix.network_address, s.prefix.prefixlen)))


def conflicted(states: Iterable[SubnetState]) -> frozenset[int]:
    """NNs in a conflict: owners of hijacked prefixes and the nodes announcing them."""
    out: set[int] = set()
    for state in states:
        if state.status == HIJACKED:
            out.update(state.announced_by)
            if state.network_number is not None:
                out.add(state.network_number)
    return frozenset(out)
