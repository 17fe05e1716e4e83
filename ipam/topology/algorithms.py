"""Pure graph algorithms over a plain adjacency dict (node -> neighbours), for ipam.topology.mesh.

Plain dicts and tuples, not networkx views: a BFS over them runs several times faster, and the
topology builds the adjacency once and asks many questions of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

Adjacency = Mapping[str, Sequence[str]]
# hops from the nearest exit, next node toward it (None at an exit), and which exit it is
ExitTree = tuple[dict[str, int], dict[str, str | None], dict[str, str]]


def exit_tree(adj: Adjacency, exits: Sequence[str]) -> ExitTree:
    """One multi-source BFS from every exit; among equally near exits the earliest listed wins."""
    rank = {key: i for i, key in enumerate(exits)}
    dist = dict.fromkeys(exits, 0)
    parent: dict[str, str | None] = dict.fromkeys(exits)
    exit_of = {key: key for key in exits}
    frontier, depth = list(exits), 0
    while frontier:
        depth += 1
        nxt: list[str] = []
        for u in frontier:
            eu = exit_of[u]
            for v in adj[u]:
                dv = dist.get(v)
                if dv is None:
                    dist[v], parent[v], exit_of[v] = depth, u, eu
                    nxt.append(v)
                elif dv == depth and rank[eu] < rank[exit_of[v]]:
                    # A tie between exits goes the same way every time, so answers are stable.
                    parent[v], exit_of[v] = u, eu
        frontier = nxt
    return dist, parent, exit_of


def reach(adj: Adjacency, sources: Iterable[str], *, blocked: str | None = None) -> set[str]:
    """Every node reachable from `sources` without passing through `blocked` (never included)."""
    seen = {source for source in sources if source != blocked}
    frontier = list(seen)
    while frontier:
        nxt = []
        for u in frontier:
            for v in adj[u]:
                if v not in seen and v != blocked:
                    seen.add(v)
                    nxt.append(v)
        frontier = nxt
    return seen


def components(adj: Adjacency) -> list[set[str]]:
    """Connected components, each found by one BFS."""
    seen: set[str] = set()
    out = []
    for start in adj:
        if start not in seen:
            comp = reach(adj, (start,))
            seen |= comp
            out.append(comp)
    return out


def cut_points_and_bridges(
    adj: Adjacency,
) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """Articulation points and bridges of a simple graph by one DFS with low points (Tarjan).

    Iterative, so a long chain cannot hit the recursion limit; one pass where networkx takes two
    (`articulation_points`, then `bridges` by chain decomposition), several times faster.
    """
    disc: dict[str, int] = {}
    low: dict[str, int] = {}
    points: set[str] = set()
    bridges: list[tuple[str, str]] = []
    for root in adj:
        if root in disc:
            continue
        disc[root] = low[root] = len(disc)
        root_children = 0
        stack: list[tuple[str, str | None, Iterator[str]]] = [(root, None, iter(adj[root]))]
        while stack:
            u, parent, rest = stack[-1]
            for v in rest:
                if v in disc:
                    # The graph is simple, so the one edge back to the parent is no back edge.
                    if v != parent and disc[v] < low[u]:
                        low[u] = disc[v]
                else:
                    disc[v] = low[v] = len(disc)
                    stack.append((v, u, iter(adj[v])))
                    break
            else:
                stack.pop()
                if parent is None:  # the root: it has its own rule, below
                    continue
                if low[u] < low[parent]:
                    low[parent] = low[u]
                if low[u] > disc[parent]:
                    bridges.append((parent, u))
                if parent == root:
                    root_children += 1
                elif low[u] >= disc[parent]:
                    points.add(parent)
        if root_children > 1:
            points.add(root)
    return frozenset(points), tuple(bridges)
