"""A real small mesh in network namespaces: a POP and a hub on the host, leaves behind the hub.

    host --veth-- POP ns
    host --veth-- hub ns --veth-- leaf ns (x3)      (the hub forwards; the host routes the
                                                     leaves' /26 through the hub's address)

Addresses come from 198.18.0.0/15 only (RFC 2544's benchmarking block, never routed): one /24
per test process, 198.19.(150 + pid % 100).0/24. Taking the hub's address away cuts the
leaves off for real: the hub answers nothing and forwards nothing back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

BLOCK = f"198.19.{150 + os.getpid() % 100}"
NETWORK = f"{BLOCK}.0/24"
TAG = f"mki{os.getpid() % 100000}"


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip` (inside namespace `ns` when given)."""
    command = ["ip", *(["-n", ns] if ns else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done


def skip_unless_possible() -> None:
    """Skip (with the reason) unless we are root with iproute2."""
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's `ip` for network namespaces")
    if os.geteuid() != 0:
        pytest.skip("needs root to make network namespaces and veth pairs")


@dataclass
class NetnsMesh:
    """The namespaces made, and each device's address by role."""

    pop: str = f"{BLOCK}.2"
    hub: str = f"{BLOCK}.6"
    leaves: tuple[str, ...] = (f"{BLOCK}.66", f"{BLOCK}.70", f"{BLOCK}.74")
    namespaces: list[str] = field(default_factory=list)
    hub_link: str = f"{TAG}h1"  # the hub's interface towards the host

    def take_hub_address(self) -> None:
        """The fault: the hub loses its address (it answers and forwards nothing back)."""
        ip("addr", "del", f"{self.hub}/30", "dev", self.hub_link, ns=self.namespaces[1])

    def restore_hub_address(self) -> None:
        """The repair: the address back, and the hub's way back to the host."""
        ns = self.namespaces[1]
        ip("addr", "add", f"{self.hub}/30", "dev", self.hub_link, ns=ns)
        ip("route", "replace", "default", "via", f"{BLOCK}.5", ns=ns)


def _pair(host_if: str, ns_if: str, ns: str, host_addr: str, ns_addr: str) -> None:
    ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
    ip("addr", "add", host_addr, "dev", host_if)
    ip("link", "set", host_if, "up")
    ip("addr", "add", ns_addr, "dev", ns_if, ns=ns)
    ip("link", "set", ns_if, "up", ns=ns)
    ip("link", "set", "lo", "up", ns=ns)


@contextmanager
def netns_mesh() -> Iterator[NetnsMesh]:
    """Make the namespaces and links; remove every one of them afterwards, whatever happened."""
    skip_unless_possible()
    mesh = NetnsMesh()
    names = [f"{TAG}-pop", f"{TAG}-hub", *(f"{TAG}-leaf{i}" for i in range(3))]
    try:
        for name in names:
            ip("netns", "del", name, check=False)  # a crashed earlier run of this pid
            ip("netns", "add", name)
            mesh.namespaces.append(name)
        pop, hub, *leaves = names
        _pair(f"{TAG}p0", f"{TAG}p1", pop, f"{BLOCK}.1/30", f"{mesh.pop}/30")
        ip("route", "add", "default", "via", f"{BLOCK}.1", ns=pop)
        _pair(f"{TAG}h0", mesh.hub_link, hub, f"{BLOCK}.5/30", f"{mesh.hub}/30")
        ip("route", "add", "default", "via", f"{BLOCK}.5", ns=hub)
        subprocess.run(
            ["ip", "netns", "exec", hub, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            check=True,
            timeout=10,
        )
        for i, (leaf, addr) in enumerate(zip(leaves, mesh.leaves, strict=True)):
            near = f"{BLOCK}.{65 + 4 * i}"
            ip("link", "add", f"{TAG}l{i}a", "netns", hub, "type", "veth", "peer", "name",
               f"{TAG}l{i}b", "netns", leaf)  # fmt: skip
            ip("addr", "add", f"{near}/30", "dev", f"{TAG}l{i}a", ns=hub)
            ip("link", "set", f"{TAG}l{i}a", "up", ns=hub)
            ip("addr", "add", f"{addr}/30", "dev", f"{TAG}l{i}b", ns=leaf)
            ip("link", "set", f"{TAG}l{i}b", "up", ns=leaf)
            ip("link", "set", "lo", "up", ns=leaf)
            ip("route", "add", "default", "via", near, ns=leaf)
        ip("route", "add", f"{BLOCK}.64/26", "via", mesh.hub)
        yield mesh
    finally:
        ip("route", "del", f"{BLOCK}.64/26", check=False)
        for name in mesh.namespaces:
            # Deleting a namespace deletes its veth ends, and with them the host's ends.
            ip("netns", "del", name, check=False)
