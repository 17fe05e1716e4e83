"""Pure: nodes and links (plain values) -> an undirected networkx graph, and questions about it.

`build` joins nodes by their Active links: parallel links between two nodes stay one edge whose
`links` attribute holds them all; self-loops and links to unknown nodes are counted, not fatal.
A `Topology` answers by network number and computes what is costly once, on first use (one
multi-source BFS from the exits, one DFS for articulation points and bridges, the components),
so repeated questions are cheap; the graph is frozen once built, so one instance may serve many
threads. `ipam.topology.cache.TopologyCache` keeps the latest one per version.

Observed view: only nodes observed "up" carry traffic. "visible" does not count: it means a
neighbour or UISP still sees the radio, not that the router answers and forwards, and counting
it would report paths that may not exist. Pass `up_states` to `build` to decide otherwise.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import networkx as nx

from ipam.enums import LinkStatus, NodeType, ObservedStatus
from ipam.topology.algorithms import ExitTree, components, cut_points_and_bridges, exit_tree, reach
from ipam.topology.values import (
    BuildReport,
    Critical,
    Edge,
    Impact,
    Island,
    NearestExit,
    Neighbor,
    NodeRef,
    Route,
    Summary,
    TopoLink,
    TopoNode,
    UnknownNode,
)

__all__ = [
    "DEFAULT_EXIT_TYPES",
    "UP_STATES",
    "BuildReport",
    "Critical",
    "Edge",
    "Impact",
    "Island",
    "NearestExit",
    "Neighbor",
    "NodeRef",
    "Route",
    "Summary",
    "TopoLink",
    "TopoNode",
    "Topology",
    "UnknownNode",
    "build",
]

DEFAULT_EXIT_TYPES: frozenset[str] = frozenset({NodeType.POP, NodeType.SUPERNODE})
UP_STATES: frozenset[str] = frozenset({ObservedStatus.UP})

_T = TypeVar("_T")
_Rank = tuple[int, int, str]


def build(
    nodes: Iterable[TopoNode],
    links: Iterable[TopoLink],
    *,
    exit_types: frozenset[str] = DEFAULT_EXIT_TYPES,
    up_states: frozenset[str] = UP_STATES,
) -> Topology:
    """Build the topology: nodes joined by their Active links; exits are nodes of `exit_types`."""
    graph = nx.Graph()
    by_key: dict[str, TopoNode] = {}
    by_nn: dict[int, str] = {}
    for node in nodes:
        if node.id in by_key:
            raise ValueError(f"duplicate node id {node.id!r}")
        nn = node.network_number
        if nn is not None:
            if nn in by_nn:
                raise ValueError(f"network number {nn} on nodes {by_nn[nn]!r} and {node.id!r}")
            by_nn[nn] = node.id
        by_key[node.id] = node
        graph.add_node(
            node.id,
            nn=nn,
            name=node.name,
            type=node.type,
            status=node.status,
            observed=node.observed_status,
            latitude=node.latitude,
            longitude=node.longitude,
            exit=node.type in exit_types,
        )

    grouped: dict[tuple[str, str], list[TopoLink]] = {}
    dangling: list[str] = []
    self_loops: list[str] = []
    not_active = 0
    links_in = 0
    for link in links:
        links_in += 1
        a, b = link.from_node, link.to_node
        if a not in by_key or b not in by_key:
            dangling.append(link.id)
        elif link.status != LinkStatus.ACTIVE:
            not_active += 1
        elif a == b:
            self_loops.append(link.id)
        else:
            grouped.setdefault((a, b) if a < b else (b, a), []).append(link)
    for (a, b), group in grouped.items():
        group.sort(key=lambda link: link.id)
        ids = tuple(link.id for link in group)
        graph.add_edge(a, b, links=tuple(group), ids=ids, types=_types(group))

    exits = frozenset(key for key, node in by_key.items() if node.type in exit_types)
    report = BuildReport(links_in, tuple(dangling), tuple(self_loops), not_active)
    return Topology(nx.freeze(graph), by_key, by_nn, exits, report, up_states=up_states)


def _types(links: Iterable[TopoLink]) -> tuple[str, ...]:
    """The distinct link types of a group of links, sorted; untyped links add nothing."""
    return tuple(sorted({link.type for link in links if link.type}))


class Topology:
    """A built graph and the questions asked of it; every answer is a plain JSON-ready value."""

    def __init__(
        self,
        graph: nx.Graph,
        nodes: Mapping[str, TopoNode],
        by_nn: Mapping[int, str],
        exits: frozenset[str],
        report: BuildReport,
        *,
        up_states: frozenset[str] = UP_STATES,
        observed: bool = False,
    ) -> None:
        self.graph = graph  # frozen: mutating it would silently stale the caches below
        self.nodes = nodes
        self.exits = exits
        self.report = report
        self.up_states = up_states
        self.is_observed = observed
        self._by_nn = by_nn
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}
        # Sort keys made once: answers sort nodes often, and the NN lookup adds up.
        self._ranks: dict[str, _Rank] = {
            key: (1, 0, key) if node.network_number is None else (0, node.network_number, "")
            for key, node in nodes.items()
        }

    # -- addressing -------------------------------------------------------------------------

    def key(self, nn: int) -> str:
        """The node key for a network number; `UnknownNode` if no node has it."""
        key = self._by_nn.get(nn) if isinstance(nn, int) and not isinstance(nn, bool) else None
        if key is None:
            raise UnknownNode(nn)
        return key

    def ref(self, key: str) -> NodeRef:
        """How answers name a node: its NN, or its key when it has no NN."""
        nn = self.nodes[key].network_number
        return key if nn is None else nn

    def _rank(self, key: str) -> _Rank:
        """Sort order of nodes in answers: by NN, then NN-less nodes by key."""
        return self._ranks[key]

    def _refs(self, keys: Iterable[str]) -> tuple[NodeRef, ...]:
        """Node refs sorted the same way every time."""
        return tuple(self.ref(key) for key in sorted(keys, key=self._rank))

    def _edge(self, a: str, b: str) -> Edge:
        """The edge a-b as an answer, in the direction asked."""
        data = self.graph.get_edge_data(a, b)  # plain dict lookups: cheap enough per hop
        return Edge(self.ref(a), self.ref(b), data["ids"], data["types"])

    def _route(self, keys: list[str]) -> Route:
        """A node-key sequence as a route with the links of every hop."""
        hops = tuple(self._edge(a, b) for a, b in zip(keys, keys[1:], strict=False))
        return Route(tuple(self.ref(key) for key in keys), hops, len(hops))

    def _cached(self, name: str, compute: Callable[[], _T]) -> _T:
        """Compute a derived fact once per topology; threads asking together compute it once."""
        # The cache holds facts of several types by name; each name is always given one compute.
        try:
            return cast(_T, self._cache[name])
        except KeyError:
            pass
        with self._lock:
            if name not in self._cache:
                self._cache[name] = compute()
            return cast(_T, self._cache[name])

    # -- derived facts, computed lazily -----------------------------------------------------

    def _adjacency(self) -> dict[str, tuple[str, ...]]:
        """Plain-dict adjacency: BFS over it is several times faster than over nx views."""
        return self._cached("adj", lambda: {u: tuple(nbrs) for u, nbrs in self.graph.adjacency()})

    def _components(self) -> tuple[list[frozenset[str]], dict[str, int]]:
        """Connected components and, per node, the index of its component."""

        def compute() -> tuple[list[frozenset[str]], dict[str, int]]:
            comps = [frozenset(c) for c in components(self._adjacency())]
            comps.sort(key=lambda c: (-len(c), min(self._rank(k) for k in c)))
            return comps, {key: i for i, comp in enumerate(comps) for key in comp}

        return self._cached("components", compute)

    def _exit_tree(self) -> ExitTree:
        """One multi-source BFS from every exit: hops, next hop toward, and the exit reached."""

        def compute() -> ExitTree:
            return exit_tree(self._adjacency(), sorted(self.exits, key=self._rank))

        return self._cached("exit_tree", compute)

    def _cuts(self) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
        """Articulation points and bridges as node keys, in one pass."""
        return self._cached("cuts", lambda: cut_points_and_bridges(self._adjacency()))

    def _articulation(self) -> frozenset[str]:
        """Articulation points as node keys."""
        return self._cuts()[0]

    # -- views -------------------------------------------------------------------------------

    @property
    def observed(self) -> Topology:
        """The same nodes, keeping only edges whose two end nodes are observed up."""
        if self.is_observed:
            return self

        def compute() -> Topology:
            up = {key for key, node in self.nodes.items() if node.observed_status in self.up_states}
            graph = nx.Graph()
            graph.add_nodes_from(self.graph.nodes(data=True))
            graph.add_edges_from(
                (a, b, data) for a, b, data in self.graph.edges(data=True) if a in up and b in up
            )
            # A down exit is no way out, so the observed view only counts exits that are up.
            return Topology(
                nx.freeze(graph),
                self.nodes,
                self._by_nn,
                self.exits & up,
                self.report,
                up_states=self.up_states,
                observed=True,
            )

        return self._cached("observed", compute)

    def view(self, *, observed: bool = False) -> Topology:
        """This topology, or its observed view."""
        return self.observed if observed else self

    # -- questions ---------------------------------------------------------------------------

    def summary(self) -> Summary:
        """Counts of nodes, edges, links, exits, components and islands, and what was left out."""
        comps, _ = self._components()
        links_by_type: Counter[str] = Counter()
        links = 0
        for _, _, group in self.graph.edges(data="links"):
            links += len(group)
            links_by_type.update(link.type or "unknown" for link in group)
        return Summary(
            nodes=self.graph.number_of_nodes(),
            edges=self.graph.number_of_edges(),
            links=links,
            exits=len(self.exits),
            components=len(comps),
            islands=len(self.islands()),
            nodes_by_type=dict(sorted(Counter(n.type for n in self.nodes.values()).items())),
            nodes_by_status=dict(sorted(Counter(n.status for n in self.nodes.values()).items())),
            links_by_type=dict(sorted(links_by_type.items())),
            dangling_links=len(self.report.dangling),
            self_loops=len(self.report.self_loops),
            not_active_links=self.report.not_active,
            observed=self.is_observed,
        )

    def to_geojson(self) -> dict[str, Any]:
        """GeoJSON: nodes as Points, edges as LineStrings; nodes without coordinates left out."""

        def position(key: str) -> list[float] | None:
            node = self.nodes[key]
            if node.latitude is None or node.longitude is None:
                return None
            return [node.longitude, node.latitude]  # GeoJSON is lon, lat (RFC 7946 section 3.1.1)

        features: list[dict[str, Any]] = []
        for key in sorted(self.graph, key=self._rank):
            pos = position(key)
            if pos is None:
                continue
            node = self.nodes[key]
            props = {
                "nn": node.network_number,
                "id": key,
                "name": node.name,
                "type": node.type,
                "status": node.status,
                "observed_status": node.observed_status,
                "exit": key in self.exits,
            }
            geometry = {"type": "Point", "coordinates": pos}
            features.append(
                {"type": "Feature", "id": key, "geometry": geometry, "properties": props}
            )
        for a, b in sorted(self.graph.edges, key=lambda e: (self._rank(e[0]), self._rank(e[1]))):
            pa, pb = position(a), position(b)
            if pa is None or pb is None:
                continue
            edge = self._edge(a, b)
            props = {
                "from": edge.src,
                "to": edge.dst,
                "links": list(edge.links),
                "types": list(edge.types),
            }
            geometry = {"type": "LineString", "coordinates": [pa, pb]}
            features.append({"type": "Feature", "geometry": geometry, "properties": props})
        return {"type": "FeatureCollection", "features": features}

    def neighbors(self, nn: int) -> tuple[Neighbor, ...]:
        """The nodes one hop from `nn`, with the links to each."""
        key = self.key(nn)
        out = []
        for other in sorted(self.graph.adj[key], key=self._rank):
            node = self.nodes[other]
            edge = self._edge(key, other)
            out.append(
                Neighbor(
                    self.ref(other),
                    node.name,
                    node.type,
                    node.observed_status,
                    edge.links,
                    edge.types,
                )
            )
        return tuple(out)

    def path(self, from_nn: int, to_nn: int) -> Route | None:
        """A fewest-hops route between two nodes, or None when no path joins them."""
        a, b = self.key(from_nn), self.key(to_nn)
        _, index = self._components()
        if index[a] != index[b]:
            return None
        return self._route(nx.bidirectional_shortest_path(self.graph, a, b))

    def nearest_exit(self, nn: int) -> NearestExit | None:
        """The exit fewest hops from `nn` and the route to it; None when no exit is reachable."""
        key = self.key(nn)
        dist, parent, exit_of = self._exit_tree()
        if key not in dist:
            return None
        keys = [key]
        step = parent[key]
        while step is not None:
            keys.append(step)
            step = parent[step]
        return NearestExit(self.ref(key), self.ref(exit_of[key]), dist[key], self._route(keys))

    def critical(self) -> Critical:
        """Articulation points and bridges: one failure there splits the mesh."""

        def compute() -> Critical:
            rank = self._ranks
            pairs = [(a, b) if rank[a] < rank[b] else (b, a) for a, b in self._cuts()[1]]
            pairs.sort(key=lambda pair: (rank[pair[0]], rank[pair[1]]))
            bridges = tuple(self._edge(a, b) for a, b in pairs)
            return Critical(self._refs(self._articulation()), bridges)

        return self._cached("critical", compute)

    def impact(self, nn: int) -> Impact:
        """Nodes that reach an exit now and would reach none if node `nn` failed."""
        key = self.key(nn)
        if key not in self.exits and key not in self._articulation():
            # Removing a non-cut node leaves the rest of its component connected, exits included.
            return Impact(self.ref(key), ())
        comps, index = self._components()
        comp = comps[index[key]]
        exits_left = (comp & self.exits) - {key}
        if not exits_left:
            # Its component loses its only exit (or never had one): all who had one lose it.
            lost = comp - {key} if key in self.exits else frozenset()
            return Impact(self.ref(key), self._refs(lost))
        seen = reach(self._adjacency(), exits_left, blocked=key)
        return Impact(self.ref(key), self._refs(comp - seen - {key}))

    def islands(self) -> tuple[Island, ...]:
        """Connected components with no exit, largest first."""

        def compute() -> tuple[Island, ...]:
            comps, _ = self._components()
            return tuple(
                Island(self._refs(comp), len(comp)) for comp in comps if not comp & self.exits
            )

        return self._cached("islands", compute)
