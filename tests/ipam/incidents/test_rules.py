"""The cause of a set of dark nodes, on small literal meshes anyone can check by hand."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from ipam.incidents.availability import figure
from ipam.incidents.rules import Group, explain

# E is the exit (a POP). H is a hub behind it with A, B, C behind H; D hangs off A.
# X is a lone node on E. The picture:   X - E - H - A - D
#                                              |\
#                                              B C
STAR = [("E", "H"), ("H", "A"), ("H", "B"), ("H", "C"), ("A", "D"), ("E", "X")]


def adjacency(edges):
    adj = defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    return {k: tuple(v) for k, v in adj.items()}


def groups(edges, pool, down=None):
    found = explain(adjacency(edges), ["E"], pool, pool if down is None else down)
    return {(g.cause_kind, g.cause, g.affected) for g in found}


@pytest.mark.parametrize(
    ("pool", "down", "expected"),
    [
        # The hub down explains every node behind it, itself included: one incident.
        ("HABCD", None, {("node", ("H",), frozenset("HABCD"))}),
        # A leaf alone: its own incident.
        ("D", None, {("node", ("D",), frozenset("D"))}),
        # A and the node behind it: A is the cause, and wins over its own link H-A.
        ("AD", None, {("node", ("A",), frozenset("AD"))}),
        # Two failures at once: two incidents.
        ("HABCDX", None, {("node", ("H",), frozenset("HABCD")), ("node", ("X",), frozenset("X"))}),
        # H is "visible" (alive, seen by UISP) but unreachable: the link E-H cut them off.
        ("HABCD", "ABCD", {("link", ("E", "H"), frozenset("HABCD"))}),
        # B alone visible: alive but unreachable, so its link to the hub is at fault.
        ("B", "", {("link", ("H", "B"), frozenset("B"))}),
    ],
)
def test_causes_on_a_star(pool, down, expected):
    assert groups(STAR, set(pool), None if down is None else set(down)) == expected


def test_a_node_with_a_second_way_out_is_not_explained_by_the_hub():
    # B also reaches E directly: the hub's loss does not cut it off, so B down is apart.
    mesh = [*STAR, ("B", "E")]
    assert groups(mesh, set("HABCD")) == {
        ("node", ("H",), frozenset("HACD")),
        ("node", ("B",), frozenset("B")),
    }


def test_the_largest_explanation_wins_whatever_the_order():
    pool = set("HABCD")
    for rank_first in "DCBAH":
        found = explain(
            adjacency(STAR), ["E"], pool, pool, rank=lambda k, f=rank_first: (k != f, 0, k)
        )
        assert found == [Group("node", ("H",), frozenset("HABCD"))]


def test_islands_and_unknown_nodes():
    # Z has no path to any exit at all; Q is not in the graph: left out.
    mesh = [*STAR, ("Z", "Y")]
    assert groups(mesh, {"Z", "Q"}) == {("node", ("Z",), frozenset("Z"))}
    # Visible on an island: nothing down explains it, so it is its own incident.
    assert groups(mesh, {"Z"}, set()) == {("node", ("Z",), frozenset("Z"))}
    assert explain(adjacency(mesh), ["E"], set(), set()) == []


T = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_availability_counts_monitored_time_only():
    # Monitored for the last 12 hours of the day, down 1 hour of it: 11/12 available,
    # 12 hours reported apart as never monitored (never counted as up).
    since = T - DAY / 2
    got = figure(T, DAY, since, [(T - timedelta(hours=3), T - timedelta(hours=2))])
    assert got["availability_pct"] == pytest.approx(100 * 11 / 12, abs=1e-3)
    assert (got["monitored_s"], got["unmonitored_s"], got["down_s"]) == (43200.0, 43200.0, 3600.0)
    # An open outage runs to now; one that began before the window counts from its start.
    got = figure(
        T,
        DAY,
        T - 2 * DAY,
        [(T - 2 * DAY, T - DAY + timedelta(hours=6)), (T - timedelta(hours=6), None)],
    )
    assert got["down_s"] == 12 * 3600.0
    assert got["availability_pct"] == pytest.approx(50.0)
    # Never monitored: no percentage at all.
    assert figure(T, DAY, None, [])["availability_pct"] is None
