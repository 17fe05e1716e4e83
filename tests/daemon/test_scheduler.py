"""The scheduler on a fake clock: cycle claims, failure logging, counters, and independence."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from collectors.errors import CollectorError
from daemon.scheduler import Daemon
from ipam import models as m
from ipam.db import transaction
from tests.daemon.helpers import collector_state

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = 60.0


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move on by this many seconds."""
        self.now += timedelta(seconds=seconds)


class Calls:
    """A job that counts its runs and does what it is told on each."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.runs = 0

    async def __call__(self, sessions: Any, settings: Any) -> Any:
        self.runs += 1
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        return step


def daemon_for(settings, engine, clock, **jobs: Any) -> Daemon:
    """A Daemon over these jobs, each on INTERVAL unless given as (job, interval)."""
    table = {n: j if isinstance(j, tuple) else (j, INTERVAL) for n, j in jobs.items()}
    return Daemon(settings, engine, table, clock=clock)


@pytest.mark.parametrize(
    "after,runs_again",
    [
        (0.0, False),
        (0.5 * INTERVAL, False),
        (0.79 * INTERVAL, False),  # jitter may bring a run early, never a whole cycle early
        (0.8 * INTERVAL, True),
        (INTERVAL, True),
        (10 * INTERVAL, True),
    ],
)
async def test_a_second_run_within_the_cycle_is_skipped(settings, db, after, runs_again):
    clock, job = FakeClock(), Calls()
    daemon = daemon_for(settings, db, clock, probe=job)
    await daemon.run_job("probe")
    clock.advance(after)
    await daemon.run_job("probe")
    assert job.runs == (2 if runs_again else 1)
    state = collector_state(db, "probe")
    assert state is not None
    assert state["runs_total"] == job.runs
    assert state["last_started"] == (T0 + timedelta(seconds=after) if runs_again else T0)


async def test_a_run_that_never_finished_does_not_block_the_cycle(settings, db, sessions):
    # A killed process leaves last_started after last_finished: the next daemon goes ahead.
    clock, job = FakeClock(), Calls()
    with transaction(sessions) as session:
        session.add(
            m.CollectorState(
                name="probe",
                last_started=T0 - timedelta(seconds=5),
                last_finished=T0 - timedelta(seconds=INTERVAL),
                runs_total=7,
                errors_total=0,
                targets=0,
            )
        )
    await daemon_for(settings, db, clock, probe=job).run_job("probe")
    assert job.runs == 1
    state = collector_state(db, "probe")
    assert state is not None and (state["runs_total"], state["last_started"]) == (8, T0)


async def test_failing_job_is_logged_once_failing_and_once_recovered(settings, db, caplog):
    fail = CollectorError("probe", "server said no")
    clock, job = FakeClock(), Calls(fail, fail, fail, None, None)
    daemon = daemon_for(settings, db, clock, probe=job)
    caplog.set_level(logging.INFO, logger="meshkeeper.daemon")
    seen: list[dict[str, Any]] = []
    for _ in range(5):
        assert await daemon.run_job("probe") is None  # never raises: the others go on
        seen.append(collector_state(db, "probe") or {})
        clock.advance(INTERVAL)
    messages = [r.getMessage() for r in caplog.records if r.name == "meshkeeper.daemon"]
    failing = [msg for msg in messages if "failing" in msg]
    assert failing == ["probe failing: probe: server said no"]
    assert [msg for msg in messages if "recovered" in msg] == ["probe recovered"]
    assert messages.index(failing[0]) < messages.index("probe recovered")
    assert [s["runs_total"] for s in seen] == [1, 2, 3, 4, 5]
    assert [s["errors_total"] for s in seen] == [1, 2, 3, 3, 3]
    assert [s["last_error"] for s in seen[:3]] == ["probe: server said no"] * 3
    assert [s["last_success"] for s in seen] == [
        None,
        None,
        None,
        T0 + timedelta(seconds=3 * INTERVAL),
        T0 + timedelta(seconds=4 * INTERVAL),
    ]
    assert seen[-1]["last_error"] is None


async def test_a_job_bug_is_counted_and_the_daemon_goes_on(settings, db, caplog):
    clock, job = FakeClock(), Calls(ZeroDivisionError("oops"), None)
    daemon = daemon_for(settings, db, clock, probe=job)
    caplog.set_level(logging.INFO, logger="meshkeeper.daemon")
    await daemon.run_job("probe")
    clock.advance(INTERVAL)
    await daemon.run_job("probe")
    state = collector_state(db, "probe")
    assert state is not None and (state["runs_total"], state["errors_total"]) == (2, 1)
    assert "probe recovered" in caplog.messages


async def test_a_slow_job_does_not_delay_another(settings, db):
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(sessions: Any, settings: Any) -> None:
        entered.set()
        await release.wait()

    fast = Calls()
    daemon = daemon_for(settings, db, FakeClock(), slow=slow, fast=fast)
    slow_run = asyncio.create_task(daemon.run_job("slow"))
    await asyncio.wait_for(entered.wait(), 5)
    started = time.monotonic()
    await asyncio.wait_for(daemon.run_job("fast"), 5)
    assert time.monotonic() - started < 2
    assert fast.runs == 1 and not slow_run.done()
    slow_state, fast_state = collector_state(db, "slow"), collector_state(db, "fast")
    assert fast_state is not None and fast_state["runs_total"] == 1
    assert slow_state is not None and slow_state["last_finished"] is None
    release.set()
    await asyncio.wait_for(slow_run, 5)
    slow_state = collector_state(db, "slow")
    assert slow_state is not None and slow_state["runs_total"] == 1


async def test_jobs_are_coalesced_single_instance_and_jittered(settings, db):
    job = Calls()
    daemon = daemon_for(
        settings, db, FakeClock(), icmp=(job, INTERVAL), webhooks=(job, 5.0), snmp=(job, 0.0)
    )
    daemon.start()
    try:
        jobs = {j.id: j for j in daemon.scheduler.get_jobs()}
        # An interval of 0 disables a job; the poller's heartbeat always runs (sharding).
        assert set(jobs) == {"icmp", "webhooks", "heartbeat"}
        assert jobs["heartbeat"].trigger.interval == timedelta(seconds=settings.poller_heartbeat_s)
        for name, interval in (("icmp", INTERVAL), ("webhooks", 5.0)):
            job_ = jobs[name]
            assert (job_.coalesce, job_.max_instances) == (True, 1)
            assert isinstance(job_.trigger, IntervalTrigger)
            assert job_.trigger.interval == timedelta(seconds=interval)
            # Jitter spreads load but stays under a tenth of a cycle (the claim allows 20%).
            assert 0 < job_.trigger.jitter <= 0.1 * interval
            assert job_.misfire_grace_time >= 1
            assert job_.args == (name,)
    finally:
        await daemon.stop()
    assert not daemon.scheduler.running


async def test_stop_lets_the_batch_in_hand_finish(settings, db):
    entered, finished = asyncio.Event(), []

    async def batch(sessions: Any, settings: Any) -> None:
        entered.set()
        await asyncio.sleep(0.5)
        finished.append(True)

    daemon = daemon_for(settings, db, FakeClock(), batch=batch)
    daemon.start()
    scheduled = daemon.scheduler.get_job("batch")
    assert scheduled is not None
    scheduled.modify(next_run_time=datetime.now(UTC))  # now, not a second from now
    await asyncio.wait_for(entered.wait(), 5)
    started = time.monotonic()
    await daemon.stop(grace_s=5)
    assert finished == [True]  # not cancelled half-way by the scheduler's shutdown
    assert time.monotonic() - started < 2
    state = collector_state(db, "batch")
    assert state is not None and state["runs_total"] == 1


async def test_stop_cancels_what_outlives_the_grace_period(settings, db):
    entered = asyncio.Event()

    async def stuck(sessions: Any, settings: Any) -> None:
        entered.set()
        await asyncio.sleep(3600)

    daemon = daemon_for(settings, db, FakeClock(), stuck=stuck)
    daemon.start()
    scheduled = daemon.scheduler.get_job("stuck")
    assert scheduled is not None
    scheduled.modify(next_run_time=datetime.now(UTC))
    await asyncio.wait_for(entered.wait(), 5)
    started = time.monotonic()
    await daemon.stop(grace_s=0.3)
    assert time.monotonic() - started < 2
    assert not daemon.running


async def test_a_bad_statement_is_a_job_failure_not_an_outage(settings, db, caplog):
    async def clashing(sessions: Any, settings: Any) -> None:
        # A real constraint violation: two nodes may not share a network number.
        with transaction(sessions) as session:
            session.add_all([m.Node(network_number=42), m.Node(network_number=42)])

    clock = FakeClock()
    daemon = daemon_for(settings, db, clock, clashing=clashing)
    caplog.set_level(logging.INFO, logger="meshkeeper.daemon")
    await daemon.run_job("clashing")
    clock.advance(INTERVAL)
    await daemon.run_job("clashing")
    state = collector_state(db, "clashing")
    assert state is not None and (state["runs_total"], state["errors_total"]) == (2, 2)
    assert "IntegrityError" in state["last_error"]
    assert not daemon.database_down
    assert not [msg for msg in caplog.messages if "database" in msg]
    assert sum("clashing failing" in msg for msg in caplog.messages) == 1
