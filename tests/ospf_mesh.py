"""A real OSPF mesh in network namespaces: BIRD 2 and FRR routers joined by veths, for tests.

Only 198.18.0.0/15 addresses go on interfaces (RFC 2544's benchmarking range); router ids are
10.69.x.y (OSPF ids are just ids) and each router's LAN /26 is a blackhole static route
announced into OSPF, never an address, so nothing here can reach a real 10.x network.
Hello 1 s, dead 4 s: the mesh converges in seconds.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FRR_DIR = Path("/usr/lib/frr")


def need_bird() -> None:
    """Skip unless BIRD and root (namespaces) are here."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("bird") is None or shutil.which("birdc") is None:
        pytest.skip("BIRD (bird, birdc; Debian bird2) is not installed")


def need_frr() -> None:
    """Skip unless FRR's ospfd, zebra, staticd and vtysh are here."""
    need_bird()
    missing = [d for d in ("zebra", "ospfd", "staticd") if not (FRR_DIR / d).exists()]
    if shutil.which("vtysh") is None or missing:
        pytest.skip(f"FRR (Debian frr) is not installed: {', '.join(missing) or 'vtysh'}")


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


@dataclass
class Router:
    """One router in its namespace."""

    name: str
    namespace: str
    router_id: str
    lans: list[str]
    kind: str  # "bird" or "frr"
    workdir: Path
    interfaces: dict[str, int] = field(default_factory=dict)  # interface -> cost

    @property
    def socket(self) -> Path:
        """BIRD's control socket, or FRR's vty socket directory."""
        return self.workdir / "bird.ctl" if self.kind == "bird" else self.workdir

    def bird_config(self) -> str:
        """BIRD 2: static LAN routes exported into OSPF, nothing into the kernel."""
        routes = "".join(f"  route {lan} blackhole;\n" for lan in self.lans)
        ifaces = "".join(
            f'    interface "{name}" {{ type ptp; hello 1; dead 4; cost {cost}; }};\n'
            for name, cost in self.interfaces.items()
        )
        static = f"protocol static lan {{\n  ipv4;\n{routes}}}\n" if routes else ""
        return (
            f"router id {self.router_id};\nprotocol device {{ scan time 1; }}\n{static}"
            "protocol ospf v2 mesh {\n  ipv4 { import none; export where source = RTS_STATIC; };\n"
            f"  area 0 {{\n{ifaces}  }};\n}}\n"
        )

    def frr_config(self, addresses: dict[str, str]) -> str:
        """FRR: the same, with staticd's blackhole routes redistributed."""
        lines = [f"hostname {self.name}", "router ospf", f" ospf router-id {self.router_id}"]
        lines += [" redistribute static"]
        lines += [f" network {addresses[i]} area 0" for i in self.interfaces]
        lines += ["!"]
        for name, cost in self.interfaces.items():
            lines += [f"interface {name}", " ip ospf network point-to-point"]
            lines += [" ip ospf hello-interval 1", " ip ospf dead-interval 4"]
            lines += [f" ip ospf cost {cost}", "!"]
        lines += [f"ip route {lan} blackhole" for lan in self.lans]
        return "\n".join(lines) + "\n"

    def reannounce(self, lans: list[str]) -> None:
        """Change the LANs a BIRD router announces, live (`birdc configure`)."""
        self.lans = lans
        (self.workdir / "bird.conf").write_text(self.bird_config())
        _run("birdc", "-s", str(self.socket), "configure")


def drop_stale_namespaces() -> None:
    """Delete namespaces an earlier, killed test run left behind (its pid is gone)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    for line in listing.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        pid = name[3:].split("-")[0] if name.startswith("mko") else ""
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


class Mesh:
    """Routers in namespaces and the veths between them; `close` removes everything."""

    def __init__(self) -> None:
        drop_stale_namespaces()
        self.tag = f"mko{os.getpid()}"
        self.root = Path(tempfile.mkdtemp(prefix="meshkeeper-ospf-"))
        self.root.chmod(0o755)
        self.routers: dict[str, Router] = {}
        self.links: list[tuple[str, str, str, str]] = []  # (a, b, a's interface, b's)
        self.addresses: dict[str, dict[str, str]] = {}

    def router(self, name: str, router_id: str, lans: list[str], kind: str = "bird") -> Router:
        """A namespace for one router (started by `start`)."""
        namespace = f"{self.tag}-{name}"
        workdir = self.root / name
        workdir.mkdir()
        _run("ip", "netns", "add", namespace)
        _run("ip", "-n", namespace, "link", "set", "lo", "up")
        router = Router(name, namespace, router_id, lans, kind, workdir)
        self.routers[name] = router
        self.addresses[name] = {}
        return router

    def link(self, a: str, b: str, cost_ab: int = 10, cost_ba: int = 10) -> None:
        """A veth between two routers' namespaces, a 198.18.x.y/30 on each end."""
        index = len(self.links)
        ra, rb = self.routers[a], self.routers[b]
        ia, ib = f"v{a}{b}", f"v{b}{a}"
        _run(
            "ip", "link", "add", ia, "netns", ra.namespace, "type", "veth",
            "peer", "name", ib, "netns", rb.namespace,
        )  # fmt: skip
        base = f"198.18.{index}"
        for router, iface, host in ((ra, ia, 1), (rb, ib, 2)):
            _run("ip", "-n", router.namespace, "addr", "add", f"{base}.{host}/30", "dev", iface)
            _run("ip", "-n", router.namespace, "link", "set", iface, "up")
            self.addresses[router.name][iface] = f"{base}.0/30"
        ra.interfaces[ia], rb.interfaces[ib] = cost_ab, cost_ba
        self.links.append((a, b, ia, ib))

    def cut(self, a: str, b: str) -> None:
        """Delete the veth between two routers (both ends go down at once)."""
        for x, y, ia, _ in self.links:
            if {x, y} == {a, b}:
                owner = self.routers[x]
                _run("ip", "-n", owner.namespace, "link", "del", ia)
                return
        raise KeyError((a, b))

    def start(self) -> None:
        """Start every router's daemons."""
        for router in self.routers.values():
            if router.kind == "bird":
                (router.workdir / "bird.conf").write_text(router.bird_config())
                _run(
                    "ip", "netns", "exec", router.namespace, "bird",
                    "-c", str(router.workdir / "bird.conf"), "-s", str(router.socket),
                    "-P", str(router.workdir / "bird.pid"),
                )  # fmt: skip
            else:
                self._start_frr(router)

    def _start_frr(self, router: Router) -> None:
        work = router.workdir
        (work / "frr.conf").write_text(router.frr_config(self.addresses[router.name]))
        frr = pwd.getpwnam("frr")
        for path in (work, work / "frr.conf"):
            os.chown(path, frr.pw_uid, frr.pw_gid)
        for daemon in ("zebra", "staticd", "ospfd"):
            _run(
                "ip", "netns", "exec", router.namespace, str(FRR_DIR / daemon), "-d",
                "-f", str(work / "frr.conf"), "-i", str(work / f"{daemon}.pid"),
                "-z", str(work / "zserv.api"), "--vty_socket", str(work),
                "-A", "127.0.0.1", "-P", "0",
            )  # fmt: skip

    def close(self) -> None:
        """Stop every daemon by its pid file and delete the namespaces, whatever happened."""
        for router in self.routers.values():
            for pidfile in router.workdir.glob("*.pid"):
                with suppress(ValueError, OSError):
                    os.kill(int(pidfile.read_text().split()[0]), 15)
        time.sleep(0.2)
        for router in self.routers.values():
            with suppress(subprocess.CalledProcessError):
                _run("ip", "netns", "del", router.namespace)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def ospf_mesh() -> Iterator[Mesh]:
    """A Mesh that is always taken down."""
    mesh = Mesh()
    try:
        yield mesh
    finally:
        mesh.close()


def wait_for(check: Callable[[], bool], timeout: float = 40.0, what: str = "the mesh") -> None:
    """Poll `check` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(Exception):
            if check():
                return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not converge in {timeout:g} s")
