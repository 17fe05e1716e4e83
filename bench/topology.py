"""Benchmark ipam.topology.mesh on real meshes against networkx answering each from scratch.

Usage: .venv/bin/python bench/topology.py [--quick]

For NYC Mesh, Freifunk Bremen and Freifunk Aachen: rebuild time (median of several `build`s,
and of a build plus the first answer of every cached question), then per question the latency
of `Topology` (median and max over random NNs, on one fresh topology, so the max includes the
first, cold call) beside the named peer: networkx's own calls on the same graph, recomputed per
query (nx.shortest_path, nx.multi_source_dijkstra, nx.articulation_points + nx.bridges, ...).
The answers of both are compared; ratio = networkx median / ours. Ours returns more per answer
(links per hop, sorted NN lists), so where there is nothing to precompute (neighbors, path on a
small mesh) networkx's bare call is faster. Targets: rebuild < 0.5 s, every query < 50 ms.
`--quick`: Bremen only, few queries. The last line printed is one JSON object with the figures.
Data comes from MESHKEEPER_SHARED_DATA (default ../shared/data beside the repo).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make `ipam` and `bench` importable

import networkx as nx  # noqa: E402

from bench.datasets import load_meshviewer, load_nycmesh  # noqa: E402
from ipam.topology.mesh import TopoLink, Topology, TopoNode, build  # noqa: E402

REBUILD_TARGET_S = 0.5
QUERY_TARGET_MS = 50.0

Loader = Callable[[Path], tuple[list[TopoNode], list[TopoLink]]]
DATASETS: dict[str, tuple[str, Loader]] = {
    "nycmesh": ("nycmesh-network-map", load_nycmesh),
    "bremen": ("freifunk/freifunk-bremen-meshviewer.json", load_meshviewer),
    "aachen": ("freifunk/freifunk-aachen-meshviewer.json", load_meshviewer),
}


def data_dir() -> Path:
    """The shared data folder, or exit with a message saying where it was looked for."""
    configured = os.environ.get("MESHKEEPER_SHARED_DATA")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    if not path.is_dir():
        sys.exit(f"bench/topology.py: no data folder at {path} (set MESHKEEPER_SHARED_DATA)")
    return path


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call took, and what it returned."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def warm(topo: Topology, nn: int) -> None:
    """Ask one of every cached question, so every lazy fact gets computed."""
    topo.critical()
    topo.islands()
    topo.nearest_exit(nn)
    topo.path(nn, nn)


# Peer: networkx on the same graph, each answer computed from nothing.


def peer_path(graph: nx.Graph, a: str, b: str) -> int | None:
    """Hop count of a fewest-hops path by nx.shortest_path."""
    try:
        return len(nx.shortest_path(graph, a, b)) - 1
    except nx.NetworkXNoPath:
        return None


def peer_nearest_exit(graph: nx.Graph, exits: frozenset[str], key: str) -> int | None:
    """Hops to the nearest exit by nx.multi_source_dijkstra from every exit."""
    if not exits:
        return None
    try:
        length, _ = nx.multi_source_dijkstra(graph, exits, target=key)
    except nx.NetworkXNoPath:
        return None
    return int(length)


def peer_impact(graph: nx.Graph, exits: frozenset[str], key: str) -> set[str]:
    """Nodes cut off from every exit by removing `key`: components before and after."""
    before = {k for c in nx.connected_components(graph) if c & exits for k in c}
    rest = nx.restricted_view(graph, [key], [])
    after = {k for c in nx.connected_components(rest) if c & exits for k in c}
    return before - after - {key}


def peer_neighbors(graph: nx.Graph, key: str) -> list[tuple[str, tuple[str, ...]]]:
    """Neighbours and their link ids straight off the graph."""
    return [(other, tuple(link.id for link in data["links"])) for other, data in graph[key].items()]


def peer_critical(graph: nx.Graph) -> tuple[set[str], set[frozenset[str]]]:
    """nx.articulation_points and nx.bridges."""
    return set(nx.articulation_points(graph)), {frozenset(pair) for pair in nx.bridges(graph)}


def peer_islands(graph: nx.Graph, exits: frozenset[str]) -> int:
    """Components without an exit, by nx.connected_components."""
    return sum(1 for c in nx.connected_components(graph) if not c & exits)


def figures(times: list[float]) -> dict[str, float]:
    """Median and max of a list of seconds, in milliseconds."""
    return {
        "p50_ms": round(statistics.median(times) * 1000, 3),
        "max_ms": round(max(times) * 1000, 3),
    }


def bench_dataset(name: str, root: Path, queries: int, rebuilds: int) -> dict[str, Any]:
    """Rebuild and query figures for one dataset, ours beside the networkx peer."""
    relative, loader = DATASETS[name]
    load_s, (nodes, links) = timed(lambda: loader(root / relative))
    build_times = [timed(lambda: build(nodes, links))[0] for _ in range(rebuilds)]
    nns = sorted(n.network_number for n in nodes if n.network_number is not None)
    rng = random.Random(20240501)
    asked = [rng.choice(nns) for _ in range(queries)]
    pairs = [(rng.choice(nns), rng.choice(nns)) for _ in range(queries)]
    warm_times = []
    for _ in range(rebuilds):
        start = time.perf_counter()
        warm(build(nodes, links), asked[0])
        warm_times.append(time.perf_counter() - start)

    topo = build(nodes, links)  # fresh: the first query of each kind pays its lazy cost
    graph, exits = topo.graph, topo.exits
    ours: dict[str, list[float]] = {}
    peer: dict[str, list[float]] = {}
    mismatches: dict[str, int] = {}

    def run(question: str, mine: Callable[[], Any], theirs: Callable[[], Any], same: Any) -> None:
        """Time one question both ways and count disagreements."""
        t_ours, a = timed(mine)
        t_peer, b = timed(theirs)
        ours.setdefault(question, []).append(t_ours)
        peer.setdefault(question, []).append(t_peer)
        if not same(a, b):
            mismatches[question] = mismatches.get(question, 0) + 1

    def key_of(ref: int | str) -> str:
        """Node key of a node named in an answer."""
        return topo.key(ref) if isinstance(ref, int) else ref

    for nn in asked:
        key = topo.key(nn)
        run(
            "neighbors",
            lambda: topo.neighbors(nn),  # noqa: B023 - called at once, inside this iteration
            lambda: peer_neighbors(graph, key),  # noqa: B023
            lambda a, b: {(key_of(n.node), n.links) for n in a} == set(b),
        )
        run(
            "nearest_exit",
            lambda: topo.nearest_exit(nn),  # noqa: B023
            lambda: peer_nearest_exit(graph, exits, key),  # noqa: B023
            lambda a, b: (a.hops if a else None) == b,
        )
        run(
            "impact",
            lambda: topo.impact(nn),  # noqa: B023
            lambda: peer_impact(graph, exits, key),  # noqa: B023
            lambda a, b: {key_of(r) for r in a.lost} == b,
        )
    for x, y in pairs:
        kx, ky = topo.key(x), topo.key(y)
        run(
            "path",
            lambda: topo.path(x, y),  # noqa: B023
            lambda: peer_path(graph, kx, ky),  # noqa: B023
            lambda a, b: (a.hop_count if a else None) == b,
        )
    for _ in range(max(3, queries // 20)):
        run(
            "critical",
            topo.critical,
            lambda: peer_critical(graph),
            lambda a, b: (
                {key_of(r) for r in a.articulation_points} == b[0]
                and {frozenset((key_of(e.src), key_of(e.dst))) for e in a.bridges} == b[1]
            ),
        )
        run(
            "islands",
            topo.islands,
            lambda: peer_islands(graph, exits),
            lambda a, b: len(a) == b,
        )

    all_ours = [t for times in ours.values() for t in times]
    per_question = {}
    for question, times in ours.items():
        mine, theirs = figures(times), figures(peer[question])
        per_question[question] = {
            **mine,
            "peer_p50_ms": theirs["p50_ms"],
            "peer_max_ms": theirs["max_ms"],
            "ratio": round(theirs["p50_ms"] / mine["p50_ms"], 1) if mine["p50_ms"] else None,
            "mismatches": mismatches.get(question, 0),
        }
    summary = topo.summary()
    return {
        "nodes": summary.nodes,
        "edges": summary.edges,
        "links": summary.links,
        "exits": summary.exits,
        "load_s": round(load_s, 4),
        "rebuild_s": round(statistics.median(build_times), 4),
        "rebuild_warm_s": round(statistics.median(warm_times), 4),
        "query_p50_ms": figures(all_ours)["p50_ms"],
        "query_max_ms": figures(all_ours)["max_ms"],
        "questions": per_question,
    }


def main() -> None:
    """Run the benchmark and print a table, then the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Bremen only, few queries")
    args = parser.parse_args()
    root = data_dir()
    names = ["bremen"] if args.quick else list(DATASETS)
    queries, rebuilds = (20, 3) if args.quick else (200, 7)

    results = {name: bench_dataset(name, root, queries, rebuilds) for name in names}
    ok = True
    for name, r in results.items():
        print(
            f"\n{name}: {r['nodes']} nodes, {r['edges']} edges ({r['links']} links), "
            f"{r['exits']} exits; load {r['load_s']:.3f} s"
        )
        rebuild_ok = r["rebuild_warm_s"] < REBUILD_TARGET_S
        print(
            f"  rebuild {r['rebuild_s']:.4f} s, with every cached fact {r['rebuild_warm_s']:.4f} s "
            f"(target < {REBUILD_TARGET_S} s: {'ok' if rebuild_ok else 'MISSED'})"
        )
        print(
            f"  {'question':<13}{'p50 ms':>9}{'max ms':>9}  {'nx p50':>9}{'nx max':>9}"
            f"{'ratio':>10}  answers"
        )
        for question, q in r["questions"].items():
            answers = "same" if not q["mismatches"] else f"{q['mismatches']} DIFFER"
            print(
                f"  {question:<13}{q['p50_ms']:>9.3f}{q['max_ms']:>9.3f}  "
                f"{q['peer_p50_ms']:>9.3f}{q['peer_max_ms']:>9.3f}{q['ratio']:>9}x  {answers}"
            )
        query_ok = r["query_max_ms"] < QUERY_TARGET_MS
        print(
            f"  all queries: p50 {r['query_p50_ms']:.3f} ms, max {r['query_max_ms']:.3f} ms "
            f"(target < {QUERY_TARGET_MS:.0f} ms: {'ok' if query_ok else 'MISSED'})"
        )
        agree = all(not q["mismatches"] for q in r["questions"].values())
        ok = ok and rebuild_ok and query_ok and agree
    print(
        json.dumps(
            {
                "bench": "topology",
                "quick": args.quick,
                "targets": {"rebuild_s": REBUILD_TARGET_S, "query_ms": QUERY_TARGET_MS},
                "ok": ok,
                "datasets": results,
            }
        )
    )


if __name__ == "__main__":
    main()
