"""Real `meshkeeper` processes: SIGTERM finishes the batch in hand; SIGKILL loses nothing."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.records import tokens
from tests.daemon.helpers import (
    Process,
    check_transitions,
    collector_state,
    event_rows,
    free_port,
    meshkeeper_env,
    wait_for,
)

# Two probes a second apart: a cycle on loopback lasts about a second, long enough to signal
# a process in the middle of one.
SLOW_CYCLE = {"icmp_count": 2, "icmp_timeout_s": 0.5, "jitter_s": 0.1}
LISTENING = "Uvicorn running on"
# Headers promising a body that never comes: the request stays in flight until given up on.
STALLED_REQUEST = (
    b"POST /api/v1/nodes/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n{"
)


@pytest.fixture()
def processes(db) -> Iterator[list[Process]]:
    """`meshkeeper` subprocesses, killed (if still running) before the database is emptied."""
    started: list[Process] = []
    yield started
    for proc in started:
        proc.close()


@pytest.fixture()
def admin_token(sessions) -> str:
    """An admin token for the processes' API."""
    with transaction(sessions) as session:
        return tokens.create_token(session, "test-admin", TokenRole.ADMIN)


def mid_cycle(db) -> dict | None:
    """The icmp collector's state while it has a cycle in hand (started, not finished)."""
    state = collector_state(db, "icmp")
    if state is None or state["last_started"] is None:
        return None
    finished = state["last_finished"]
    return state if finished is None or finished < state["last_started"] else None


def seed_devices(db, count: int) -> None:
    """A node with `count` loopback devices, written straight to the database."""
    with db.begin() as conn:
        node = conn.scalar(
            text(
                "INSERT INTO node (id, network_number, name, status, type, placement)"
                " VALUES (gen_random_uuid(), 601, 'n601', 'Active', 'Standard', 'None')"
                " RETURNING id"
            )
        )
        for i in range(1, count + 1):
            conn.execute(
                text(
                    "INSERT INTO device (id, kind, node_id, name, status, management_address)"
                    " VALUES (gen_random_uuid(), 'device', :n, :name, 'Active', :ip)"
                ),
                {"n": node, "name": f"seed-{i}", "ip": f"127.0.6.{i}"},
            )


def test_daemon_sigterm_finishes_the_batch_in_hand_and_exits_zero(
    processes, db, database_url, tmp_path: Path
):
    # (`meshkeeper run` gets the same at the end of the next test.)
    seed_devices(db, 3)
    env = meshkeeper_env(database_url, tmp_path, icmp_interval_s=60, **SLOW_CYCLE)
    proc = Process(["daemon"], env, tmp_path / "daemon.log")
    processes.append(proc)
    wait_for(lambda: mid_cycle(db), 30, "a cycle to start")
    started = time.monotonic()
    proc.send(signal.SIGTERM)
    code = proc.wait(timeout=10)
    took = time.monotonic() - started
    assert code == 0, proc.log
    assert took < 10
    state = collector_state(db, "icmp")
    assert state is not None, proc.log
    # The cycle in hand was finished and recorded, not cut off.
    assert state["runs_total"] == 1 and state["errors_total"] == 0, proc.log
    assert state["last_finished"] >= state["last_started"]
    ups = [e for e in event_rows(db) if e["type"] == "device.status_changed"]
    assert sorted(e["data"]["name"] for e in ups) == ["seed-1", "seed-2", "seed-3"]


def devices_never_up(db) -> set[str]:
    """Devices with no event saying they came up."""
    with db.connect() as conn:
        every = set(conn.scalars(text("SELECT id::text FROM device")).all())
    ups = {
        e["subject_id"]
        for e in event_rows(db)
        if e["type"] == "device.status_changed" and e["data"]["to"] == "up"
    }
    return every - ups


def daemon_pid(proc: Process) -> int:
    """The process id of `run`'s daemon, from its log."""
    proc.wait_log("daemon started as process", timeout=30)
    return int(re.findall(r"daemon started as process (\d+)", proc.log)[-1])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_run_restarts_its_daemon_when_it_dies(processes, db, database_url, tmp_path: Path):
    seed_devices(db, 1)
    env = meshkeeper_env(database_url, tmp_path, http_port=free_port(), icmp_interval_s=1)
    run = Process(["run"], env, tmp_path / "run.log")
    processes.append(run)
    first = daemon_pid(run)
    # Niced as it starts: polling is batch work, a request gets the CPU first.
    wait_for(lambda: os.getpriority(os.PRIO_PROCESS, first) == 10, 15, "the daemon niced")
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: daemon_pid(run) != first, 15, "a new daemon")
    second = daemon_pid(run)
    assert "exited with -9; restarting" in run.log
    runs = (collector_state(db, "icmp") or {}).get("runs_total", 0)
    wait_for(
        lambda: (collector_state(db, "icmp") or {}).get("runs_total", 0) > runs, 20, "a new cycle"
    )
    run.send(signal.SIGTERM)
    assert run.wait(timeout=15) == 0, run.log
    assert not alive(second)


class Writer(threading.Thread):
    """Creates devices through the API, one after another, remembering every 201."""

    def __init__(self, base: str, token: str, node_id: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        self.node_id = node_id
        self.created: list[str] = []
        self.failed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with self.client:
            for i in range(1, 201):
                if self.halt.is_set():
                    return
                self.post(i)

    def post(self, i: int) -> None:
        """Create device w-<i>; a refused connection (the process is dead) is just counted."""
        body = {"node": self.node_id, "name": f"w-{i}", "management_address": f"127.0.7.{i}"}
        try:
            answer = self.client.post("/api/v1/devices/", json=body)
        except httpx.HTTPError:
            self.failed += 1
            time.sleep(0.05)
            return
        if answer.status_code == 201:
            self.created.append(answer.json()["id"])
        time.sleep(0.02)


def test_run_killed_mid_cycle_loses_nothing_and_duplicates_nothing(
    processes, db, database_url, admin_token, tmp_path: Path
):
    settings = {"icmp_interval_s": 1.5, **SLOW_CYCLE}
    first_port, second_port = free_port(), free_port()
    first = Process(
        ["run"],
        meshkeeper_env(database_url, tmp_path, http_port=first_port, **settings),
        tmp_path / "first.log",
    )
    processes.append(first)
    first.wait_log(LISTENING, timeout=30)
    base = f"http://127.0.0.1:{first_port}"
    headers = {"Authorization": f"Bearer {admin_token}"}
    api = httpx.Client(base_url=base, headers=headers, timeout=5)
    node = api.post(
        "/api/v1/nodes/",
        json={"network_number": 701, "status": "Active", "latitude": 40.7, "longitude": -73.9},
    )
    assert node.status_code == 201, node.text
    node_id = node.json()["id"]
    before_kill = []
    for i in range(1, 4):
        body = {"node": node_id, "name": f"d-{i}", "management_address": f"127.0.8.{i}"}
        answer = api.post("/api/v1/devices/", json=body)
        assert answer.status_code == 201, answer.text
        before_kill.append(answer.json()["id"])
    api.close()

    # Writes keep coming while a cycle is in hand, and then the process is killed outright.
    writer = Writer(base, admin_token, node_id)
    writer.start()
    wait_for(lambda: len(writer.created) >= 3, 20, "writes to go through")
    wait_for(lambda: mid_cycle(db), 20, "a cycle in hand")
    child = daemon_pid(first)
    first.proc.kill()
    assert first.wait(timeout=10) == -signal.SIGKILL
    # Its daemon (a child process) dies with it: none is left polling beside the next run.
    wait_for(lambda: not alive(child), 5, "run's daemon to exit with it")
    time.sleep(0.2)
    writer.halt.set()
    writer.join(timeout=10)
    runs_at_kill = (collector_state(db, "icmp") or {}).get("runs_total", 0)

    second = Process(
        ["run"],
        meshkeeper_env(database_url, tmp_path, http_port=second_port, **settings),
        tmp_path / "second.log",
    )
    processes.append(second)
    # The killed cycle never finished, so the new process runs one at once; the writes had
    # stopped before it started, so its cycles poll every device (a probe that times out on
    # a loaded machine is answered at the next).
    wait_for(
        lambda: (collector_state(db, "icmp") or {}).get("runs_total", 0) > runs_at_kill,
        30,
        "a cycle after the restart",
    )
    wait_for(lambda: not devices_never_up(db), 30, "every device up")
    # SIGTERM in the middle of the next cycle, with a client stalled half-way through a
    # request: the cycle is finished, the client given up on, and the process exits.
    second.wait_log(LISTENING, timeout=30)
    with socket.create_connection(("127.0.0.1", second_port), timeout=5) as stalled:
        stalled.sendall(STALLED_REQUEST)
        in_hand = wait_for(lambda: mid_cycle(db), 20, "the next cycle in hand")
        started = time.monotonic()
        second.send(signal.SIGTERM)
        assert second.wait(timeout=10) == 0, second.log
        assert time.monotonic() - started < 10
    assert (collector_state(db, "icmp") or {})["runs_total"] == in_hand["runs_total"] + 1

    # Nothing that was answered 201 is lost.
    with db.connect() as conn:
        devices = dict(conn.execute(text("SELECT id::text, name FROM device")).all())
        history = Counter(
            conn.scalars(
                text("SELECT record_id::text FROM history WHERE resource = 'devices'")
            ).all()
        )
    assert set(before_kill + writer.created) <= set(devices)
    assert len(writer.created) >= 3
    events = event_rows(db)
    check_transitions(events)
    # No half-written record: each device that exists has exactly one history row and one
    # "created" event, whether or not its request got an answer before the kill.
    created = Counter(e["subject_id"] for e in events if e["type"] == "device.created")
    assert created == Counter(set(devices)), (created, devices)
    assert history == Counter(set(devices))
    # No duplicate: each device came up exactly once, across the kill and the restart.
    ups = Counter(
        e["subject_id"]
        for e in events
        if e["type"] == "device.status_changed" and e["data"]["to"] == "up"
    )
    assert ups == Counter(set(devices)), (ups, devices)
    keys = [
        (e["type"], e["subject_id"], repr(sorted(e["data"].items())))
        for e in events
        if e["type"].endswith(".status_changed")
    ]
    assert len(keys) == len(set(keys))
    state = collector_state(db, "icmp")
    assert state is not None and state["errors_total"] == 0
    assert state["last_finished"] >= state["last_started"]
