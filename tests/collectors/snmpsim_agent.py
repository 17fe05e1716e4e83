"""A real SNMP agent for tests and benchmarks: snmpsim-command-responder on loopback UDP ports."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

HERE = Path(__file__).resolve().parent
RECORDINGS = HERE / "snmprec"


@dataclass(frozen=True)
class V3User:
    """One SNMPv3 USM user the agent accepts (authPriv)."""

    user: str
    auth_key: str
    priv_key: str
    auth_proto: str = "SHA"
    priv_proto: str = "AES"


# snmpsim drops to 'nobody' before it indexes the data files, and this interpreter's standard
# library may live where 'nobody' cannot read (e.g. under /root): import what it loads lazily
# (the dbm backend) while still privileged, then hand over to its entry point.
_LAUNCHER = (
    "import dbm, dbm.dumb, encodings.latin_1, encodings.ascii, encodings.utf_8, sys; "
    "from snmpsim.commands.responder import main; "
    "sys.argv[0] = 'snmpsim-command-responder'; "
    "sys.exit(main())"
)


def responder_command() -> list[str]:
    """argv prefix that runs snmpsim-command-responder with this interpreter."""
    return [sys.executable, "-c", _LAUNCHER]


def free_udp_port(addresses: Iterable[str]) -> int:
    """A UDP port that is free on every given loopback address right now."""
    addresses = list(addresses)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((addresses[0], 0))
            port = probe.getsockname()[1]
        taken = False
        for address in addresses[1:]:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                try:
                    other.bind((address, port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return port
    raise RuntimeError("no UDP port free on all of " + ", ".join(addresses))


def v2c_get_packet(community: str, oid: str = "1.3.6.1.2.1.1.3.0", request_id: int = 1) -> bytes:
    """Encode one SNMPv2c GET (used to probe readiness without the collector under test)."""
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = proto.GetRequestPDU()
    proto.apiPDU.set_defaults(pdu)
    proto.apiPDU.set_request_id(pdu, request_id)
    proto.apiPDU.set_varbinds(pdu, [(proto.ObjectIdentifier(oid), proto.Null(""))])
    message = proto.Message()
    proto.apiMessage.set_defaults(message)
    proto.apiMessage.set_community(message, community)
    proto.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def v2c_answers(address: str, port: int, community: str, timeout: float = 0.5) -> bool:
    """True when an SNMPv2c GET to address:port gets any well-formed reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(v2c_get_packet(community), (address, port))
        try:
            data, _ = sock.recvfrom(65535)
        except (TimeoutError, OSError):
            return False
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    message, _ = decoder.decode(data, asn1Spec=proto.Message())
    return proto.apiMessage.get_community(message).asOctets() == community.encode()


class SnmpsimAgent:
    """snmpsim-command-responder serving recordings (community = file stem) on loopback."""

    def __init__(
        self,
        recordings: Mapping[str, Path],
        *,
        addresses: Iterable[str] = ("127.0.0.1",),
        v3_users: Iterable[V3User] = (),
        max_var_binds: int = 64,
        startup_timeout: float = 60.0,
        workdir: Path | None = None,
    ) -> None:
        if not recordings:
            raise ValueError("snmpsim needs at least one recording")
        self.recordings = dict(recordings)
        self.addresses = tuple(addresses)
        self.v3_users = tuple(v3_users)
        self.max_var_binds = max_var_binds
        self.startup_timeout = startup_timeout
        self.port = 0
        self._workdir = workdir
        self._own_workdir = workdir is None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """(address, port) pairs the agent listens on."""
        return [(address, self.port) for address in self.addresses]

    @property
    def communities(self) -> list[str]:
        """Every community (= recording name) the agent serves."""
        return sorted(self.recordings)

    def _prepare_dirs(self) -> tuple[Path, Path]:
        # Not under pytest's tmp_path: that tree is mode 0700 and snmpsim drops to 'nobody'
        # before it reads the data files and writes its indices.
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="meshkeeper-snmpsim-"))
        data = self._workdir / "data"
        cache = self._workdir / "cache"
        data.mkdir(parents=True, exist_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        for community, source in self.recordings.items():
            target = data / f"{community}.snmprec"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                # Copies, not symlinks: snmpsim names a symlinked file after its target.
                shutil.copyfile(source, target)
        for path in (self._workdir, data, cache):
            path.chmod(0o777 if path == cache else 0o755)
        for path in data.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return data, cache

    def _command(self, data: Path, cache: Path) -> list[str]:
        cmd = [*responder_command(), f"--cache-dir={cache}", "--log-level=error"]
        cmd.append(f"--max-var-binds={self.max_var_binds}")
        if os.geteuid() == 0:
            cmd += ["--process-user=nobody", "--process-group=nogroup"]
        cmd.append(f"--data-dir={data}")
        for user in self.v3_users:
            cmd += [
                f"--v3-user={user.user}",
                f"--v3-auth-key={user.auth_key}",
                f"--v3-auth-proto={user.auth_proto}",
                f"--v3-priv-key={user.priv_key}",
                f"--v3-priv-proto={user.priv_proto}",
            ]
        for address in self.addresses:
            cmd.append(f"--agent-udpv4-endpoint={address}:{self.port}")
        return cmd

    def start(self) -> SnmpsimAgent:
        """Start the responder and wait until every endpoint answers a GET."""
        data, cache = self._prepare_dirs()
        self.port = free_udp_port(self.addresses)
        assert self._workdir is not None
        self._log = self._workdir / "snmpsim.log"
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                self._command(data, cache),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        # A "community/transport-id" key is one community served on one endpoint only.
        community = self.communities[0].split("/")[0]
        deadline = time.monotonic() + self.startup_timeout
        pending = list(self.addresses)
        while pending:
            if self._proc.poll() is not None:
                raise RuntimeError(f"snmpsim exited early:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("snmpsim did not answer within the startup timeout")
            if v2c_answers(pending[0], self.port, community, timeout=0.2):
                pending.pop(0)
        return self

    def log_text(self) -> str:
        """What the responder printed (for failure messages)."""
        if self._log is None or not self._log.exists():
            return ""
        return self._log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the responder this object started and remove its private directories."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> SnmpsimAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class CommunityRelay:
    """Many devices behind one community: each loopback address relays to one snmpsim community.

    snmpsim chooses its data file by community (its per-endpoint layout does not work for
    v2c in this version), while a network has one community and many addresses. The relay
    listens on each address at one port and forwards every v2c request to the agent with the
    community swapped for that address's recording, and the answer back with it swapped back:
    the agent's answers pass through otherwise untouched.
    """

    def __init__(self, agent: SnmpsimAgent, community: str, routes: Mapping[str, str]) -> None:
        self.agent = agent
        self.community = community
        self.routes = dict(routes)  # address -> the agent's community for it
        self.port = free_udp_port(self.routes)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _swap(self, data: bytes, community: str) -> bytes:
        proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
        message, _ = decoder.decode(data, asn1Spec=proto.Message())
        proto.apiMessage.set_community(message, community)
        return encoder.encode(message)

    def _serve(self, address: str, target: str) -> None:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as front,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as back,
        ):
            front.bind((address, self.port))
            back.connect((self.agent.addresses[0], self.agent.port))
            client = None
            while not self._stop.is_set():
                ready, _, _ = select.select([front, back], [], [], 0.1)
                for sock in ready:
                    data, source = sock.recvfrom(65535)
                    if sock is front:
                        client = source
                        back.send(self._swap(data, target))
                    elif client is not None:
                        front.sendto(self._swap(data, self.community), client)

    def __enter__(self) -> CommunityRelay:
        for address, target in self.routes.items():
            thread = threading.Thread(target=self._serve, args=(address, target), daemon=True)
            thread.start()
            self._threads.append(thread)
        for address in self.routes:
            deadline = time.monotonic() + 10
            while not v2c_answers(address, self.port, self.community, timeout=0.2):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"relay on {address} does not answer")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


def own_recordings() -> dict[str, Path]:
    """The project's own small recordings, keyed by community."""
    return {path.stem: path for path in sorted(RECORDINGS.glob("*.snmprec"))}
