"""Plain values in and out of `ipam.topology.mesh`: frozen inputs, JSON answers, the lookup error.

Nodes are asked about by network number (NN). In answers a node is its NN, or, for a node that
has no NN yet, its stable key (`TopoNode.id`, a string): `NodeRef = int | str`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipam.errors import NotFound

NodeRef = int | str


@dataclass(frozen=True, slots=True)
class TopoNode:
    """A node as the topology sees it: identity, role, recorded and observed state, place."""

    id: str
    network_number: int | None
    name: str | None = None
    type: str = "Standard"  # ipam.enums.NodeType
    status: str = "Active"  # ipam.enums.NodeStatus
    observed_status: str | None = None  # ipam.enums.ObservedStatus; None = never polled
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class TopoLink:
    """A link between two nodes (device links already collapsed onto their nodes by the caller)."""

    id: str
    from_node: str
    to_node: str
    status: str = "Active"  # ipam.enums.LinkStatus
    type: str | None = None  # ipam.enums.LinkType, e.g. "5 GHz", "60 GHz", "VPN", "Fiber"
    observed_status: str | None = None


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What `build` left out of the graph and why."""

    links_in: int
    dangling: tuple[str, ...]  # link ids with an endpoint that is not a known node
    self_loops: tuple[str, ...]  # Active link ids whose two ends are the same node
    not_active: int  # links kept out because their status is not Active


@dataclass(frozen=True, slots=True)
class Summary:
    """Size of the graph and of the facts derived from it."""

    nodes: int
    edges: int
    links: int  # Active links on the edges (parallel links counted one by one)
    exits: int
    components: int
    islands: int
    nodes_by_type: dict[str, int]
    nodes_by_status: dict[str, int]
    links_by_type: dict[str, int]
    dangling_links: int
    self_loops: int
    not_active_links: int
    observed: bool  # True for the observed view


@dataclass(frozen=True, slots=True)
class Edge:
    """Two adjacent nodes and every Active link that joins them."""

    src: NodeRef
    dst: NodeRef
    links: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """A fewest-hops route: the node sequence and, per hop, the links it may use."""

    nodes: tuple[NodeRef, ...]
    hops: tuple[Edge, ...]
    hop_count: int


@dataclass(frozen=True, slots=True)
class Neighbor:
    """A node next to the one asked about, and the links between them."""

    node: NodeRef
    name: str | None
    type: str
    observed_status: str | None
    links: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NearestExit:
    """The exit fewest hops away (ties go to the lowest NN) and the route to it."""

    node: NodeRef
    exit: NodeRef
    hops: int
    route: Route


@dataclass(frozen=True, slots=True)
class Critical:
    """Single points of failure: articulation points (nodes) and bridges (edges)."""

    articulation_points: tuple[NodeRef, ...]
    bridges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class Impact:
    """Nodes that reach an exit now and would reach none if `node` failed."""

    node: NodeRef
    lost: tuple[NodeRef, ...]


@dataclass(frozen=True, slots=True)
class Island:
    """A connected component with no exit in it."""

    nodes: tuple[NodeRef, ...]
    size: int


class UnknownNode(NotFound, KeyError):
    """No node in the topology has this network number (HTTP 404 via `NotFound`)."""

    def __init__(self, nn: object) -> None:
        super().__init__(f"no node with network number {nn!r} in the topology", field="nn")
        self.nn = nn

    def __str__(self) -> str:
        # KeyError would print the message in quotes, as if it were the missing key.
        return self.message
