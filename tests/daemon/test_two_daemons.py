"""Two daemons on one database: each cycle runs once, and a survivor takes over from the dead."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from daemon.scheduler import Daemon, job_lock_key
from ipam.db import make_engine, transaction
from tests.daemon.helpers import (
    Process,
    add_device,
    add_node,
    check_transitions,
    collector_state,
    event_rows,
    meshkeeper_env,
    wait_for,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = 60.0


class Clock:
    """One fake clock both daemons read (they share a wall clock in real life too)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Gate:
    """A job that counts its runs; while closed, a run waits in it."""

    def __init__(self) -> None:
        self.runs = 0
        self.inside = asyncio.Event()
        self.open = asyncio.Event()
        self.open.set()

    async def __call__(self, sessions: Any, settings: Any) -> None:
        self.runs += 1
        self.inside.set()
        await self.open.wait()


@pytest.fixture()
def pair(settings, db, database_url) -> Iterator[tuple[Daemon, Daemon, Gate, Clock]]:
    """Two daemons, each with its own engine (as two processes would have), one job."""
    gate, clock = Gate(), Clock()
    engines = [make_engine(database_url, pool_size=2) for _ in range(2)]
    a, b = (Daemon(settings, e, {"probe": (gate, INTERVAL)}, clock=clock) for e in engines)
    yield a, b, gate, clock
    for engine in engines:
        engine.dispose()


def lock_holders(engine: Any, name: str) -> list[int]:
    """Backends holding this job's advisory lock (a bigint key shows as classid, objid)."""
    key = job_lock_key(name)
    with engine.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :hi AND objid = :lo AND objsubid = 1"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            )
        )


async def test_exactly_one_daemon_runs_each_cycle(pair, db):
    a, b, gate, clock = pair
    for cycle in range(1, 6):
        await asyncio.wait_for(asyncio.gather(a.run_job("probe"), b.run_job("probe")), 10)
        assert gate.runs == cycle
        clock.now += timedelta(seconds=INTERVAL)
    state = collector_state(db, "probe")
    assert state is not None and (state["runs_total"], state["errors_total"]) == (5, 0)


async def test_a_run_in_progress_holds_the_other_daemon_off(pair, db):
    a, b, gate, clock = pair
    gate.open.clear()
    first = asyncio.create_task(a.run_job("probe"))
    await asyncio.wait_for(gate.inside.wait(), 5)
    assert len(lock_holders(db, "probe")) == 1
    # However late b comes in its cycle, a still holds the lock: b does not run.
    for late in (0.0, 2 * INTERVAL):
        clock.now = T0 + timedelta(seconds=late)
        assert await asyncio.wait_for(b.run_job("probe"), 5) is None
    assert gate.runs == 1
    gate.open.set()
    await asyncio.wait_for(first, 5)
    assert lock_holders(db, "probe") == []


async def test_the_survivor_takes_over_when_one_dies_mid_run(pair, db, caplog):
    a, b, gate, clock = pair
    caplog.set_level(logging.INFO, logger="meshkeeper.daemon")
    gate.open.clear()
    dying = asyncio.create_task(a.run_job("probe"))
    await asyncio.wait_for(gate.inside.wait(), 5)
    (holder,) = lock_holders(db, "probe")
    # a "dies": its backend, and with it the session lock, is gone mid-run.
    with db.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": holder})
    wait_for(lambda: not lock_holders(db, "probe"), 5, "the lock to go with its backend")
    gate.open.set()
    gate.inside.clear()
    clock.now += timedelta(seconds=INTERVAL)
    await asyncio.wait_for(b.run_job("probe"), 10)
    assert gate.runs == 2  # b ran the next cycle
    await asyncio.wait_for(dying, 10)  # a's batch in hand still ends cleanly
    # Losing a lock is not a database outage.
    assert not a.database_down and "database unavailable" not in caplog.text
    for _ in range(3):  # and from then on it is one run per cycle again, whoever runs it
        clock.now += timedelta(seconds=INTERVAL)
        await asyncio.wait_for(asyncio.gather(a.run_job("probe"), b.run_job("probe")), 10)
    assert gate.runs == 5
    assert lock_holders(db, "probe") == []


@pytest.fixture()
def processes(db) -> Iterator[list[Process]]:
    """`meshkeeper` subprocesses, killed (if still running) before the database is emptied."""
    started: list[Process] = []
    yield started
    for proc in started:
        proc.close()


def test_two_daemon_processes_share_the_cycles(
    processes, sessions, db, database_url, tmp_path: Path
):
    with transaction(sessions) as session:
        node = add_node(session, 501)
        for i in range(1, 6):
            add_device(session, node, f"nycmesh-501-{i}", f"127.0.5.{i}")
    env = meshkeeper_env(
        database_url,
        tmp_path,
        icmp_interval_s=1,
        icmp_count=1,
        icmp_timeout_s=0.3,
        jitter_s=0.1,
    )
    for i in range(2):
        processes.append(Process(["daemon"], env, tmp_path / f"daemon-{i}.log"))
    for proc in processes:
        proc.wait_log("daemon running", timeout=30)

    def runs() -> int:
        state = collector_state(db, "icmp")
        return int(state["runs_total"]) if state else 0

    wait_for(lambda: runs() >= 2, 10, "a cycle on each daemon")
    time.sleep(2)
    # ICMP is sharded (tests/daemon/test_sharding.py): both daemons run each cycle, on shares
    # that never overlap. The five devices share one node, hence one poller.
    with db.connect() as conn:
        leased = conn.execute(
            text("SELECT device_id, poller FROM poll_lease WHERE collector = 'icmp'")
        ).all()
        cycles = conn.execute(text("SELECT name, last_cycle_targets FROM poller")).all()
    assert len(leased) == 5 and len({poller for _, poller in leased}) == 1
    assert len(cycles) == 2 and sorted(n for _, n in cycles) == [0, 5]
    for proc in processes:
        proc.send(signal.SIGTERM)
    for proc in processes:
        assert proc.wait(timeout=10) == 0, proc.log
    state = collector_state(db, "icmp")
    assert state is not None and state["errors_total"] == 0
    events = event_rows(db)
    check_transitions(events)
    device_events = [e for e in events if e["type"] == "device.status_changed"]
    # Each device came up once, and only once, whichever daemon polled it.
    assert sorted(e["data"]["name"] for e in device_events) == [
        f"nycmesh-501-{i}" for i in range(1, 6)
    ]
    assert [e for e in events if e["type"] == "node.status_changed"][0]["data"]["to"] == "up"
