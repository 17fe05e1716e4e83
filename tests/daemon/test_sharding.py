"""Several real `meshkeeper daemon` processes sharing the ICMP targets by lease.

Three default daemons take about a third each and never the same target; a fourth in group
"east" alone polls the node assigned to that group; when one daemon is killed its share is
leased by the survivors within an interval plus the heartbeat's staleness; GET
/api/v1/pollers/ lists them all, the dead one not alive.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.pollers.shares import PollerSpec, owner, owner_of
from ipam.records import tokens
from ipam.settings import Settings
from tests.daemon.helpers import Process, add_device, add_node, meshkeeper_env, wait_for

NODES = 30
INTERVAL_S = 6.0  # long beside the heartbeat: a takeover must not wait for a cycle
HEARTBEAT_S = 0.5


@pytest.fixture()
def processes(db) -> Iterator[list[Process]]:
    """`meshkeeper` subprocesses, killed (if still running) before the database is emptied."""
    started: list[Process] = []
    yield started
    for proc in started:
        proc.close()


def seed(sessions) -> dict[str, list[str]]:
    """NODES nodes of two loopback devices each, and node 700 in group "east"."""
    ids: dict[str, list[str]] = {"default": [], "east": []}
    with transaction(sessions) as session:
        for n in range(1, NODES + 1):
            node = add_node(session, 600 + n)
            for d in (1, 2):
                device = add_device(session, node, f"nn{600 + n}-{d}", f"127.0.{60 + d}.{n}")
                ids["default"].append(str(device.id))
        east = add_node(session, 700)
        east.poller_group = "east"
        for d in (1, 2):
            ids["east"].append(str(add_device(session, east, f"nn700-{d}", f"127.0.70.{d}").id))
    return ids


def leases(db) -> dict[str, str]:
    """device id -> the poller holding its live ICMP lease."""
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT device_id, poller FROM poll_lease"
                " WHERE collector = 'icmp' AND until > now()"
            )
        ).all()
    return {str(device): poller for device, poller in rows}


def test_daemons_share_the_targets_by_lease_and_take_over_from_the_dead(
    processes, sessions, db, database_url, tmp_path: Path
):
    ids = seed(sessions)
    every = set(ids["default"]) | set(ids["east"])
    common = {
        "icmp_interval_s": INTERVAL_S,
        "icmp_count": 1,
        "icmp_timeout_s": 0.3,
        "jitter_s": 0.1,
        "poller_heartbeat_s": HEARTBEAT_S,
        "snmp_interval_s": 0,
        "webhook_interval_s": 0,
    }
    names = ["alpha", "bravo", "charlie"]
    for name in names:
        env = meshkeeper_env(database_url, tmp_path, poller_name=name, **common)
        processes.append(Process(["daemon"], env, tmp_path / f"{name}.log"))
    env = meshkeeper_env(
        database_url, tmp_path, poller_name="east-1", poller_group="east", **common
    )
    processes.append(Process(["daemon"], env, tmp_path / "east-1.log"))
    for proc in processes:
        proc.wait_log("daemon running", timeout=60)

    # Every target leased, once (the table's key), to the poller the shares name.
    held = wait_for(lambda: (found := leases(db)).keys() == every and found, 30, "all leased")
    time.sleep(2 * INTERVAL_S)  # a few cycles with everyone up: shares settle
    held = leases(db)
    assert held.keys() == every
    assert {held[d] for d in ids["east"]} == {"east-1"}
    assert "east-1" not in {held[d] for d in ids["default"]}
    per_poller = Counter(held[d] for d in ids["default"])
    assert set(per_poller) == set(names), per_poller
    # About a third each (nodes of two devices; rendezvous hashing is not exact).
    assert all(2 * 3 <= count <= 2 * 18 for count in per_poller.values()), per_poller
    with db.connect() as conn:
        cycles = dict(conn.execute(text("SELECT name, last_cycle_targets FROM poller")).all())
    # Each poller's last cycle polled its own share: the shares add up to every target.
    assert sum(cycles.values()) == len(every), cycles

    # bravo dies (SIGKILL: no goodbye); its share goes to the two survivors.
    bravo = processes[1]
    bravo.send(signal.SIGKILL)
    bravo.wait(timeout=10)
    killed_at = time.monotonic()
    orphans = {d for d, p in held.items() if p == "bravo"}

    def taken_over() -> bool:
        now = leases(db)
        return all(now.get(d) in ("alpha", "charlie") for d in orphans)

    wait_for(taken_over, 2 * INTERVAL_S, "the survivors to take over")
    took = time.monotonic() - killed_at
    # Stale after 2.5 heartbeats; the survivors' next beat polls the orphans at once, not
    # at their next cycle: within one interval of the death, whatever its phase.
    assert took < INTERVAL_S, took
    for survivor in (processes[0], processes[2]):
        survivor.wait_log("stopped beating: taking over their share", timeout=5)
    after = leases(db)
    assert after.keys() == every and set(after.values()) == {"alpha", "charlie", "east-1"}

    # The pollers as the API lists them.
    with transaction(sessions) as session:
        secret = tokens.create_token(session, "pollers-reader", TokenRole.READ_ONLY)
    settings = Settings(data_dir=tmp_path, poller_heartbeat_s=HEARTBEAT_S)
    with TestClient(create_app(settings, db)) as client:
        body = client.get("/api/v1/pollers/", headers={"Authorization": f"Bearer {secret}"}).json()
    listed = {p["name"]: p for p in body["results"]}
    assert set(listed) == {*names, "east-1"}
    assert not listed["bravo"]["alive"] and listed["bravo"]["holds"] == 0
    assert listed["east-1"]["poller_group"] == "east" and listed["east-1"]["holds"] == 2
    assert listed["alpha"]["alive"] and listed["alpha"]["last_cycle_at"] is not None
    assert listed["alpha"]["holds"] + listed["charlie"]["holds"] == 2 * NODES


def test_shares_are_disjoint_and_stable_when_a_poller_joins():
    keys = [f"node-{i}" for i in range(3000)]
    two = Counter(owner(k, ["a", "b"]) for k in keys)
    assert abs(two["a"] - two["b"]) < 300
    three = {k: owner(k, ["a", "b", "c"]) for k in keys}
    # Only what the newcomer takes moves; nothing moves between the old two.
    moved = [k for k in keys if three[k] != owner(k, ["a", "b"])]
    assert all(three[k] == "c" for k in moved)
    assert 800 < len(moved) < 1200


def test_groups_and_networks_limit_who_may_poll():
    pollers = [
        PollerSpec("core"),
        PollerSpec("east", group="east"),
        PollerSpec("lab", networks=("10.96.0.0/16",)),
    ]
    assert owner_of("k", "east", "10.96.1.1", pollers) == "east"
    assert owner_of("k", "west", "10.96.1.1", pollers) is None  # a group with no poller
    assert owner_of("k", None, "10.69.1.1", pollers) == "core"  # outside lab's networks
    assert {owner_of(f"k{i}", None, "10.96.1.1", pollers) for i in range(50)} == {"core", "lab"}
