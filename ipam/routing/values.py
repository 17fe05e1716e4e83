"""The shapes the routing rules read (any link-state database that has them) and what they say.

ipam imports no collector: these Protocols name the attributes the rules need, and the
collector's frozen values (collectors/routing/model.py) have them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Literal, Protocol

MappedBy = Literal["router_id", "stubnet", "device"]


class RouterLinkLike(Protocol):
    """A point-to-point link to another router, with this side's cost."""

    @property
    def neighbor(self) -> IPv4Address: ...
    @property
    def cost(self) -> int: ...


class NetworkLinkLike(Protocol):
    """A link to a transit network, with this side's cost."""

    @property
    def network(self) -> IPv4Network: ...
    @property
    def cost(self) -> int: ...


class PrefixLike(Protocol):
    """A stubnet or an external: a prefix a router announces."""

    @property
    def prefix(self) -> IPv4Network: ...


class RouterLike(Protocol):
    """One router-LSA (with its externals)."""

    @property
    def router_id(self) -> IPv4Address: ...
    @property
    def reachable(self) -> bool | None: ...
    @property
    def routers(self) -> Sequence[RouterLinkLike]: ...
    @property
    def networks(self) -> Sequence[NetworkLinkLike]: ...
    @property
    def stubnets(self) -> Sequence[PrefixLike]: ...
    @property
    def externals(self) -> Sequence[PrefixLike]: ...


class TransitNetworkLike(Protocol):
    """One network-LSA."""

    @property
    def prefix(self) -> IPv4Network: ...
    @property
    def routers(self) -> Sequence[IPv4Address]: ...


class DatabaseLike(Protocol):
    """A whole link-state database."""

    @property
    def routers(self) -> Sequence[RouterLike]: ...
    @property
    def networks(self) -> Sequence[TransitNetworkLike]: ...


@dataclass(frozen=True, slots=True)
class MappedRouter:
    """A router as the rules see it: merged over sources and areas, mapped to a node or not."""

    router_id: IPv4Address
    network_number: int | None
    mapped_by: MappedBy | None
    visible: bool
    announces: tuple[IPv4Network, ...]  # stubnets and externals, in database order


@dataclass(frozen=True, slots=True)
class Adjacency:
    """An OSPF adjacency between two nodes (a < b), the best cost each way."""

    a: int
    b: int
    cost_ab: int
    cost_ba: int


@dataclass(frozen=True, slots=True)
class Hop:
    """One directed edge of the routing graph: router or transit network to the next, a cost."""

    source: str
    target: str
    cost: int


@dataclass(frozen=True, slots=True)
class RoutingView:
    """Everything one cycle's databases say, mapped to nodes."""

    routers: tuple[MappedRouter, ...]
    adjacencies: tuple[Adjacency, ...]
    hops: tuple[Hop, ...]

    @property
    def visible_nns(self) -> frozenset[int]:
        """Network numbers with at least one visible router."""
        return frozenset(
            r.network_number for r in self.routers if r.visible and r.network_number is not None
        )

    @property
    def unknown(self) -> tuple[IPv4Address, ...]:
        """Routers that map to no node (infrastructure, anycast): listed, never invented."""
        return tuple(r.router_id for r in self.routers if r.network_number is None)
