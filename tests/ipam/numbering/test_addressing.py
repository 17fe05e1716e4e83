"""NN -> addresses and back, with literal networks anyone can check by hand."""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, IPv4Network, ip_address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipam.errors import Invalid
from ipam.numbering.addressing import (
    NYC,
    AddressingError,
    AddressingPlan,
    AddressRole,
    InvalidNetworkNumber,
    NotAnAddress,
    PlanError,
    addresses_for,
    check_nn,
    lookup,
)

nns = st.integers(min_value=NYC.nn_min, max_value=NYC.nn_max)

# NN, routers (first is "the" router), WDS, LAN, gateway, DHCP first, DHCP last.
DERIVATION = [
    (1, ("10.69.0.1", "10.69.0.101", "10.69.0.201"), "10.68.0.1",
     "10.96.0.64/26", "10.96.0.65", "10.96.0.70", "10.96.0.121"),
    (10, ("10.69.0.10", "10.69.0.110", "10.69.0.210"), "10.68.0.10",
     "10.96.2.128/26", "10.96.2.129", "10.96.2.134", "10.96.2.185"),
    # NN % 100 = 55 is the last with a third router: 200 + 55 = 255.
    (55, ("10.69.0.55", "10.69.0.155", "10.69.0.255"), "10.68.0.55",
     "10.96.13.192/26", "10.96.13.193", "10.96.13.198", "10.96.13.249"),
    (56, ("10.69.0.56", "10.69.0.156"), "10.68.0.56",
     "10.96.14.0/26", "10.96.14.1", "10.96.14.6", "10.96.14.57"),
    (99, ("10.69.0.99", "10.69.0.199"), "10.68.0.99",
     "10.96.24.192/26", "10.96.24.193", "10.96.24.198", "10.96.24.249"),
    (100, ("10.69.1.0", "10.69.1.100", "10.69.1.200"), "10.68.1.0",
     "10.96.25.0/26", "10.96.25.1", "10.96.25.6", "10.96.25.57"),
    (150, ("10.69.1.50", "10.69.1.150", "10.69.1.250"), "10.68.1.50",
     "10.96.37.128/26", "10.96.37.129", "10.96.37.134", "10.96.37.185"),
    (492, ("10.69.4.92", "10.69.4.192"), "10.68.4.92",
     "10.96.123.0/26", "10.96.123.1", "10.96.123.6", "10.96.123.57"),
    (1417, ("10.69.14.17", "10.69.14.117", "10.69.14.217"), "10.68.14.17",
     "10.97.98.64/26", "10.97.98.65", "10.97.98.70", "10.97.98.121"),
    (4734, ("10.69.47.34", "10.69.47.134", "10.69.47.234"), "10.68.47.34",
     "10.100.159.128/26", "10.100.159.129", "10.100.159.134", "10.100.159.185"),
    (7999, ("10.69.79.99", "10.69.79.199"), "10.68.79.99",
     "10.103.207.192/26", "10.103.207.193", "10.103.207.198", "10.103.207.249"),
    (8000, ("10.69.80.0", "10.69.80.100", "10.69.80.200"), "10.68.80.0",
     "10.103.208.0/26", "10.103.208.1", "10.103.208.6", "10.103.208.57"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("nn", "routers", "wds", "lan", "gateway", "dhcp_first", "dhcp_last"), DERIVATION
)
def test_addresses_for(
    nn: int,
    routers: tuple[str, ...],
    wds: str,
    lan: str,
    gateway: str,
    dhcp_first: str,
    dhcp_last: str,
) -> None:
    got = addresses_for(nn)
    assert got.network_number == nn
    assert got.router == IPv4Address(routers[0])
    assert got.routers == tuple(IPv4Address(r) for r in routers)
    assert got.wds == IPv4Address(wds)
    assert got.lan == IPv4Network(lan)
    assert got.gateway == IPv4Address(gateway)
    assert (got.dhcp_first, got.dhcp_last) == (IPv4Address(dhcp_first), IPv4Address(dhcp_last))


@pytest.mark.parametrize("nn", [1, 10, 492, 1417, 4734, 8000])
def test_lan_matches_the_bit_formula(nn: int) -> None:
    # 10.(96 + (NN >> 10)).((NN >> 2) & 255).((NN & 3) << 6)/26, as NYC Mesh writes it.
    expected = IPv4Network(f"10.{96 + (nn >> 10)}.{(nn >> 2) & 255}.{(nn & 3) << 6}/26")
    assert addresses_for(nn).lan == expected


def test_to_dict_shape() -> None:
    assert addresses_for(10).to_dict() == {
        "network_number": 10,
        "router": "10.69.0.10",
        "routers": ["10.69.0.10", "10.69.0.110", "10.69.0.210"],
        "wds": "10.68.0.10",
        "lan": {
            "network": "10.96.2.128/26",
            "gateway": "10.96.2.129",
            "dhcp_first": "10.96.2.134",
            "dhcp_last": "10.96.2.185",
        },
    }
    json.dumps(addresses_for(4734).to_dict())  # plain JSON values only


@pytest.mark.parametrize("bad", [0, -1, 8001, 25599, True, "10", 10.0, None])
def test_invalid_network_number(bad: Any) -> None:
    with pytest.raises(InvalidNetworkNumber) as info:
        addresses_for(bad)
    assert isinstance(info.value, ValueError)
    assert "network_number" in str(info.value)


@pytest.mark.parametrize("bad", [0, 8001])
def test_invalid_network_number_names_the_range(bad: int) -> None:
    with pytest.raises(InvalidNetworkNumber, match=r"1\.\.8000"):
        check_nn(bad)


LOOKUP = [
    ("10.69.0.10", 10, "router", 0),
    ("10.69.0.110", 10, "router", 1),
    ("10.69.0.210", 10, "router", 2),
    ("10.69.0.99", 99, "router", 0),
    ("10.69.0.199", 99, "router", 1),
    ("10.69.0.255", 55, "router", 2),
    ("10.69.1.250", 150, "router", 2),  # 250 - 200 = 50 <= 55: NN 150's third router
    ("10.69.1.0", 100, "router", 0),
    ("10.69.80.0", 8000, "router", 0),
    ("10.69.80.200", 8000, "router", 2),
    ("10.69.4.92", 492, "router", 0),
    ("10.68.4.92", 492, "wds", 0),
    ("10.68.80.0", 8000, "wds", 0),
    ("10.96.123.0", 492, "lan", 0),  # the LAN's network address
    ("10.96.123.1", 492, "gateway", 0),
    ("10.96.123.2", 492, "lan", 0),
    ("10.96.123.5", 492, "lan", 0),
    ("10.96.123.6", 492, "dhcp", 0),
    ("10.96.123.57", 492, "dhcp", 0),
    ("10.96.123.58", 492, "lan", 0),
    ("10.96.123.63", 492, "lan", 0),  # the LAN's broadcast address
    ("10.96.2.129", 10, "gateway", 0),
    ("10.97.98.64", 1417, "lan", 0),
    ("10.100.159.185", 4734, "dhcp", 0),
    ("10.96.0.65", 1, "gateway", 0),
    ("10.103.208.1", 8000, "gateway", 0),
]


@pytest.mark.parametrize(("ip", "nn", "role", "index"), LOOKUP)
def test_lookup(ip: str, nn: int, role: str, index: int) -> None:
    assert lookup(ip) == AddressRole(nn, role, index)  # type: ignore[arg-type]
    assert lookup(IPv4Address(ip)) == AddressRole(nn, role, index)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ip",
    [
        "10.69.0.0",  # NN 0
        "10.69.0.100",  # NN 0's second router
        "10.69.0.200",  # NN 0's third router
        "10.69.80.1",  # NN 8001
        "10.69.80.156",  # NN 8056's second router
        "10.69.255.255",  # NN 25555
        "10.68.0.0",  # NN 0's WDS
        "10.68.0.150",  # a WDS bridge has no second slot
        "10.68.80.1",  # NN 8001's WDS
        "10.96.0.1",  # NN 0's gateway
        "10.96.0.63",
        "10.103.208.64",  # NN 8001's LAN
        "10.103.255.255",
        "10.104.0.1",
        "10.70.131.5",  # static range, not derived from an NN
        "8.8.8.8",
        "::1",
        "2001:db8::10:69:0:10",
    ],
)
def test_lookup_outside_plan(ip: str) -> None:
    assert lookup(ip) is None


@pytest.mark.parametrize(
    "bad", ["10.69.1.256", "", "nn492", "10.96.2.128/26", " 10.69.0.1", 42, None]
)
def test_lookup_rejects_non_addresses(bad: Any) -> None:
    with pytest.raises(NotAnAddress):
        lookup(bad)


def test_errors_are_invalid_input() -> None:
    for error in (InvalidNetworkNumber, NotAnAddress, PlanError):
        assert issubclass(error, AddressingError)
        assert issubclass(error, ValueError)
        assert issubclass(error, Invalid)  # api/errors.py answers 422
    with pytest.raises(InvalidNetworkNumber) as nn_info:
        addresses_for(0)
    assert nn_info.value.field == "network_number"
    with pytest.raises(NotAnAddress) as ip_info:
        lookup("10.69.1.256")
    assert ip_info.value.field == "ip"


# A second community: 10.20.x.y routers with two slots, WDS in 10.21, /28 LANs in 172.16.0.0/16.
SMALL = {
    "name": "examplemesh",
    "nn_min": 1,
    "nn_max": 999,
    "router_network": "10.20.0.0/16",
    "router_split": 100,
    "router_slots": [0, 100],
    "wds_network": "10.21.0.0/16",
    "lan_network": "172.16.0.0/16",
    "lan_prefixlen": 28,
    "gateway_offset": 1,
    "dhcp_first_offset": 2,
    "dhcp_last_offset": 13,
}


def test_other_community_plan() -> None:
    plan = AddressingPlan.from_dict(SMALL)
    got = addresses_for(123, plan)
    # 172.16.0.0 + 16 * 123 = 172.16.0.0 + 1968 = 172.16.7.176
    assert got.to_dict() == {
        "network_number": 123,
        "router": "10.20.1.23",
        "routers": ["10.20.1.23", "10.20.1.123"],
        "wds": "10.21.1.23",
        "lan": {
            "network": "172.16.7.176/28",
            "gateway": "172.16.7.177",
            "dhcp_first": "172.16.7.178",
            "dhcp_last": "172.16.7.189",
        },
    }
    assert lookup("10.20.1.123", plan) == AddressRole(123, "router", 1)
    assert lookup("10.20.1.223", plan) is None  # no third slot in this plan
    assert lookup("172.16.7.190", plan) == AddressRole(123, "lan")
    assert lookup("10.69.0.10", plan) is None
    with pytest.raises(InvalidNetworkNumber, match=r"1\.\.999"):
        addresses_for(1000, plan)


def test_plan_round_trips() -> None:
    assert AddressingPlan.from_dict(NYC.to_dict()) == NYC
    assert AddressingPlan.from_json(json.dumps(NYC.to_dict())) == NYC
    assert NYC.to_dict()["lan_network"] == "10.96.0.0/13"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"router_slots": [0, 50]}, "router_slots"),  # 10.69.0.60 would be NN 60 and NN 10
        ({"router_slots": [0, 100, 200, 256]}, "router_slots"),
        ({"router_split": 0}, "router_split"),
        ({"nn_max": 30000}, "too small"),  # NN // 100 = 300 does not fit a /16
        ({"lan_network": "10.96.0.0/14"}, "too small"),  # 8001 /26s need a /13
        ({"lan_prefixlen": 31}, "lan_prefixlen"),
        ({"gateway_offset": 10}, "DHCP pool"),
        ({"dhcp_first_offset": 0}, "offsets"),
        ({"dhcp_last_offset": 63}, "offsets"),  # the /26's broadcast address
        ({"dhcp_first_offset": 58}, "offsets"),
        ({"wds_network": "10.69.0.0/16"}, "overlap"),
        ({"lan_network": "10.64.0.0/11"}, "overlap"),  # covers 10.68 and 10.69
        ({"nn_min": 10, "nn_max": 5}, "nn_min"),
        ({"router_network": "10.69.0.1/16"}, "router_network"),  # host bits set
        ({"router_network": "fd00::/64"}, "IPv4"),
        ({"nn_max": True}, "integer"),
        ({"nn_max": 8000.0}, "integer"),
        ({"router_slots": "0,100"}, "router_slots"),
        ({"name": ""}, "name"),
        ({"colour": "blue"}, "unknown keys"),
    ],
)
def test_bad_plans(change: dict[str, Any], message: str) -> None:
    data = {**NYC.to_dict(), **change}
    with pytest.raises(PlanError, match=message):
        AddressingPlan.from_dict(data)


def test_plan_missing_key_and_bad_json() -> None:
    data = NYC.to_dict()
    del data["wds_network"]
    with pytest.raises(PlanError, match="wds_network"):
        AddressingPlan.from_dict(data)
    with pytest.raises(PlanError, match="not JSON"):
        AddressingPlan.from_json("{")
    with pytest.raises(PlanError, match="object"):
        AddressingPlan.from_json("[]")


def test_every_nn_gets_distinct_addresses() -> None:
    """Exhaustive over 1..8000: no two NNs share a router, WDS or LAN address."""
    routers: set[IPv4Address] = set()
    wds: set[IPv4Address] = set()
    lans: list[IPv4Network] = []
    for nn in range(NYC.nn_min, NYC.nn_max + 1):
        got = addresses_for(nn)
        assert routers.isdisjoint(got.routers)
        routers.update(got.routers)
        assert got.wds not in wds
        wds.add(got.wds)
        lans.append(got.lan)
    # Sorted by NN, each /26 starts right after the previous one ends: disjoint and dense.
    for before, after in zip(lans, lans[1:], strict=False):
        assert int(after.network_address) == int(before.broadcast_address) + 1
    # Two routers per NN, plus a third for each NN with NN % 100 <= 55.
    assert len(routers) == sum(3 if nn % 100 <= 55 else 2 for nn in range(1, 8001))


@settings(max_examples=300, deadline=None)
@given(a=nns, b=nns)
def test_distinct_nns_never_share_addresses(a: int, b: int) -> None:
    if a == b:
        return
    x, y = addresses_for(a), addresses_for(b)
    assert set(x.routers).isdisjoint(y.routers)
    assert x.wds != y.wds
    assert not x.lan.overlaps(y.lan)


@settings(max_examples=300, deadline=None)
@given(nn=nns)
def test_derived_addresses_are_well_formed(nn: int) -> None:
    got = addresses_for(nn)
    assert got.router == got.routers[0]
    # A router slot exists exactly when its last octet fits: 1 + (100 <= ..) + (NN % 100 <= 55).
    assert len(got.routers) == (3 if nn % 100 <= 55 else 2)
    assert got.lan.prefixlen == 26
    assert got.gateway in got.lan and got.dhcp_first in got.lan and got.dhcp_last in got.lan
    hosts = (got.lan.network_address, got.lan.broadcast_address)
    assert got.gateway not in hosts and got.dhcp_first not in hosts and got.dhcp_last not in hosts
    assert got.dhcp_first <= got.dhcp_last
    assert not got.dhcp_first <= got.gateway <= got.dhcp_last
    assert int(got.dhcp_last) - int(got.dhcp_first) + 1 == 52
    assert got.lan.subnet_of(NYC.lan_network)


@settings(max_examples=300, deadline=None)
@given(nn=nns)
def test_lookup_inverts_derivation(nn: int) -> None:
    got = addresses_for(nn)
    for index, router in enumerate(got.routers):
        assert lookup(router) == AddressRole(nn, "router", index)
    assert lookup(got.wds) == AddressRole(nn, "wds")
    assert lookup(got.gateway) == AddressRole(nn, "gateway")
    assert lookup(got.lan.network_address) == AddressRole(nn, "lan")
    for address in got.lan:
        role = lookup(address)
        assert role is not None and role.network_number == nn
        expected = "dhcp" if got.dhcp_first <= address <= got.dhcp_last else "lan"
        if address == got.gateway:
            expected = "gateway"
        assert role.role == expected


planned = st.sampled_from([NYC.router_network, NYC.wds_network, NYC.lan_network])


@settings(max_examples=500, deadline=None)
@given(network=planned, offset=st.integers(min_value=0, max_value=(1 << 19) - 1))
def test_lookup_only_names_derived_addresses(network: IPv4Network, offset: int) -> None:
    address = network.network_address + offset % network.num_addresses
    role = lookup(address)
    if role is None:
        return
    got = addresses_for(role.network_number)
    if role.role == "router":
        assert got.routers[role.index] == address
    elif role.role == "wds":
        assert got.wds == address
    else:
        assert address in got.lan


UISP_NAME = re.compile(r"^nycmesh-(\d+)-")


@pytest.mark.realdata
def test_uisp_devices_sit_in_their_nns_lan(shared_data: Path) -> None:
    """85 of the 89 UISP devices in 10.96.0.0/13 are in their own NN's /26 (data README)."""
    devices = json.loads((shared_data / "nycmesh-uisp-2023" / "access_points.json").read_text())
    in_lan = matched = 0
    for device in devices:
        name = device["identification"]["name"] or ""
        cidr = (device.get("ipAddress") or "").split("/")[0]
        found = UISP_NAME.match(name.strip())
        if not found or not cidr or ip_address(cidr) not in NYC.lan_network:
            continue
        in_lan += 1
        role = lookup(cidr)
        matched += role is not None and role.network_number == int(found.group(1))
    assert (matched, in_lan) == (85, 89)
