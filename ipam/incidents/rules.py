"""Pure: which failure explains a set of nodes that went dark together.

A node is cut off when it loses every path to an exit. Given the recorded topology (nodes
joined by Active links, exits) and the nodes observed down or visible (the pool), the pool
is split into groups, each explained by one cause:

1. a node that is itself down and whose loss cuts off a set of the pool: the node wins over
   its own links (when a node and a link explain the same set, the node is the cause);
2. else the bridge (a link whose loss splits the mesh) that explains the largest set, e.g.
   the far end is "visible" (alive, seen by UISP) but unreachable: the link is at fault;
3. a node nothing else explains is its own incident (a lone node's outage).

Largest set first, so a hub down explains every node behind it, not only itself. The
affected nodes of a group include the cause node (or the link's far side).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ipam.topology.algorithms import cut_points_and_bridges, reach

Adjacency = Mapping[str, Sequence[str]]
# How nodes sort in answers (by NN, then key): ties between causes go the same way every time.
Rank = tuple[int, int, str]


def by_key(key: str) -> Rank:
    """The default order: by node key."""
    return (0, 0, key)


@dataclass(frozen=True)
class Group:
    """One failure and the nodes of the pool it explains (the cause node included)."""

    cause_kind: str  # "node" or "link"
    cause: tuple[str, ...]  # (node,) or the bridge's two end nodes (near end first)
    affected: frozenset[str]


def _reach_without_edge(adj: Adjacency, sources: Iterable[str], a: str, b: str) -> set[str]:
    """Every node reachable from `sources` when the edge a-b is gone."""
    seen = set(sources)
    frontier = list(seen)
    while frontier:
        nxt = []
        for u in frontier:
            for v in adj[u]:
                if v in seen or (u, v) in ((a, b), (b, a)):
                    continue
                seen.add(v)
                nxt.append(v)
        frontier = nxt
    return seen


def explain(
    adj: Adjacency,
    exits: Collection[str],
    pool: Collection[str],
    down: Collection[str],
    rank: Callable[[str], Rank] = by_key,
) -> list[Group]:
    """Split the pool (nodes cut off) into groups, each explained by one failure."""
    pool = set(pool) & set(adj)
    if not pool:
        return []
    exits_in = [e for e in exits if e in adj]
    connected = reach(adj, exits_in)
    # What each candidate's loss cuts off, computed once: the greedy loop only intersects.
    losses: list[tuple[str, tuple[str, ...], frozenset[str]]] = []
    for node in sorted(set(down) & pool, key=rank):
        kept = reach(adj, [e for e in exits_in if e != node], blocked=node)
        losses.append(("node", (node,), frozenset((connected - kept) | {node})))
    _, bridges = cut_points_and_bridges(adj)
    for a, b in bridges:
        if a not in pool and b not in pool:
            continue
        kept = _reach_without_edge(adj, exits_in, a, b)
        lost = frozenset(connected - kept)
        if lost:
            near, far = (a, b) if b in lost else (b, a)
            losses.append(("link", (near, far), lost))
    groups: list[Group] = []
    remaining = set(pool)
    while remaining:
        best: tuple[int, int, Rank] | None = None
        chosen: tuple[str, tuple[str, ...], frozenset[str]] | None = None
        for kind, cause, lost in losses:
            size = len(lost & remaining)
            # A node beats a link that explains as much: largest first, then nodes, then rank.
            key = (-size, 0 if kind == "node" else 1, rank(cause[-1]))
            if size and (best is None or key < best):
                best, chosen = key, (kind, cause, lost)
        if chosen is None:
            # Nothing down explains what is left (visible nodes with no bridge, islands).
            for node in sorted(remaining, key=rank):
                groups.append(Group("node", (node,), frozenset({node})))
            break
        kind, cause, lost = chosen
        affected = frozenset(lost & remaining)
        groups.append(Group(kind, cause, affected))
        remaining -= affected
    return groups
