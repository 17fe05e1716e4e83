"""Pure rules of sharing: which pollers may poll a target, and which one of them does.

Like LibreNMS's distributed pollers, a target assigned to a poller group is polled only by
that group's pollers (a poller inside a segment the others cannot reach), and a poller may be
limited to networks. Among the pollers that may, one owns the target by rendezvous hashing
(highest random weight, Thaler and Ravishankar 1998): every poller computes the same owner
from the same list, each takes about 1/N, and when one joins or leaves only its own share
moves. The key is the target's node, so one node's devices stay together and one daemon
judges the node from all of them.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PollerSpec:
    """A poller as sharing sees it: its name, group (None: the default) and networks."""

    name: str
    group: str | None = None
    networks: tuple[str, ...] = ()

    def may_poll(self, group: str | None, address: str | None) -> bool:
        """Same group as the target, and the address inside its networks when it has any."""
        if group != self.group:
            return False
        if not self.networks:
            return True
        if address is None:
            return False
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(net, strict=False) for net in self.networks)


def weight(key: str, poller: str) -> int:
    """The rendezvous weight of a (target key, poller) pair: a stable 64-bit hash."""
    digest = hashlib.blake2b(f"{key}\x00{poller}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, names: Iterable[str]) -> str | None:
    """The poller that owns a key among these, or None when there is none."""
    return max(names, key=lambda name: weight(key, name), default=None)


def owner_of(
    key: str, group: str | None, address: str | None, pollers: Sequence[PollerSpec]
) -> str | None:
    """The owner among the pollers allowed to poll this target."""
    return owner(key, (p.name for p in pollers if p.may_poll(group, address)))
