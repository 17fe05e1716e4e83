"""ipam.topology.mesh on literal networks small enough to check by hand (drawn above each one)."""

from __future__ import annotations

import dataclasses
import json
import threading

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipam.errors import NotFound
from ipam.topology.cache import TopologyCache
from ipam.topology.mesh import (
    Edge,
    Island,
    TopoLink,
    Topology,
    TopoNode,
    UnknownNode,
    build,
)


def node(
    nn: int,
    type: str = "Standard",
    observed: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> TopoNode:
    """A node keyed "n<NN>"."""
    return TopoNode(f"n{nn}", nn, f"node {nn}", type, "Active", observed, latitude, longitude)


def link(
    id: str, a: int | str, b: int | str, type: str = "5 GHz", status: str = "Active"
) -> TopoLink:
    """A link between the nodes with NN a and b (or the raw keys when given as strings)."""
    ka = a if isinstance(a, str) else f"n{a}"
    kb = b if isinstance(b, str) else f"n{b}"
    return TopoLink(id, ka, kb, status, type)


# 1 (POP) -- 2 -- 3 -- 4
CHAIN = build(
    [node(1, "POP"), node(2), node(3), node(4)],
    [link("a", 1, 2), link("b", 2, 3), link("c", 3, 4)],
)

#   1 (Supernode)
#  /  \
# 2    5
# |    |
# 3 -- 4
RING = build(
    [node(1, "Supernode"), node(2), node(3), node(4), node(5)],
    [link("a", 1, 2), link("b", 2, 3), link("c", 3, 4), link("d", 4, 5), link("e", 5, 1)],
)

#      2
#      |
# 3 -- 1 (Hub) -- 5 (POP)
#      |
#      4
STAR = build(
    [node(1, "Hub"), node(2), node(3), node(4), node(5, "POP")],
    [link("a", 1, 2), link("b", 1, 3), link("c", 1, 4), link("d", 1, 5)],
)

# 1 (POP) -- 2      3 -- 4 -- 5      6
TWO_PARTS = build(
    [node(1, "POP"), node(2), node(3), node(4), node(5), node(6)],
    [link("a", 1, 2), link("b", 3, 4), link("c", 4, 5)],
)


def test_chain_questions() -> None:
    route = CHAIN.path(1, 4)
    assert route is not None
    assert route.nodes == (1, 2, 3, 4)
    assert route.hop_count == 3
    assert [hop.links for hop in route.hops] == [("a",), ("b",), ("c",)]
    assert route.hops[0] == Edge(1, 2, ("a",), ("5 GHz",))
    back = CHAIN.path(4, 1)
    assert (
        back is not None
        and back.nodes == (4, 3, 2, 1)
        and back.hops[0] == Edge(4, 3, ("c",), ("5 GHz",))
    )
    same = CHAIN.path(2, 2)
    assert same is not None and same.nodes == (2,) and same.hops == ()
    assert [n.node for n in CHAIN.neighbors(2)] == [1, 3]


@pytest.mark.parametrize(
    ("topology", "nn", "exit", "hops", "nodes"),
    [
        (CHAIN, 4, 1, 3, (4, 3, 2, 1)),
        (CHAIN, 1, 1, 0, (1,)),  # an exit is its own nearest exit
        (RING, 3, 1, 2, (3, 2, 1)),
        (RING, 4, 1, 2, (4, 5, 1)),
        (STAR, 3, 5, 2, (3, 1, 5)),
        (STAR, 5, 5, 0, (5,)),
        (TWO_PARTS, 2, 1, 1, (2, 1)),
    ],
)
def test_nearest_exit(topology: Topology, nn: int, exit: int, hops: int, nodes: tuple) -> None:
    answer = topology.nearest_exit(nn)
    assert answer is not None
    assert (answer.node, answer.exit, answer.hops, answer.route.nodes) == (nn, exit, hops, nodes)
    assert answer.route.hop_count == hops


def test_nearest_exit_none_when_cut_off() -> None:
    assert TWO_PARTS.nearest_exit(4) is None
    assert TWO_PARTS.nearest_exit(6) is None


def test_nearest_exit_tie_goes_to_lowest_nn() -> None:
    # 7 (POP) -- 2 -- 3 (POP): 2 is one hop from both exits.
    topo = build([node(7, "POP"), node(2), node(3, "POP")], [link("a", 7, 2), link("b", 2, 3)])
    answer = topo.nearest_exit(2)
    assert answer is not None and (answer.exit, answer.hops) == (3, 1)


@pytest.mark.parametrize(
    ("topology", "points", "bridges"),
    [
        (CHAIN, (2, 3), ((1, 2), (2, 3), (3, 4))),
        (RING, (), ()),
        (STAR, (1,), ((1, 2), (1, 3), (1, 4), (1, 5))),
        (TWO_PARTS, (4,), ((1, 2), (3, 4), (4, 5))),
    ],
)
def test_critical(topology: Topology, points: tuple, bridges: tuple) -> None:
    critical = topology.critical()
    assert critical.articulation_points == points
    assert tuple((edge.src, edge.dst) for edge in critical.bridges) == bridges


@pytest.mark.parametrize(
    ("topology", "nn", "lost"),
    [
        (CHAIN, 2, (3, 4)),
        (CHAIN, 3, (4,)),
        (CHAIN, 4, ()),  # a leaf takes nobody with it
        (CHAIN, 1, (2, 3, 4)),  # the only exit
        (RING, 3, ()),  # the ring goes round the other way
        (RING, 1, (2, 3, 4, 5)),
        (STAR, 1, (2, 3, 4)),  # the hub: every leaf but the exit itself
        (STAR, 2, ()),
        (STAR, 5, (1, 2, 3, 4)),
        (TWO_PARTS, 4, ()),  # 3 and 5 had no exit to lose
        (TWO_PARTS, 6, ()),
    ],
)
def test_impact(topology: Topology, nn: int, lost: tuple) -> None:
    assert topology.impact(nn).lost == lost
    assert topology.impact(nn).node == nn


def test_impact_with_a_second_exit() -> None:
    # 1 (POP) -- 2 -- 3 -- 4 (POP), and 5 hangs off 3: losing 3 cuts off only 5.
    topo = build(
        [node(1, "POP"), node(2), node(3), node(4, "POP"), node(5)],
        [link("a", 1, 2), link("b", 2, 3), link("c", 3, 4), link("d", 3, 5)],
    )
    assert topo.impact(3).lost == (5,)
    assert topo.impact(2).lost == ()
    assert topo.impact(4).lost == ()  # 1 is still an exit for everyone left


def test_islands_and_no_path() -> None:
    assert TWO_PARTS.islands() == (Island((3, 4, 5), 3), Island((6,), 1))
    assert CHAIN.islands() == ()
    assert TWO_PARTS.path(1, 4) is None
    assert TWO_PARTS.path(6, 6) is not None


def test_summary_counts() -> None:
    summary = TWO_PARTS.summary()
    assert (summary.nodes, summary.edges, summary.links, summary.exits) == (6, 3, 3, 1)
    assert (summary.components, summary.islands) == (3, 2)
    assert summary.nodes_by_type == {"POP": 1, "Standard": 5}
    assert summary.links_by_type == {"5 GHz": 3}
    json.dumps(dataclasses.asdict(summary))  # JSON-ready as is


def test_parallel_links_are_one_edge() -> None:
    # 1 (POP) == 2: three links, one drawn 2 -> 1; one edge holding all three.
    topo = build(
        [node(1, "POP"), node(2)],
        [link("b", 1, 2, "60 GHz"), link("a", 1, 2), link("c", 2, 1, "VPN")],
    )
    assert topo.graph.number_of_edges() == 1
    assert [link.id for link in topo.graph.edges["n1", "n2"]["links"]] == ["a", "b", "c"]
    assert topo.summary().links == 3
    route = topo.path(2, 1)
    assert route is not None
    assert route.hops == (Edge(2, 1, ("a", "b", "c"), ("5 GHz", "60 GHz", "VPN")),)
    assert topo.neighbors(1)[0].links == ("a", "b", "c")
    # Still a bridge: the three links share both ends.
    assert [(e.src, e.dst, e.links) for e in topo.critical().bridges] == [(1, 2, ("a", "b", "c"))]


def test_bad_links_are_counted_not_fatal() -> None:
    topo = build(
        [node(1, "POP"), node(2)],
        [
            link("ok", 1, 2),
            link("ghost", 1, "n99"),  # a node the caller did not give
            link("loop", 2, 2),
            link("plan", 1, 2, status="Planned"),
            link("dead", 2, "n98", status="Inactive"),  # unknown end counts first
        ],
    )
    assert topo.report.dangling == ("ghost", "dead")
    assert topo.report.self_loops == ("loop",)
    assert topo.report.not_active == 1
    assert topo.report.links_in == 5
    assert "n99" not in topo.graph
    summary = topo.summary()
    assert (summary.edges, summary.links, summary.dangling_links, summary.self_loops) == (
        1,
        1,
        2,
        1,
    )
    assert summary.not_active_links == 1


def test_node_without_nn_is_in_the_graph_under_its_key() -> None:
    # 1 (POP) -- x -- 2, where x has no NN yet.
    topo = build(
        [node(1, "POP"), TopoNode("x", None), node(2)],
        [link("a", 1, "x"), link("b", "x", 2)],
    )
    route = topo.path(2, 1)
    assert route is not None and route.nodes == (2, "x", 1)
    assert topo.critical().articulation_points == ("x",)
    assert topo.impact(1).lost == (2, "x")  # NNs first, then keys
    assert [n.node for n in topo.neighbors(1)] == ["x"]


def test_unknown_nn_is_a_clear_key_error() -> None:
    with pytest.raises(UnknownNode) as caught:
        CHAIN.path(1, 99)
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, NotFound)
    assert str(caught.value) == "no node with network number 99 in the topology"
    assert caught.value.nn == 99
    for ask in (CHAIN.neighbors, CHAIN.nearest_exit, CHAIN.impact):
        with pytest.raises(UnknownNode):
            ask(99)


def test_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate node id"):
        build([node(1), node(1)], [])
    with pytest.raises(ValueError, match="network number 1"):
        build([node(1), TopoNode("other", 1)], [])


# 1 (POP, up) -- 2 (up) -- 3 (visible) -- 4 (up)
#                 \
#                  5 (down) -- 6 (POP, down)
OBSERVED = build(
    [
        node(1, "POP", "up"),
        node(2, observed="up"),
        node(3, observed="visible"),
        node(4, observed="up"),
        node(5, observed="down"),
        node(6, "POP", "down"),
    ],
    [link("a", 1, 2), link("b", 2, 3), link("c", 3, 4), link("d", 2, 5), link("e", 5, 6)],
)


def test_observed_view_keeps_only_links_between_up_nodes() -> None:
    seen = OBSERVED.observed
    assert seen is OBSERVED.view(observed=True) and OBSERVED.view() is OBSERVED
    assert seen.observed is seen
    assert sorted(seen.graph.edges) == [("n1", "n2")]
    assert seen.graph.number_of_nodes() == 6  # every node can still be asked about
    assert seen.exits == frozenset({"n1"})  # a down exit is no way out
    assert seen.summary().observed is True
    assert seen.nearest_exit(4) is None
    recorded = OBSERVED.nearest_exit(4)
    assert recorded is not None and recorded.hops == 3
    assert seen.path(4, 1) is None
    assert [island.nodes for island in seen.islands()] == [(3,), (4,), (5,), (6,)]
    assert OBSERVED.graph.nodes["n3"]["observed"] == "visible"  # observed state is on the graph


def test_observed_view_can_count_visible() -> None:
    topo = build(
        [node(1, "POP", "up"), node(2, observed="visible")],
        [link("a", 1, 2)],
        up_states=frozenset({"up", "visible"}),
    )
    assert topo.observed.graph.number_of_edges() == 1


def test_exit_types_are_the_callers_choice() -> None:
    topo = build([node(1, "Hub"), node(2, "POP")], [link("a", 1, 2)], exit_types=frozenset({"Hub"}))
    assert topo.exits == frozenset({"n1"})
    answer = topo.nearest_exit(2)
    assert answer is not None and answer.exit == 1


def test_geojson_skips_nodes_without_coordinates() -> None:
    topo = build(
        [
            node(1, "POP", latitude=40.7, longitude=-74.0),
            node(2, latitude=40.8, longitude=-73.9),
            node(3),
        ],
        [link("a", 1, 2), link("b", 2, 3)],
    )
    geo = topo.to_geojson()
    assert geo["type"] == "FeatureCollection"
    points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert [p["properties"]["nn"] for p in points] == [1, 2]
    assert points[0]["geometry"]["coordinates"] == [-74.0, 40.7]  # lon, lat
    assert points[0]["properties"]["exit"] is True
    assert len(lines) == 1  # 2-3 has no place to draw
    assert lines[0]["geometry"]["coordinates"] == [[-74.0, 40.7], [-73.9, 40.8]]
    assert lines[0]["properties"] == {"from": 1, "to": 2, "links": ["a"], "types": ["5 GHz"]}
    json.dumps(geo)


def test_answers_are_json_ready() -> None:
    for answer in (
        CHAIN.path(1, 4),
        CHAIN.nearest_exit(4),
        CHAIN.critical(),
        CHAIN.impact(2),
        *CHAIN.neighbors(2),
        *TWO_PARTS.islands(),
    ):
        assert answer is not None
        json.dumps(dataclasses.asdict(answer))


def test_graph_is_read_only() -> None:
    with pytest.raises(nx.NetworkXError):
        CHAIN.graph.add_edge("n1", "n4")


def test_cache_rebuilds_only_on_a_new_version() -> None:
    cache = TopologyCache()
    calls: list[int] = []

    def loader() -> Topology:
        calls.append(1)
        return build([node(1)], [])

    first = cache.get(7, loader)
    assert cache.get(7, loader) is first and len(calls) == 1
    second = cache.get(8, loader)
    assert second is not first and len(calls) == 2 and cache.version == 8
    cache.clear()
    cache.get(8, loader)
    assert len(calls) == 3


def test_cache_builds_once_for_threads_asking_together() -> None:
    cache = TopologyCache()
    calls: list[int] = []
    start = threading.Barrier(8)

    def loader() -> Topology:
        calls.append(1)
        return build([node(1)], [])

    def ask() -> None:
        start.wait()
        cache.get("v1", loader)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1


# Random small networks, every answer checked against networkx computing it from scratch.
@st.composite
def networks(draw: st.DrawFn) -> Topology:
    """A random network of up to 12 nodes, some exits, some parallel links."""
    size = draw(st.integers(1, 12))
    exits = draw(st.sets(st.integers(1, size), max_size=3))
    pairs = draw(st.lists(st.tuples(st.integers(1, size), st.integers(1, size)), max_size=24))
    nodes = [node(nn, "POP" if nn in exits else "Standard") for nn in range(1, size + 1)]
    return build(nodes, [link(f"l{i}", a, b) for i, (a, b) in enumerate(pairs)])


@settings(max_examples=150, deadline=None)
@given(networks())
def test_matches_networkx_from_scratch(topo: Topology) -> None:
    graph = topo.graph
    exits = set(topo.exits)
    reach = {k for c in nx.connected_components(graph) if c & exits for k in c}
    assert set(topo.critical().articulation_points) == {
        topo.ref(k) for k in nx.articulation_points(graph)
    }
    bridges = {frozenset((f"n{e.src}", f"n{e.dst}")) for e in topo.critical().bridges}
    assert bridges == {frozenset(pair) for pair in nx.bridges(graph)}
    for key in graph:
        nn = topo.ref(key)
        assert isinstance(nn, int)
        answer = topo.nearest_exit(nn)
        if key in reach:
            lengths = nx.single_source_shortest_path_length(graph, key)
            assert answer is not None and answer.hops == min(
                lengths[e] for e in exits if e in lengths
            )
            assert answer.route.nodes[-1] == answer.exit
        else:
            assert answer is None
        rest = graph.subgraph(set(graph) - {key})
        after = {k for c in nx.connected_components(rest) if c & exits for k in c}
        assert set(topo.impact(nn).lost) == {topo.ref(k) for k in reach - after - {key}}
        first = next(iter(graph))
        other = topo.ref(first)
        assert isinstance(other, int)
        route = topo.path(nn, other)
        if nx.has_path(graph, key, first):
            assert route is not None
            assert route.hop_count == nx.shortest_path_length(graph, key, first)
        else:
            assert route is None
