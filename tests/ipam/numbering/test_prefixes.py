"""Pure prefix allocation, and the packaged seed of NYC Mesh's static ranges."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipam.errors import Conflict, Invalid
from ipam.numbering.addressing import NYC
from ipam.numbering.prefixes import (
    STATIC_PREFIXES_FILE,
    InvalidPrefix,
    PrefixError,
    PrefixFull,
    first_free_address,
    first_free_subnet,
    load_static_prefixes,
    overlaps,
    parse_static_prefixes,
)


@pytest.mark.parametrize(
    ("prefix", "allocations", "expected"),
    [
        ("10.70.240.0/28", [], "10.70.240.1"),  # skip the network address
        ("10.70.240.0/28", ["10.70.240.1", "10.70.240.2"], "10.70.240.3"),
        ("10.70.240.0/28", ["10.70.240.2"], "10.70.240.1"),
        ("10.70.240.0/28", ["10.70.240.0/30"], "10.70.240.4"),
        ("10.70.240.0/28", ["10.70.240.0/29", "10.70.240.8/30", "10.70.240.13"], "10.70.240.12"),
        ("10.70.240.0/28", ["10.70.240.1", "10.70.240.1", "10.70.240.3"], "10.70.240.2"),
        # Allocations outside the prefix, and the container itself, use none of its space.
        ("10.70.240.0/28", ["10.70.241.1", "10.70.240.16/28", "10.70.240.0/20"], "10.70.240.1"),
        ("10.70.240.0/28", ["10.70.0.0/16", IPv4Network("10.70.240.0/28")], "10.70.240.1"),
        # RFC 3021: both addresses of a /31 are usable.
        ("10.70.208.0/31", [], "10.70.208.0"),
        ("10.70.208.0/31", ["10.70.208.0"], "10.70.208.1"),
        ("10.10.10.10/32", [], "10.10.10.10"),
        ("10.0.0.0/30", ["10.0.0.1"], "10.0.0.2"),
        ("2001:db8::/64", [], "2001:db8::1"),  # RFC 4291: skip the subnet-router anycast
        ("2001:db8::/64", ["2001:db8::1", "10.0.0.2"], "2001:db8::2"),
        ("2001:db8::/127", [], "2001:db8::"),  # RFC 6164
        ("::/120", [], "::1"),  # a small integer address stays IPv6
    ],
)
def test_first_free_address(prefix: str, allocations: list[Any], expected: str) -> None:
    got = first_free_address(prefix, allocations)
    assert got == ip_address(expected)
    assert got.version == ip_network(prefix).version


@pytest.mark.parametrize(
    ("prefix", "allocations"),
    [
        ("10.0.0.0/30", ["10.0.0.1", "10.0.0.2"]),  # .3 is the broadcast address
        ("10.0.0.0/30", ["10.0.0.0/31", "10.0.0.2/31"]),
        ("10.70.208.0/31", ["10.70.208.0", "10.70.208.1"]),
        ("10.10.10.10/32", ["10.10.10.10"]),  # a plain address always counts
        ("10.0.0.0/24", ["10.0.0.0/25", "10.0.0.128/25"]),
    ],
)
def test_first_free_address_full(prefix: str, allocations: list[str]) -> None:
    with pytest.raises(PrefixFull, match=f"{prefix} is full"):
        first_free_address(prefix, allocations)


@pytest.mark.parametrize(
    ("prefix", "allocations", "new_prefix", "expected"),
    [
        ("10.70.208.0/24", [], 31, "10.70.208.0/31"),
        ("10.70.208.0/24", ["10.70.208.0/31"], 31, "10.70.208.2/31"),
        ("10.70.208.0/24", ["10.70.208.1"], 31, "10.70.208.2/31"),  # half-used /31 is used
        ("10.70.208.0/24", ["10.70.208.3"], 31, "10.70.208.0/31"),
        ("10.70.208.0/24", ["10.70.208.0/31", "10.70.208.4/31"], 31, "10.70.208.2/31"),
        ("10.70.208.0/24", ["10.70.208.0/31", "10.70.208.2/31"], 31, "10.70.208.4/31"),
        ("10.70.224.0/24", ["10.70.224.0/31"], 30, "10.70.224.4/30"),
        ("10.70.224.0/24", ["10.70.224.5"], 30, "10.70.224.0/30"),
        ("10.70.224.0/24", ["10.70.224.0/30", "10.70.224.6"], 30, "10.70.224.8/30"),
        ("10.70.64.0/18", ["10.70.64.0/24", "10.70.65.128/25"], 24, "10.70.66.0/24"),
        ("10.70.64.0/18", ["10.70.64.0/18"], 24, "10.70.64.0/24"),  # the pool row itself
        ("10.70.208.0/24", [], 24, "10.70.208.0/24"),
        ("10.70.240.0/20", ["10.70.240.0/32"], 32, "10.70.240.1/32"),
        ("2001:db8::/64", ["2001:db8::/127"], 127, "2001:db8::2/127"),
        ("::/64", [], 127, "::/127"),  # a small integer address stays IPv6
    ],
)
def test_first_free_subnet(
    prefix: str, allocations: list[str], new_prefix: int, expected: str
) -> None:
    got = first_free_subnet(prefix, allocations, new_prefix)
    assert got == ip_network(expected)
    assert got.version == ip_network(prefix).version


def test_first_free_subnet_defaults_to_a_31() -> None:
    assert first_free_subnet(IPv4Network("10.70.208.0/20"), []) == IPv4Network("10.70.208.0/31")


@pytest.mark.parametrize(
    ("prefix", "allocations", "new_prefix"),
    [
        ("10.70.208.0/30", ["10.70.208.0/31", "10.70.208.2/31"], 31),
        ("10.70.208.0/30", ["10.70.208.1", "10.70.208.2"], 31),
        ("10.70.208.0/24", ["10.70.208.130"], 24),
        ("10.70.208.0/24", ["10.70.208.0/25", "10.70.208.200"], 25),
    ],
)
def test_first_free_subnet_full(prefix: str, allocations: list[str], new_prefix: int) -> None:
    with pytest.raises(PrefixFull, match=f"no free /{new_prefix}"):
        first_free_subnet(prefix, allocations, new_prefix)


@pytest.mark.parametrize("new_prefix", [16, 23, 33])
def test_first_free_subnet_bad_size(new_prefix: int) -> None:
    with pytest.raises(InvalidPrefix, match="new_prefix"):
        first_free_subnet("10.70.208.0/24", [], new_prefix)


@pytest.mark.parametrize(
    ("candidate", "allocations", "expected"),
    [
        ("10.70.208.0/31", ["10.70.208.1", "10.70.209.0/24"], ("10.70.208.1",)),
        ("10.70.208.0/31", ["10.70.208.2/31"], ()),
        ("10.70.208.0/24", ["10.70.0.0/16"], ("10.70.0.0/16",)),  # a container does overlap
        ("10.70.208.5", ["10.70.208.4/30", "10.70.208.5"], ("10.70.208.4/30", "10.70.208.5")),
        ("10.70.208.0/31", ["2001:db8::/32"], ()),
    ],
)
def test_overlaps(candidate: str, allocations: list[str], expected: tuple[str, ...]) -> None:
    assert overlaps(candidate, allocations) == expected


@pytest.mark.parametrize(
    "allocation", ["10.0.0.1/24", "garbage", "10.0.0.256", 42, None, ("10.0.0.0", 24)]
)
def test_bad_allocations(allocation: Any) -> None:
    with pytest.raises(InvalidPrefix):
        first_free_address("10.0.0.0/24", [allocation])


@pytest.mark.parametrize("prefix", ["10.0.0.1/24", "nope", None])
def test_bad_prefix(prefix: Any) -> None:
    with pytest.raises(InvalidPrefix):
        first_free_subnet(prefix, [])


def test_error_hierarchy() -> None:
    assert issubclass(InvalidPrefix, ValueError) and issubclass(InvalidPrefix, PrefixError)
    assert issubclass(PrefixFull, PrefixError) and not issubclass(PrefixFull, ValueError)
    # api/errors.py answers Invalid with 422 and Conflict with 409.
    assert issubclass(InvalidPrefix, Invalid) and issubclass(PrefixFull, Conflict)
    with pytest.raises(InvalidPrefix) as bad:
        first_free_subnet("10.70.208.0/24", [], 33)
    assert bad.value.field == "new_prefix"
    with pytest.raises(PrefixFull) as full:
        first_free_address("10.0.0.0/31", ["10.0.0.0", "10.0.0.1"])
    assert full.value.field == "prefix"


def _v4(network: Any) -> IPv4Network:
    """`network` narrowed to IPv4 (the pool and the seed are IPv4)."""
    assert isinstance(network, IPv4Network)
    return network


# Properties on 10.0.0.0/26: blocks /24../32 around it (some contain it), and addresses in it.
POOL = IPv4Network("10.0.0.0/26")
blocks = st.builds(
    lambda length, offset: IPv4Network((int(POOL.network_address) - 64 + offset, length), False),
    st.integers(24, 32),
    st.integers(0, 191),
)
addresses = st.builds(lambda offset: POOL.network_address + offset, st.integers(0, 63))
allocation_lists = st.lists(st.one_of(blocks, addresses), max_size=20)


def _taken(allocations: list[Any]) -> set[int]:
    """Every integer address of POOL the allocations cover, by brute force."""
    taken: set[int] = set()
    for item in allocations:
        network = ip_network(item)
        if not POOL.subnet_of(_v4(network)) or isinstance(item, IPv4Address):
            taken.update(int(a) for a in network if a in POOL)
    return taken


@settings(max_examples=400, deadline=None)
@given(allocations=allocation_lists, new_prefix=st.integers(26, 32))
def test_subnet_allocation_never_overlaps(allocations: list[Any], new_prefix: int) -> None:
    taken = _taken(allocations)
    free = [
        net for net in POOL.subnets(new_prefix=new_prefix) if not any(int(a) in taken for a in net)
    ]
    try:
        got = first_free_subnet(POOL, allocations, new_prefix)
    except PrefixFull:
        assert free == []
        return
    assert _v4(got).subnet_of(POOL) and got.prefixlen == new_prefix  # aligned, by construction
    # Only a container (a network holding the whole pool) may overlap the answer.
    uses = [a for a in allocations if isinstance(a, IPv4Address) or not POOL.subnet_of(a)]
    assert not overlaps(got, uses)
    assert got == free[0]


@settings(max_examples=400, deadline=None)
@given(allocations=allocation_lists)
def test_address_allocation_never_overlaps(allocations: list[Any]) -> None:
    taken = _taken(allocations)
    free = [a for a in POOL.hosts() if int(a) not in taken]
    try:
        got = first_free_address(POOL, allocations)
    except PrefixFull:
        assert free == []
        return
    assert got == free[0]
    assert int(got) not in taken


# The packaged seed.
SEED = load_static_prefixes()


def test_seed_plan_ranges_match_the_addressing_plan() -> None:
    by_role = {entry.role: entry.cidr for entry in SEED}
    assert by_role["router"] == NYC.router_network == IPv4Network("10.69.0.0/16")
    assert by_role["wds"] == NYC.wds_network == IPv4Network("10.68.0.0/16")
    assert by_role["lan"] == NYC.lan_network == IPv4Network("10.96.0.0/13")
    assert by_role["anycast"] == IPv4Network("10.10.10.0/24")


def test_seed_is_consistent() -> None:
    containers = [_v4(e.cidr) for e in SEED if e.role == "container"]
    assert IPv4Network("10.70.0.0/16") in containers and IPv4Network("10.10.0.0/16") in containers
    ranges = [e for e in SEED if e.role != "container"]
    for i, entry in enumerate(ranges):
        assert entry.status == "Active" and entry.description
        assert not overlaps(entry.cidr, [other.cidr for other in ranges[i + 1 :]])
        if entry.role not in ("router", "wds", "lan"):
            assert any(_v4(entry.cidr).subnet_of(c) for c in containers)
    # 10.70.0.0/16 is fully split: its pools add up to the whole /16.
    inside = [e.cidr for e in ranges if _v4(e.cidr).subnet_of(IPv4Network("10.70.0.0/16"))]
    assert sum(n.num_addresses for n in inside) == 65536
    assert {e.role for e in ranges} >= {"infra", "hub", "vpn", "p2p", "loopback", "anycast"}
    assert {e.allocate for e in ranges if e.role == "p2p"} == {30, 31}


def test_seed_says_it_is_a_seed() -> None:
    import importlib.resources

    text = importlib.resources.files("ipam").joinpath("data", STATIC_PREFIXES_FILE).read_text()
    document = json.loads(text)
    assert "seed" in document["description"].lower() and "operator" in document["description"]


def test_seed_pools_allocate() -> None:
    p2p = next(e for e in SEED if e.role == "p2p" and e.allocate == 31)
    assert first_free_subnet(p2p.cidr, [p2p.cidr, "10.70.208.0/31"], p2p.allocate or 31) == (
        IPv4Network("10.70.208.2/31")
    )
    anycast = next(e for e in SEED if e.role == "anycast")
    assert first_free_address(anycast.cidr, ["10.10.10.1"]) == IPv4Address("10.10.10.2")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "prefixes"),
        ({"prefixes": ["10.0.0.0/8"]}, "object"),
        ({"prefixes": [{"cidr": "10.0.0.0/8", "role": "x", "status": "Active"}]}, "description"),
        (
            {"prefixes": [{"cidr": "10.0.0.1/8", "role": "x", "description": "", "status": "A"}]},
            "cidr",
        ),
        (
            {
                "prefixes": [
                    {
                        "cidr": "10.0.0.0/8",
                        "role": "x",
                        "description": "",
                        "status": "A",
                        "allocate": 7,
                    }
                ]
            },
            "allocate",
        ),
    ],
)
def test_parse_static_prefixes_errors(document: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPrefix, match=message):
        parse_static_prefixes(document)
