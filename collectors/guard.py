"""Where probes may go: the one check below every collector (MESHKEEPER_PROBE_NETWORKS)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_ALLOWED = "not allowed"


@dataclass(frozen=True)
class ProbeGuard:
    """The networks a collector may send packets to; empty means nowhere."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> ProbeGuard:
        """Build a guard from CIDR strings such as '127.0.0.0/8'."""
        return cls(tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()))

    def allows(self, address: str | IPAddress) -> bool:
        """True when a packet may be sent to this address."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == net.version and ip in net for net in self.networks)

    def split(self, addresses: Iterable[str]) -> tuple[list[str], list[str]]:
        """Partition addresses into (allowed, refused), keeping their order."""
        allowed: list[str] = []
        refused: list[str] = []
        for address in addresses:
            (allowed if self.allows(address) else refused).append(address)
        return allowed, refused


async def refusal(host: str, guard: ProbeGuard) -> str | None:
    """None when every address `host` resolves to may be reached, else why it may not."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        addresses = sorted({str(info[4][0]) for info in infos})
    # Every address the name resolves to must pass: a client may connect to any of them.
    _, refused = guard.split(addresses)
    if refused or not addresses:
        shown = host if refused == [host] else f"{host} ({', '.join(refused) or 'no address'})"
        return f"{shown} is {NOT_ALLOWED} by the probe guard"
    return None
