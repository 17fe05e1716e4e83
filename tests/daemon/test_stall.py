"""A frozen PostgreSQL (SIGSTOP) and a restarted one, made for real on this module's own server.

Frozen: the API answers 503 with a JSON body within 2 s instead of hanging, the daemon says
so once, and both recover on SIGCONT. Restarted under continuous reads: only the requests in
flight while it was down may fail; a read on a dead pooled connection runs again on a fresh one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from api.app import create_app
from daemon.polling import poll_icmp
from daemon.scheduler import Daemon
from ipam import db as dbmod
from ipam.db import make_engine
from ipam.db_guard import guard_of
from tests.daemon.test_outage import (  # noqa: F401 - its server fixtures, used by name
    INTERVAL,
    Clock,
    Server,
    daemon_messages,
    seed,
)
from tests.daemon.test_outage import fast as fast  # noqa: F401
from tests.daemon.test_outage import server as server  # noqa: F401
from tests.daemon.test_outage import up as up  # noqa: F401
from tests.live import served

DEADLINE_S = 1.0


def server_pids(server: Server) -> list[int]:
    """The postmaster and every process it started (backends, checkpointer, ...)."""
    postmaster = int((Path(server.handle.pgdata) / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


@contextmanager
def frozen(server: Server) -> Iterator[None]:
    """The whole server stopped by SIGSTOP (it accepts bytes, answers none) until the block ends."""
    pids = server_pids(server)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.fixture()
def bounded(up: Server) -> Iterator[Engine]:
    """An engine on the module's server with the serving processes' deadline."""
    engine = make_engine(up.engine.url.render_as_string(hide_password=False), deadline_s=DEADLINE_S)
    yield engine
    engine.dispose()


def accepting(server: Server) -> None:
    """Wait until the server takes connections again (it says "starting up" for a while)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with server.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return
        except OperationalError:
            assert time.monotonic() < deadline, "the server did not come back"
            time.sleep(0.05)


def get(client: httpx.Client, url: str) -> tuple[int, float, dict]:
    """Status, seconds taken and JSON body of one GET."""
    started = time.monotonic()
    answer = client.get(url)
    return answer.status_code, time.monotonic() - started, answer.json()


async def test_a_frozen_server_is_a_503_within_2_s_and_both_recover(bounded, up, fast, caplog):
    caplog.set_level(logging.INFO)
    seeded = seed(up.engine)
    token = seeded["token"]
    clock = Clock()
    daemon = Daemon(fast, bounded, {"icmp": (poll_icmp, INTERVAL)}, clock=clock)
    auth = {"Authorization": f"Bearer {token}"}
    # One client made beforehand (a client of its own per request costs more than the API).
    client = httpx.Client(headers=auth, timeout=10, limits=httpx.Limits(max_connections=16))
    with served(create_app(fast, bounded)) as base, client:
        node = f"{base}/api/v1/nodes/{seeded['node']}/"
        for _ in range(8):
            assert get(client, node)[0] == 200
        with frozen(up):
            # Concurrent readers and a writer: each answered, 503 with a JSON body, within 2 s.
            with ThreadPoolExecutor(8) as pool:
                reads = list(pool.map(lambda _: get(client, node), range(8)))
            started = time.monotonic()
            write = client.post(
                f"{base}/api/v1/nodes/",
                json={
                    "network_number": 802,
                    "status": "Planned",
                    "latitude": 40.7,
                    "longitude": -73.9,
                },
            )
            write_took = time.monotonic() - started
            for status, took, body in reads:
                assert status == 503 and took < 2.0, (status, took)
                assert body["detail"]
            assert write.status_code == 503 and write_took < 2.0 and write.json()["detail"]
            assert guard_of(bounded).stalled
            # The daemon: its run fails within the deadline, says so once over several tries.
            for _ in range(3):
                clock.next_cycle()
                started = time.monotonic()
                assert await daemon.run_job("icmp") is None
                assert time.monotonic() - started < 3 * DEADLINE_S
            down = [msg for msg in daemon_messages(caplog) if "database unavailable" in msg]
            assert len(down) == 1, daemon_messages(caplog)
        # SIGCONT: the probe finds the server again and both go on.
        deadline = time.monotonic() + 10
        while guard_of(bounded).stalled and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not guard_of(bounded).stalled
        assert get(client, node)[0] == 200
        clock.next_cycle()
        assert await daemon.run_job("icmp") is not None
        assert "database reachable again; catching up" in daemon_messages(caplog)


def test_a_restart_under_reads_costs_at_most_the_requests_in_flight(bounded, up, fast, monkeypatch):
    # Every pooled connection counts as busy (no ping before use), as under steady traffic.
    monkeypatch.setattr(dbmod, "IDLE_PING_S", 3600.0)
    seeded = seed(up.engine)
    token = seeded["token"]
    outcomes: list[tuple[float, float, int]] = []  # (start, end, status)
    stop = threading.Event()
    with served(create_app(fast, bounded)) as base:
        node = f"{base}/api/v1/nodes/{seeded['node']}/"

        def reader() -> None:
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
                while not stop.is_set():
                    started = time.monotonic()
                    status = c.get(node).status_code
                    outcomes.append((started, time.monotonic(), status))
                    time.sleep(0.01)

        readers = [threading.Thread(target=reader) for _ in range(4)]
        for thread in readers:
            thread.start()
        deadline = time.monotonic() + 30
        while sum(s == 200 for *_, s in outcomes) < 40:  # several pooled connections in use
            assert time.monotonic() < deadline
            time.sleep(0.05)
        down_at = time.monotonic()
        up.stop()
        up.start()
        accepting(up)
        back_at = time.monotonic()
        time.sleep(1.0)
        stop.set()
        for thread in readers:
            thread.join(timeout=10)
    before = [s for _, end, s in outcomes if end < down_at]
    after = [s for start, _, s in outcomes if start >= back_at]
    assert len(before) >= 40 and set(before) == {200}
    # Once the server is back, no read fails: the dead pooled connections were retried past.
    assert len(after) > 20 and set(after) == {200}, after
    # What failed was in flight while the server was down (or starting up).
    failed = [(start, end) for start, end, s in outcomes if s != 200]
    assert all(start < back_at and end > down_at for start, end in failed)
