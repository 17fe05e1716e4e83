"""Pure addressing: network number (NN) -> router / WDS / LAN /26 / gateway / DHCP pool, and back.

The plan is data (`AddressingPlan`); `NYC` is NYC Mesh's. The rules it encodes:

- 10-69 net: router k of node NN is `10.69.(NN // 100).(100 * k + NN % 100)`; the last octet
  must stay <= 255, so a third router (k = 2) exists only when NN % 100 <= 55
  (NYC Mesh docs, "10-69-NET Network"; nycmesh explorer THRID_IP_CUTOFF = 55).
- WDS bridge: `10.68.(NN // 100).(NN % 100)`.
- LAN: the /26 at `10.96.0.0 + 64 * NN`,
  i.e. `10.(96 + (NN >> 10)).((NN >> 2) & 255).((NN & 3) << 6)`; gateway is base + 1,
  the DHCP pool base + 6 .. base + 57 (nycmesh explorer POOL_START_REL / POOL_END_REL).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address, ip_network
from itertools import pairwise
from typing import Any, Literal

from ipam.errors import Invalid

Role = Literal["router", "wds", "lan", "gateway", "dhcp"]

_PLAN_KEYS = (
    "name",
    "nn_min",
    "nn_max",
    "router_network",
    "router_split",
    "router_slots",
    "wds_network",
    "lan_network",
    "lan_prefixlen",
    "gateway_offset",
    "dhcp_first_offset",
    "dhcp_last_offset",
)


class AddressingError(Invalid, ValueError):
    """Base of the addressing errors: all are bad input (Invalid, HTTP 422)."""

    default_field = "body"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field or self.default_field)


class InvalidNetworkNumber(AddressingError):
    """A network number outside the plan's range, or not an integer."""

    default_field = "network_number"


class NotAnAddress(AddressingError):
    """A value that does not parse as an IP address."""

    default_field = "ip"


class PlanError(AddressingError):
    """An addressing plan that is inconsistent or cannot be read."""

    default_field = "plan"


@dataclass(frozen=True, slots=True)
class AddressingPlan:
    """A community's NN -> address rules, as data; `NYC` is NYC Mesh's."""

    name: str
    nn_min: int
    nn_max: int
    # Routers: router_network + 256 * (NN // router_split) + slot + NN % router_split.
    router_network: IPv4Network
    router_split: int
    router_slots: tuple[int, ...]
    # WDS bridge: wds_network + 256 * (NN // router_split) + NN % router_split.
    wds_network: IPv4Network
    # LAN: the /lan_prefixlen block number NN inside lan_network.
    lan_network: IPv4Network
    lan_prefixlen: int
    gateway_offset: int
    dhcp_first_offset: int
    dhcp_last_offset: int

    def __post_init__(self) -> None:
        """Refuse a plan whose rules would give clashing or impossible addresses."""
        _check_plan(self)

    @property
    def lan_block(self) -> int:
        """Number of addresses in one node's LAN block (64 for a /26)."""
        return 1 << (32 - self.lan_prefixlen)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready plain values (the inverse of `from_dict`)."""
        return {
            "name": self.name,
            "nn_min": self.nn_min,
            "nn_max": self.nn_max,
            "router_network": str(self.router_network),
            "router_split": self.router_split,
            "router_slots": list(self.router_slots),
            "wds_network": str(self.wds_network),
            "lan_network": str(self.lan_network),
            "lan_prefixlen": self.lan_prefixlen,
            "gateway_offset": self.gateway_offset,
            "dhcp_first_offset": self.dhcp_first_offset,
            "dhcp_last_offset": self.dhcp_last_offset,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AddressingPlan:
        """Build a plan from plain values; every key is required so nothing silently stays NYC's."""
        missing = [key for key in _PLAN_KEYS if key not in data]
        unknown = sorted(set(data) - set(_PLAN_KEYS))
        if missing or unknown:
            raise PlanError(f"addressing plan: missing keys {missing}, unknown keys {unknown}")
        slots = data["router_slots"]
        if not isinstance(slots, list | tuple):
            raise PlanError("addressing plan: router_slots must be a list of integers")
        name = data["name"]
        if not isinstance(name, str) or not name:
            raise PlanError("addressing plan: name must be a non-empty string")
        return cls(
            name=name,
            nn_min=_int_field(data, "nn_min"),
            nn_max=_int_field(data, "nn_max"),
            router_network=_v4_network_field(data, "router_network"),
            router_split=_int_field(data, "router_split"),
            router_slots=tuple(_int_value("router_slots", slot) for slot in slots),
            wds_network=_v4_network_field(data, "wds_network"),
            lan_network=_v4_network_field(data, "lan_network"),
            lan_prefixlen=_int_field(data, "lan_prefixlen"),
            gateway_offset=_int_field(data, "gateway_offset"),
            dhcp_first_offset=_int_field(data, "dhcp_first_offset"),
            dhcp_last_offset=_int_field(data, "dhcp_last_offset"),
        )

    @classmethod
    def from_json(cls, text: str) -> AddressingPlan:
        """Build a plan from a JSON object (see `to_dict` for the keys)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(f"addressing plan: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise PlanError("addressing plan: expected a JSON object")
        return cls.from_dict(data)


def _int_value(key: str, value: Any) -> int:
    """`value` as an int, refusing bools and floats (a plan is exact)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(f"addressing plan: {key} must be an integer, got {value!r}")
    return value


def _int_field(data: Mapping[str, Any], key: str) -> int:
    """The integer at `data[key]`."""
    return _int_value(key, data[key])


def _v4_network_field(data: Mapping[str, Any], key: str) -> IPv4Network:
    """The IPv4 network at `data[key]` (strict: host bits must be zero)."""
    value = data[key]
    try:
        network = ip_network(value)
    except (TypeError, ValueError) as exc:
        raise PlanError(f"addressing plan: {key}={value!r} is not a network ({exc})") from exc
    if not isinstance(network, IPv4Network):
        raise PlanError(f"addressing plan: {key}={value!r} must be IPv4")
    return network


def _check_plan(plan: AddressingPlan) -> None:
    """Raise PlanError unless every NN in range gets addresses that fit and never collide."""
    if not 0 <= plan.nn_min <= plan.nn_max:
        raise PlanError(
            f"addressing plan: need 0 <= nn_min <= nn_max, got {plan.nn_min}..{plan.nn_max}"
        )
    for key in ("router_network", "wds_network", "lan_network"):
        if not isinstance(getattr(plan, key), IPv4Network):
            raise PlanError(f"addressing plan: {key} must be an IPv4Network")
    split, slots = plan.router_split, plan.router_slots
    if not 1 <= split <= 256:
        raise PlanError(f"addressing plan: router_split must be in 1..256, got {split}")
    # Slots must leave room for every NN % split in the first one, and be `split` apart so
    # that a last octet decodes to exactly one (slot, NN) pair.
    if not slots or slots[0] < 0 or slots[0] + split - 1 > 255:
        raise PlanError(f"addressing plan: router_slots {slots} must start in 0..{256 - split}")
    if any(b - a < split for a, b in pairwise(slots)) or slots[-1] > 255:
        raise PlanError(
            f"addressing plan: router_slots {slots} must rise by >= router_split ({split}) "
            "and stay <= 255"
        )
    groups = plan.nn_max // split + 1
    for key in ("router_network", "wds_network"):
        network: IPv4Network = getattr(plan, key)
        if groups * 256 > network.num_addresses:
            raise PlanError(
                f"addressing plan: {key} {network} is too small for NN up to {plan.nn_max}"
            )
    if not plan.lan_network.prefixlen <= plan.lan_prefixlen <= 30:
        raise PlanError(
            f"addressing plan: lan_prefixlen {plan.lan_prefixlen} must be in "
            f"{plan.lan_network.prefixlen}..30"
        )
    if (plan.nn_max + 1) * plan.lan_block > plan.lan_network.num_addresses:
        raise PlanError(
            f"addressing plan: lan_network {plan.lan_network} is too small for NN up to "
            f"{plan.nn_max} in /{plan.lan_prefixlen} blocks"
        )
    # Offsets stay off the block's network and broadcast addresses, and the gateway is not
    # in the pool, so every LAN offset has exactly one role.
    last = plan.lan_block - 2
    first, final = plan.dhcp_first_offset, plan.dhcp_last_offset
    if not 1 <= plan.gateway_offset <= last or not 1 <= first <= final <= last:
        raise PlanError(
            f"addressing plan: gateway and DHCP offsets must lie in 1..{last} with "
            f"dhcp_first <= dhcp_last, got {plan.gateway_offset}, {first}..{final}"
        )
    if first <= plan.gateway_offset <= final:
        raise PlanError("addressing plan: the gateway offset must not be in the DHCP pool")
    nets = (plan.router_network, plan.wds_network, plan.lan_network)
    if any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :]):
        raise PlanError("addressing plan: router, WDS and LAN networks must not overlap")


NYC = AddressingPlan(
    name="nycmesh",
    nn_min=1,
    nn_max=8000,
    router_network=IPv4Network("10.69.0.0/16"),
    router_split=100,
    router_slots=(0, 100, 200),
    wds_network=IPv4Network("10.68.0.0/16"),
    # 64 * 8192 addresses = a /13: NN 0..8191 fit, NN 8000's LAN is 10.103.208.0/26.
    lan_network=IPv4Network("10.96.0.0/13"),
    lan_prefixlen=26,
    gateway_offset=1,
    dhcp_first_offset=6,
    dhcp_last_offset=57,
)


@dataclass(frozen=True, slots=True)
class NodeAddresses:
    """Every address the plan derives from one network number."""

    network_number: int
    router: IPv4Address
    routers: tuple[IPv4Address, ...]
    wds: IPv4Address
    lan: IPv4Network
    gateway: IPv4Address
    dhcp_first: IPv4Address
    dhcp_last: IPv4Address

    def to_dict(self) -> dict[str, Any]:
        """The addresses as strings, in the shape the API serves."""
        return {
            "network_number": self.network_number,
            "router": str(self.router),
            "routers": [str(router) for router in self.routers],
            "wds": str(self.wds),
            "lan": {
                "network": str(self.lan),
                "gateway": str(self.gateway),
                "dhcp_first": str(self.dhcp_first),
                "dhcp_last": str(self.dhcp_last),
            },
        }


@dataclass(frozen=True, slots=True)
class AddressRole:
    """What an address is in the plan: whose (NN) and which role; `index` numbers the routers."""

    network_number: int
    role: Role
    index: int = 0


def check_nn(nn: int, plan: AddressingPlan = NYC) -> int:
    """Return `nn` if it is an integer in the plan's range, else raise InvalidNetworkNumber."""
    if isinstance(nn, bool) or not isinstance(nn, int):
        raise InvalidNetworkNumber(f"network_number must be an integer, got {nn!r}")
    if not plan.nn_min <= nn <= plan.nn_max:
        raise InvalidNetworkNumber(
            f"network_number {nn} is outside {plan.nn_min}..{plan.nn_max} "
            f"(the {plan.name} plan's range)"
        )
    return nn


def addresses_for(nn: int, plan: AddressingPlan = NYC) -> NodeAddresses:
    """All addresses derived from network number `nn` under `plan`."""
    check_nn(nn, plan)
    group, low = divmod(nn, plan.router_split)
    router_base = int(plan.router_network.network_address) + 256 * group
    # A slot exists only while the last octet stays <= 255 (the third-router cutoff).
    routers = tuple(
        IPv4Address(router_base + slot + low) for slot in plan.router_slots if slot + low <= 255
    )
    wds = IPv4Address(int(plan.wds_network.network_address) + 256 * group + low)
    lan_base = int(plan.lan_network.network_address) + nn * plan.lan_block
    return NodeAddresses(
        network_number=nn,
        router=routers[0],
        routers=routers,
        wds=wds,
        lan=IPv4Network((lan_base, plan.lan_prefixlen)),
        gateway=IPv4Address(lan_base + plan.gateway_offset),
        dhcp_first=IPv4Address(lan_base + plan.dhcp_first_offset),
        dhcp_last=IPv4Address(lan_base + plan.dhcp_last_offset),
    )


def _parse_address(ip: str | IPv4Address | IPv6Address) -> IPv4Address | IPv6Address:
    """`ip` as an address object, or NotAnAddress."""
    if isinstance(ip, IPv4Address | IPv6Address):
        return ip
    if not isinstance(ip, str):
        raise NotAnAddress(f"ip must be an IP address string, got {ip!r}")
    try:
        return ip_address(ip)
    except ValueError as exc:
        raise NotAnAddress(f"ip {ip!r} is not an IP address") from exc


def _in_range(nn: int, plan: AddressingPlan) -> bool:
    """Whether `nn` is one of the plan's network numbers."""
    return plan.nn_min <= nn <= plan.nn_max


def lookup(ip: str | IPv4Address | IPv6Address, plan: AddressingPlan = NYC) -> AddressRole | None:
    """The NN and role of an address the plan derives, or None for any other address."""
    address = _parse_address(ip)
    if not isinstance(address, IPv4Address):
        return None
    value = int(address)
    if address in plan.router_network:
        group, octet = divmod(value - int(plan.router_network.network_address), 256)
        # The largest slot <= octet is the only candidate: slots are >= router_split apart.
        for index in range(len(plan.router_slots) - 1, -1, -1):
            low = octet - plan.router_slots[index]
            if low >= 0:
                nn = group * plan.router_split + low
                if low < plan.router_split and _in_range(nn, plan):
                    return AddressRole(nn, "router", index)
                return None
        return None
    if address in plan.wds_network:
        group, low = divmod(value - int(plan.wds_network.network_address), 256)
        nn = group * plan.router_split + low
        if low < plan.router_split and _in_range(nn, plan):
            return AddressRole(nn, "wds")
        return None
    if address in plan.lan_network:
        nn, offset = divmod(value - int(plan.lan_network.network_address), plan.lan_block)
        if not _in_range(nn, plan):
            return None
        if offset == plan.gateway_offset:
            return AddressRole(nn, "gateway")
        if plan.dhcp_first_offset <= offset <= plan.dhcp_last_offset:
            return AddressRole(nn, "dhcp")
        return AddressRole(nn, "lan")
    return None
