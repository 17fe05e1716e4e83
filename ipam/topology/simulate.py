"""Pure: what a failure would cost on the recorded graph, by hops (NYC Mesh's outage simulator).

The OSPF graph answers the same question by cost (`ipam.topology.ospf.OspfGraph.simulate`).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from ipam.topology.algorithms import exit_tree
from ipam.topology.mesh import Topology
from ipam.topology.ospf import Lost


def _hops_to_exit(graph: nx.Graph, exits: Iterable[str]) -> dict[str, int]:
    adj = {key: tuple(graph.adj[key]) for key in graph.nodes}
    present = [key for key in exits if key in adj]
    return exit_tree(adj, present)[0] if present else {}


def simulate_recorded(
    topo: Topology, failed_nns: Iterable[int], failed_links: Iterable[str]
) -> Lost:
    """Nodes left with no exit, and those whose nearest exit would be more hops away."""
    failed_keys = {topo.key(nn) for nn in failed_nns}
    failed_ids = set(failed_links)
    graph = nx.Graph(topo.graph)
    graph.remove_nodes_from(failed_keys)
    for a, b, data in list(graph.edges(data=True)):
        # A node pair stays joined while any of its parallel links survives.
        if set(data.get("ids", ())) <= failed_ids:
            graph.remove_edge(a, b)
    before = _hops_to_exit(topo.graph, topo.exits)
    after = _hops_to_exit(graph, topo.exits - failed_keys)

    def nns(keys: Iterable[str]) -> tuple[int, ...]:
        found = (topo.nodes[k].network_number for k in keys)
        return tuple(sorted(nn for nn in found if nn is not None))

    lost = nns(k for k in before if k not in after and k not in failed_keys)
    worse = nns(k for k, hops in after.items() if hops > before.get(k, hops))
    return Lost(lost, worse)
