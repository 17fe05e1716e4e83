"""Pure: the OSPF graph (routers and transit networks, each direction its own cost) and the
questions topology asks of it with `weight=ospf`: cheapest path, cheapest exit, what a failure
would cost.

Vertices are routers (`r:<router id>`) and transit networks (`n:<prefix>`), as SPF sees them
(RFC 2328 section 16.1): a router's link carries the cost it announces, a network's link back
to each router costs 0. A node is the set of its routers; a path from node A to node B is the
cheapest from any router of A to any router of B, and may cross unmapped routers and networks,
as packets do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

SOURCE, SINK = "src", "dst"


@dataclass(frozen=True, slots=True)
class OspfHop:
    """One step of a path: from a vertex to the next (an NN where a router maps to a node)."""

    src: int | str
    dst: int | str
    cost: int


@dataclass(frozen=True, slots=True)
class OspfRoute:
    """A cheapest path: the nodes and unmapped vertices it crosses, each hop, the total cost."""

    nodes: tuple[int | str, ...]
    hops: tuple[OspfHop, ...]
    hop_count: int
    cost: int


@dataclass(frozen=True, slots=True)
class OspfExit:
    """The cheapest exit of a node and the route to it."""

    network_number: int
    exit: int
    route: OspfRoute


@dataclass(frozen=True, slots=True)
class Lost:
    """What a simulated failure costs: nodes left with no exit, and those on a costlier path."""

    lost_all_exits: tuple[int, ...]
    lost_best_path: tuple[int, ...]


class OspfGraph:
    """A directed graph of routers and transit networks with OSPF costs, asked by NN."""

    def __init__(self, hops: Iterable[tuple[str, str, int]], router_nns: Mapping[str, int]):
        graph = nx.DiGraph()
        for source, target, cost in hops:
            graph.add_edge(source, target, weight=cost)
        self.graph = graph
        self.nn_of = {f"r:{rid}": nn for rid, nn in router_nns.items()}
        self.routers_of: dict[int, list[str]] = {}
        for vertex, nn in sorted(self.nn_of.items()):
            if vertex in graph:
                self.routers_of.setdefault(nn, []).append(vertex)

    def _label(self, vertex: str) -> int | str:
        nn = self.nn_of.get(vertex)
        return nn if nn is not None else vertex[2:]

    def _route(self, vertices: list[str], graph: Any) -> OspfRoute:
        hops: list[OspfHop] = []
        labels: list[int | str] = []
        for vertex in vertices:
            label = self._label(vertex)
            if not labels or labels[-1] != label:
                labels.append(label)
        total = 0
        for u, v in zip(vertices, vertices[1:], strict=False):
            cost = int(graph[u][v]["weight"])
            total += cost
            a, b = self._label(u), self._label(v)
            if a != b or cost:
                hops.append(OspfHop(a, b, cost))
        return OspfRoute(tuple(labels), tuple(hops), len(labels) - 1, total)

    def _with_ends(self, sources: Iterable[str], targets: Iterable[str]) -> Any:
        graph = self.graph.copy()
        for s in sources:
            graph.add_edge(SOURCE, s, weight=0)
        for t in targets:
            graph.add_edge(t, SINK, weight=0)
        return graph

    def path(self, from_nn: int, to_nn: int) -> OspfRoute | None:
        """The cheapest path from any router of one node to any router of the other."""
        sources, targets = self.routers_of.get(from_nn), self.routers_of.get(to_nn)
        if not sources or not targets:
            return None
        if from_nn == to_nn:
            return OspfRoute((from_nn,), (), 0, 0)
        graph = self._with_ends(sources, targets)
        try:
            vertices = nx.dijkstra_path(graph, SOURCE, SINK, weight="weight")
        except nx.NetworkXNoPath:
            return None
        return self._route(vertices[1:-1], graph)

    def nearest_exit(self, nn: int, exit_nns: Iterable[int]) -> OspfExit | None:
        """The exit node reached at the least total cost, and the route there."""
        sources = self.routers_of.get(nn)
        exits = [r for e in sorted(set(exit_nns)) for r in self.routers_of.get(e, ())]
        if not sources or not exits:
            return None
        graph = self._with_ends(sources, exits)
        try:
            vertices = nx.dijkstra_path(graph, SOURCE, SINK, weight="weight")
        except nx.NetworkXNoPath:
            return None
        route = self._route(vertices[1:-1], graph)
        exit_nn = self.nn_of[vertices[-2]]
        return OspfExit(nn, exit_nn, route)

    def exit_costs(
        self,
        exit_nns: Iterable[int],
        *,
        failed_nns: Iterable[int] = (),
        failed_pairs: Iterable[tuple[int, int]] = (),
    ) -> dict[int, int]:
        """Each node's cost to its cheapest exit, with some nodes or node pairs failed."""
        graph = self.graph.copy()
        failed = {r for nn in failed_nns for r in self.routers_of.get(nn, ())}
        graph.remove_nodes_from(failed)
        for a, b in failed_pairs:
            for u in self.routers_of.get(a, ()):
                for v in self.routers_of.get(b, ()):
                    for x, y in ((u, v), (v, u)):
                        if graph.has_edge(x, y):
                            graph.remove_edge(x, y)
        exits = [r for e in set(exit_nns) for r in self.routers_of.get(e, ()) if r in graph]
        if not exits:
            return {}
        # Distances *to* the exits: Dijkstra from them over the reversed edges.
        dist = nx.multi_source_dijkstra_path_length(graph.reverse(copy=False), exits)
        out: dict[int, int] = {}
        for vertex, cost in dist.items():
            nn = self.nn_of.get(vertex)
            if nn is not None and (nn not in out or cost < out[nn]):
                out[nn] = int(cost)
        return out

    def simulate(
        self,
        exit_nns: Iterable[int],
        failed_nns: Iterable[int] = (),
        failed_pairs: Iterable[tuple[int, int]] = (),
    ) -> Lost:
        """Nodes that would reach no exit, and those that would pay more to reach one."""
        exit_nns = list(exit_nns)
        failed = set(failed_nns)
        before = self.exit_costs(exit_nns)
        after = self.exit_costs(exit_nns, failed_nns=failed, failed_pairs=failed_pairs)
        lost = tuple(sorted(nn for nn in before if nn not in after and nn not in failed))
        worse = tuple(sorted(nn for nn, cost in after.items() if cost > before.get(nn, cost)))
        return Lost(lost, worse)
