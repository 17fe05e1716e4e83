"""Benchmark ipam.incidents.rules.explain on NYC Mesh's real map against networkx from scratch.

Usage: .venv/bin/python bench/incidents.py [--quick]

Scenarios on the NYC Mesh map feed (about 1,500 nodes): the articulation point whose loss
cuts off the most nodes fails (it and everything behind it dark); then three such failures at
once with 20 random lone nodes down beside them. Ours: `explain` (one BFS per down node over a
plain adjacency dict, one Tarjan pass for bridges, a greedy pick). The peer: the same greedy
rule with networkx answering each candidate from scratch (remove the node or the bridge, then
`nx.node_connected_component` from every exit). The groups must be equal; ratio = peer / ours.
Target: a whole-mesh refresh under 1 s on the build machine. `--quick`: the first scenario,
one repeat. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make `ipam` and `bench` importable

import networkx as nx  # noqa: E402

from bench.datasets import load_nycmesh  # noqa: E402
from bench.topology import data_dir  # noqa: E402
from ipam.incidents.rules import Group, explain  # noqa: E402
from ipam.topology.mesh import Topology, build  # noqa: E402

TARGET_S = 1.0


def peer_explain(
    graph: nx.Graph, exits: Collection[str], pool: set[str], down: set[str]
) -> list[Group]:
    """The same rule, each candidate's loss computed by networkx from scratch."""

    def connected(g: nx.Graph) -> set[str]:
        out: set[str] = set()
        for e in exits:
            if e in g and e not in out:
                out |= nx.node_connected_component(g, e)
        return out

    reached = connected(graph)
    losses: list[tuple[str, tuple[str, ...], frozenset[str]]] = []
    for node in sorted(down & pool):
        g = graph.copy()
        g.remove_node(node)
        losses.append(("node", (node,), frozenset((reached - connected(g)) | {node})))
    for a, b in nx.bridges(graph):
        if a not in pool and b not in pool:
            continue
        g = graph.copy()
        g.remove_edge(a, b)
        lost = frozenset(reached - connected(g))
        if lost:
            near, far = (a, b) if b in lost else (b, a)
            losses.append(("link", (near, far), lost))
    groups, remaining = [], set(pool)
    while remaining:
        scored = [
            (-len(lost & remaining), kind != "node", c[-1], kind, c, lost)
            for kind, c, lost in losses
        ]
        scored = [s for s in scored if s[0] < 0]
        if not scored:
            groups.extend(Group("node", (n,), frozenset({n})) for n in sorted(remaining))
            break
        _, _, _, kind, cause, lost = min(scored)
        groups.append(Group(kind, cause, frozenset(lost & remaining)))
        remaining -= lost
    return groups


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over `repeat` calls, and the last answer."""
    times, answer = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), answer


def scenario(
    topo: Topology, failing: list[str], lone: int, rng: random.Random
) -> tuple[set[str], set[str]]:
    """The nodes dark when `failing` fail (themselves and all they cut off) plus `lone` others."""
    dark: set[str] = set()
    for key in failing:
        nn = topo.nodes[key].network_number
        assert nn is not None
        dark |= {key} | {topo.key(ref) for ref in topo.impact(nn).lost if isinstance(ref, int)}
    others = sorted(set(topo.graph) - dark)
    dark |= set(rng.sample(others, lone))
    return dark, set(dark)


def main() -> None:
    """Run the scenarios and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    nodes, links = load_nycmesh(data_dir() / "nycmesh-network-map")
    topo = build(nodes, links)
    adj = {u: tuple(v) for u, v in topo.graph.adjacency()}
    rng = random.Random(15)
    cuts = sorted(
        (key for key in topo.critical().articulation_points if isinstance(key, int)),
        key=lambda nn: -len(topo.impact(nn).lost),
    )
    biggest = [topo.key(nn) for nn in cuts[:3]]
    scenarios = {"biggest hub down": ([biggest[0]], 0)}
    if not args.quick:
        scenarios["three hubs and 20 lone nodes"] = (biggest, 20)
    repeat = 1 if args.quick else 5
    figures: dict[str, Any] = {}
    for name, (failing, lone) in scenarios.items():
        pool, down = scenario(topo, failing, lone, rng)
        ours_s, ours = timed(lambda p=pool, d=down: explain(adj, topo.exits, p, d), repeat)
        peer_s, peer = timed(
            lambda p=pool, d=down: peer_explain(topo.graph, topo.exits, p, d), min(repeat, 2)
        )
        same = {(g.cause, g.affected) for g in ours} == {(g.cause, g.affected) for g in peer}
        figures[name] = {
            "dark_nodes": len(pool),
            "incidents": len(ours),
            "largest": max(len(g.affected) for g in ours),
            "ours_ms": round(ours_s * 1000, 2),
            "peer_ms": round(peer_s * 1000, 2),
            "ratio": round(peer_s / ours_s, 1) if ours_s else None,
            "same_answer": same,
        }
        print(
            f"{name}: {len(pool)} dark -> {len(ours)} incidents (largest "
            f"{figures[name]['largest']}); ours {ours_s * 1000:.1f} ms, networkx from scratch "
            f"{peer_s * 1000:.1f} ms, same answer {same}"
        )
    print(
        json.dumps(
            {
                "bench": "incidents",
                "nodes": topo.graph.number_of_nodes(),
                "edges": topo.graph.number_of_edges(),
                "target_s": TARGET_S,
                "scenarios": figures,
            }
        )
    )


if __name__ == "__main__":
    main()
