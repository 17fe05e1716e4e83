"""Records, event checks, silent loopback hosts and `meshkeeper` subprocesses for daemon tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import DeviceStatus, LinkStatus, NodeStatus
from tests.nft import drop_stale_tables, nft

REPO = Path(__file__).resolve().parents[2]
MESHKEEPER = REPO / ".venv" / "bin" / "meshkeeper"
NFT_PREFIX = "meshkeeper_daemon_test_"
# One silent /24 per test process (echo requests to it are dropped on input), apart from the
# 127.254.0.0/24 the collector tests use, so two suites running at once never meet.
SILENT_NET = f"127.254.{1 + os.getpid() % 250}.0/24"
SILENT_BASE = SILENT_NET.rsplit(".", 1)[0]


# --- records ---


def add_node(
    session: Session, nn: int | None, status: str = NodeStatus.ACTIVE, name: str | None = None
) -> m.Node:
    """A node, flushed."""
    node = m.Node(network_number=nn, status=status, name=name or f"node {nn}")
    session.add(node)
    session.flush()
    return node


def add_device(
    session: Session,
    node: m.Node,
    name: str,
    address: str | None = None,
    status: str = DeviceStatus.ACTIVE,
) -> m.Device:
    """A plain device on a node, flushed."""
    device = m.Device(node_id=node.id, name=name, management_address=address, status=status)
    session.add(device)
    session.flush()
    return device


def add_link(session: Session, a: m.Device, b: m.Device) -> m.Link:
    """An Active link between two devices, flushed."""
    link = m.Link(from_device_id=a.id, to_device_id=b.id, status=LinkStatus.ACTIVE)
    session.add(link)
    session.flush()
    return link


# --- events ---


def event_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every event, in id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, type, subject_id, data FROM event ORDER BY id")
        ).mappings()
        return [dict(r) for r in rows]


def event_counts(engine: Engine) -> Counter[str]:
    """How many events of each type."""
    return Counter(e["type"] for e in event_rows(engine))


def check_transitions(events: list[dict[str, Any]]) -> None:
    """Status events form one unbroken chain per subject: no repeat, no gap, no invention."""
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)), ids
    last: dict[tuple[str, str], str] = {}
    for event in events:
        if not event["type"].endswith(".status_changed"):
            continue
        key = (event["type"], event["subject_id"])
        data = event["data"]
        assert data["from"] != data["to"], event
        if key in last:
            assert data["from"] == last[key], (f"{key} repeated or skipped a transition", events)
        last[key] = data["to"]


def collector_state(engine: Engine, name: str) -> dict[str, Any] | None:
    """The collector_state row of one collector."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM collector_state WHERE name = :n"), {"n": name}
        ).mappings()
        found = row.first()
        return dict(found) if found else None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    """Poll until predicate() is truthy (and return it), failing after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# --- silent hosts and a tripwire, with nftables ---


@contextmanager
def nft_table(tripwire: list[str]) -> Iterator[str]:
    """Echo requests to SILENT_NET dropped; packets to `tripwire` counted and dropped."""
    if shutil.which("nft") is None or os.geteuid() != 0:
        pytest.skip("needs root and nft (apt-get install nftables) for silent hosts")
    drop_stale_tables(NFT_PREFIX)
    name = f"{NFT_PREFIX}{os.getpid()}"
    wire = ", ".join(tripwire) or "192.0.2.1"
    ruleset = f"""
table ip {name} {{
    chain input {{
        type filter hook input priority 0; policy accept;
        ip daddr {SILENT_NET} icmp type echo-request drop
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        ip daddr {{ {wire} }} counter drop
    }}
}}
"""
    made = nft("-f", "-", stdin=ruleset)
    if made.returncode != 0:
        pytest.skip(f"nftables refused our table here: {made.stderr.strip()}")
    try:
        yield name
    finally:
        nft("delete", "table", "ip", name)


def tripwire_packets(table: str) -> int:
    """Packets the table's output chain counted (and dropped) towards the tripwire."""
    listing = nft("list", "chain", "ip", table, "output").stdout
    match = re.search(r"counter packets (\d+)", listing)
    assert match, listing
    return int(match.group(1))


# --- `meshkeeper` as a real process ---


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def meshkeeper_env(database_url: str, data_dir: Path, **settings: Any) -> dict[str, str]:
    """The environment of a `meshkeeper` process on the test database, probing loopback only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHKEEPER_")}
    env.update(
        {
            "MESHKEEPER_DATABASE_URL": database_url,
            "MESHKEEPER_DATA_DIR": str(data_dir),
            "MESHKEEPER_PROBE_NETWORKS": "127.0.0.0/8",
            "MESHKEEPER_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"MESHKEEPER_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class Process:
    """A `meshkeeper` subprocess whose log goes to a file, killed at exit whatever happens."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log_path = log
        self._log = log.open("ab")
        command = [str(MESHKEEPER)] if MESHKEEPER.exists() else [sys.executable, "-m", "cli.main"]
        # A session of its own: close() takes `run`'s child daemon with it.
        self.proc = subprocess.Popen(
            [*command, *args],
            env=env,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        """Everything the process has written so far."""
        return self.log_path.read_text(errors="replace")

    def wait_log(self, needle: str, timeout: float = 20) -> None:
        """Wait until the log contains needle (or the process ends, which fails the test)."""

        def seen() -> bool:
            if needle in self.log:
                return True
            if self.proc.poll() is not None:
                pytest.fail(f"process exited with {self.proc.returncode}:\n{self.log}")
            return False

        wait_for(seen, timeout, repr(needle))

    def send(self, sig: signal.Signals) -> None:
        """Send one signal to this process (only ever the process we started)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Its exit code, waiting up to timeout seconds."""
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Kill it if it still runs, and close its log."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # and any child it left behind
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log.close()
