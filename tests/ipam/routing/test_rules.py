"""The pure routing rules, table-driven with literal networks anyone can check by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address as A
from ipaddress import IPv4Network as N

import pytest

from ipam.enums import ObservedStatus as S
from ipam.observed.rules import link_status, node_status_with_routing
from ipam.routing.mapping import map_databases, network_number_of
from ipam.routing.subnets import NOBODY, conflicted, owner_of, subnet_states
from ipam.routing.values import MappedRouter


@pytest.mark.parametrize(
    ("router_id", "stubnets", "devices", "expected"),
    [
        ("10.69.1.1", [], {}, (101, "router_id")),  # router address of NN 101
        ("10.69.1.101", [], {}, (101, "router_id")),  # its second router
        ("10.68.43.94", [], {}, (4394, "router_id")),  # a WDS address
        ("199.167.59.98", ["10.69.28.14/32", "10.68.28.14/32"], {}, (2814, "stubnet")),
        ("10.69.1.1", ["10.69.2.2/32"], {}, (101, "router_id")),  # the id goes first
        ("10.70.90.22", ["10.70.90.0/24"], {}, (None, None)),  # infrastructure
        ("10.10.10.10", [], {}, (None, None)),  # anycast
        ("10.96.25.65", [], {}, (None, None)),  # a LAN address names no router
        ("10.70.90.22", [], {"10.70.90.22": 7}, (7, "device")),
        ("10.70.90.22", ["10.70.1.5/32"], {"10.70.1.5": 8}, (8, "device")),
    ],
)
def test_a_router_maps_to_a_node(router_id, stubnets, devices, expected):
    found = network_number_of(
        A(router_id), [N(s) for s in stubnets], {A(k): v for k, v in devices.items()}
    )
    assert found == expected


@dataclass(frozen=True)
class L:
    neighbor: A
    cost: int


@dataclass(frozen=True)
class NL:
    network: N
    cost: int


@dataclass(frozen=True)
class P:
    prefix: N


@dataclass(frozen=True)
class R:
    router_id: A
    reachable: bool | None = True
    routers: tuple[L, ...] = ()
    networks: tuple[NL, ...] = ()
    stubnets: tuple[P, ...] = ()
    externals: tuple[P, ...] = ()


@dataclass(frozen=True)
class Net:
    prefix: N
    routers: tuple[A, ...] = ()


@dataclass(frozen=True)
class Db:
    routers: tuple[R, ...] = ()
    networks: tuple[Net, ...] = field(default_factory=tuple)


def test_visibility_merges_sources_and_links_need_both_ends():
    a, b, c = A("10.69.1.1"), A("10.69.1.2"), A("10.69.1.3")
    one = Db(
        (R(a, routers=(L(b, 10), L(b, 30))), R(b, routers=(L(a, 15),)), R(c, False, (L(a, 1),)))
    )
    # A second source sees c reachable (BIRD marks unreachable per vantage point).
    other = Db((R(c, None),))
    view = map_databases([one])
    assert view.visible_nns == {101, 102}
    assert [(x.a, x.b, x.cost_ab, x.cost_ba) for x in view.adjacencies] == [(101, 102, 10, 15)]
    assert map_databases([one, other]).visible_nns == {101, 102, 103}
    # c lists a, a does not list c: no adjacency (RFC 2328 16.1 two-way check).
    assert all(103 not in (x.a, x.b) for x in map_databases([one, other]).adjacencies)


def test_transit_network_adjacencies_cost_the_leaving_side():
    a, b, x = A("10.69.1.1"), A("10.69.1.2"), A("10.70.0.9")
    lan = N("198.18.0.0/24")
    db = Db(
        (R(a, networks=(NL(lan, 4),)), R(b, networks=(NL(lan, 9),)), R(x, networks=(NL(lan, 1),))),
        (Net(lan, (a, b, x)),),
    )
    view = map_databases([db])
    assert [(j.a, j.b, j.cost_ab, j.cost_ba) for j in view.adjacencies] == [(101, 102, 4, 9)]
    assert view.unknown == (x,)
    assert {(h.source, h.target, h.cost) for h in view.hops if h.source == f"n:{lan}"} == {
        (f"n:{lan}", f"r:{r}", 0) for r in (a, b, x)
    }


def _router(rid, nn, *prefixes, visible=True):
    return MappedRouter(A(rid), nn, "router_id", visible, tuple(N(p) for p in prefixes))


@pytest.mark.parametrize(
    ("prefix", "allocations", "expected"),
    [
        ("10.96.25.64/26", {}, (101, True)),  # NN 101's LAN
        ("10.96.25.96/27", {}, (101, False)),  # half of it
        ("10.96.25.0/24", {}, (None, False)),  # four nodes' LANs at once: nobody's
        ("10.70.1.0/31", {"10.70.1.0/31": NOBODY}, (NOBODY, True)),  # a link's /31
        ("10.70.9.0/28", {"10.70.9.0/26": 5}, (5, False)),
        ("192.0.2.0/24", {}, (None, False)),
    ],
)
def test_owner_of(prefix, allocations, expected):
    assert owner_of(N(prefix), {N(k): v for k, v in allocations.items()}) == expected


def test_subnet_states_table():
    routers = [
        _router("10.69.1.1", 101, "10.96.25.64/26", "10.69.1.1/32", "0.0.0.0/0"),
        _router("10.69.1.2", 102, "10.96.25.128/26", "10.96.25.144/28", "10.96.25.192/26"),
        _router("10.69.1.3", 103, "10.96.25.192/26"),
        _router("10.69.1.4", 104, "10.96.26.0/26", visible=False),  # stale LSA: ignored
        _router("10.69.1.5", 105),
        _router("10.70.0.1", None, "10.70.1.0/31", "192.0.2.0/24"),
    ]
    states = subnet_states(routers, {N("10.70.1.0/31"): NOBODY}, [101, 102, 103, 104, 105])
    table = {str(s.prefix): (s.status, s.network_number, s.announced_by) for s in states}
    assert table == {
        "10.96.25.64/26": ("announced_ok", 101, (101,)),
        "10.96.25.128/26": ("announced_ok", 102, (102,)),
        "10.96.25.144/28": ("subset", 102, (102,)),
        # 103's LAN announced by 102 as well: hijacked, whether or not 103 announces it too.
        "10.96.25.192/26": ("hijacked", 103, (102, 103)),
        "10.96.26.64/26": ("not_announced", 105, ()),  # NN 105 is visible, its LAN nowhere
        "10.70.1.0/31": ("announced_ok", None, ()),
        "192.0.2.0/24": ("not_allocated", None, ()),
    }
    assert conflicted(states) == {102, 103}


@pytest.mark.parametrize(
    ("devices", "routing", "expected"),
    [
        ([S.UP], True, S.UP),
        ([S.UP], False, S.UP),
        ([S.DOWN], True, S.VISIBLE),  # nodewatcher's "visible": routed, silent
        ([S.DOWN], False, S.DOWN),
        ([S.DUPED], True, S.DUPED),
        ([], True, S.UP),  # no monitored device: routing alone
        ([], False, S.DOWN),
        ([S.PENDING], True, S.UP),
        ([S.DOWN], None, S.DOWN),  # no routing witness: devices alone
        ([], None, S.UNKNOWN),
    ],
)
def test_node_status_with_routing(devices, routing, expected):
    assert node_status_with_routing(devices, routing) == expected


def test_link_status_takes_the_adjacency_after_uisp():
    assert link_status(S.DOWN, S.DOWN, None, "up") == S.UP
    assert link_status(S.UP, S.UP, None, "down") == S.DOWN
    assert link_status(S.UP, S.UP, "disconnected", "up") == S.DOWN
    assert link_status(S.UP, S.UP, None, None) == S.UP
    assert link_status(S.UP, S.UP, None, "absent") == S.UP  # never adjacent: no verdict
