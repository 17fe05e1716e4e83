"""The daemon: one APScheduler job per collector, shared safely between several processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from collectors.errors import CollectorError
from daemon import sharding
from ipam import db_guard
from ipam import models as m
from ipam.db import make_sessionmaker, transaction
from ipam.settings import Settings

log = logging.getLogger("meshkeeper.daemon")

Job = Callable[[sessionmaker[Session], Settings], Awaitable[Any]]
DATABASE_ERRORS = (OperationalError, PoolTimeout, DBAPIError, ConnectionError, OSError)
MAX_BACKOFF_S = 60.0
# A batch's statement may wait this long on the server (a request waits MESHKEEPER_DB_TIMEOUT_S):
# applying a thousand devices' observations is one statement.
BATCH_PATIENCE_S = 30.0


def database_unreachable(exc: BaseException) -> bool:
    """A refused or lost connection (or an exhausted pool), not a statement the server refused."""
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError) or exc.connection_invalidated
    return isinstance(exc, PoolTimeout)


def utcnow() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def job_lock_key(name: str) -> int:
    """A stable advisory-lock key per collector (several daemons run each job at most once)."""
    return 0x6D6B_1000_0000 + zlib.crc32(name.encode())


class Daemon:
    """Runs each collector on its interval; one run at a time per collector across processes."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        jobs: dict[str, tuple[Job, float]],
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.settings = settings
        # Dates the cycle records (claims, runs); APScheduler keeps its own time for triggers.
        self.clock = clock
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self.jobs = jobs
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.running: set[asyncio.Task[Any]] = set()
        self.active: set[str] = set()  # collectors with a run in hand (a cycle or a takeover)
        self.takeovers: dict[str, asyncio.Task[Any]] = {}
        self.failing: set[str] = set()
        self.database_down = False
        self.backoff: dict[str, float] = {}
        # This process as one of several pollers: sharded collectors poll only its share.
        self.shard = sharding.Shard.from_settings(settings, self.sessions)

    def start(self) -> None:
        """Schedule every enabled job; the first runs come within the jitter window."""
        now = datetime.now(UTC)
        for name, (_, interval) in self.jobs.items():
            if interval <= 0:
                log.info("%s collection disabled", name)
                continue
            self.scheduler.add_job(
                self.run_job,
                "interval",
                seconds=interval,
                args=[name],
                id=name,
                coalesce=True,
                max_instances=1,
                # Jitter spreads load, but never so much that a cycle looks like a repeat.
                jitter=min(self.settings.jitter_s, interval * 0.1),
                next_run_time=now + timedelta(seconds=1),
                misfire_grace_time=max(1, int(interval)),
            )
        self.scheduler.add_job(
            self._beat,
            "interval",
            seconds=self.shard.heartbeat_s,
            id="heartbeat",
            coalesce=True,
            max_instances=1,
            next_run_time=now,
        )
        if not self.settings.probe_networks:
            log.warning(
                "MESHKEEPER_PROBE_NETWORKS is empty: monitoring sends no packet anywhere "
                "(NYC Mesh sets 10.0.0.0/8)"
            )
        self.scheduler.start()

    def pause(self) -> None:
        """Start no new run; the runs in hand go on (the first step of stopping)."""
        if self.scheduler.running:
            self.scheduler.pause()

    async def stop(self, grace_s: float = 8.0) -> None:
        """Stop scheduling, let the batches in hand finish (up to grace_s), then cancel the rest."""
        # Pause, not shutdown, first: AsyncIOExecutor.shutdown cancels the running jobs.
        self.pause()
        if self.running:
            done, pending = await asyncio.wait(set(self.running), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)
        for job, _ in self.jobs.values():
            # A job whose work outlives its runs (webhook deliveries) ends it here.
            aclose = getattr(job, "aclose", None)
            if aclose is not None:
                await aclose()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn

    async def run_job(self, name: str, *, takeover: bool = False) -> Any:
        """One run of one collector, guarded by its advisory lock and its cycle record.

        takeover: poll only what a dead poller held and is now this one's (daemon/sharding.py).
        """
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        pending = self.takeovers.get(name)
        if pending is not None and not takeover:  # a takeover in hand finishes first
            await asyncio.wait({pending})
        self.active.add(name)
        patience = db_guard.PATIENCE.set(BATCH_PATIENCE_S)
        try:
            guard = db_guard.guard_of(self.engine)
            if guard is not None and guard.stalled:
                raise db_guard.DatabaseStalled("database stalled: not answering")
            if takeover:
                return await self._take_over(name)
            return await self._run_locked(name)
        except DATABASE_ERRORS as exc:
            self._database_failed(name, exc)
            return None
        finally:
            db_guard.PATIENCE.reset(patience)
            self.active.discard(name)
            if takeover:
                self.takeovers.pop(name, None)
            if task is not None:
                self.running.discard(task)

    async def _beat(self) -> None:
        """Say this poller is alive, and take over at once from one that stopped beating."""
        with contextlib.suppress(*DATABASE_ERRORS):  # an outage is logged by the jobs
            gone = await asyncio.to_thread(self.shard.beat_and_count, utcnow())
            if gone:
                log.warning("pollers %s stopped beating: taking over their share", sorted(gone))
                for name, (_, interval) in self.jobs.items():
                    if name in sharding.SHARDED and interval > 0 and name not in self.active:
                        task = asyncio.create_task(self.run_job(name, takeover=True))
                        self.takeovers[name] = task

    async def _take_over(self, name: str) -> Any:
        """Poll now what a dead poller held and is this one's: not a whole interval later."""
        # The rest of this poller's share waits for its own cycle: nothing polled twice.
        job, _ = self.jobs[name]
        token = sharding.CURRENT.set(replace(self.shard, takeover=True))
        try:
            return await self._timed(name, job)
        finally:
            sharding.CURRENT.reset(token)

    async def _run_sharded(self, name: str) -> Any:
        """A sharded collector: every daemon runs it, each on the share it leases."""
        job, interval = self.jobs[name]
        await asyncio.to_thread(self.shard.beat, utcnow())
        self._database_back()
        await asyncio.to_thread(self._claim_cycle, name, interval, shared=True)
        token = sharding.CURRENT.set(self.shard)
        started = time.monotonic()
        try:
            result = await self._timed(name, job)
        finally:
            sharding.CURRENT.reset(token)
        took = time.monotonic() - started
        targets = int(getattr(result, "devices", 0) or 0)
        await asyncio.to_thread(self.shard.cycle_done, utcnow(), took, targets)
        return result

    async def _run_locked(self, name: str) -> Any:
        if name in sharding.SHARDED:
            return await self._run_sharded(name)
        job, interval = self.jobs[name]
        key = job_lock_key(name)
        conn = await asyncio.to_thread(self.engine.connect)
        try:
            got = await asyncio.to_thread(self._try_lock, conn, key)
            self._database_back()
            if not got:
                log.debug("%s: another daemon is running it", name)
                return None
            if not await asyncio.to_thread(self._claim_cycle, name, interval):
                log.debug("%s: this cycle was already run by another daemon", name)
                return None
            return await self._timed(name, job)
        finally:
            await asyncio.to_thread(self._release, conn, key)

    @staticmethod
    def _try_lock(conn: Any, key: int) -> bool:
        got = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
        # The session lock outlives this commit; no transaction stays open during the job.
        conn.commit()
        return got

    @staticmethod
    def _release(conn: Any, key: int) -> None:
        try:
            if conn.invalidated:
                return  # the connection broke mid-run, and its session lock went with it
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
        except DATABASE_ERRORS:
            # A session lock dies with its connection: discard it rather than pool it, so the
            # lock can never outlive this run (the connection is usually gone already).
            conn.invalidate()
        finally:
            conn.close()

    def _claim_cycle(self, name: str, interval: float, *, shared: bool = False) -> bool:
        """Start a cycle unless another process started one less than a cycle ago.

        shared: a sharded collector's cycle, which every daemon runs on its own share.
        """
        now = self.clock()
        with transaction(self.sessions) as session:
            state = session.get(m.CollectorState, name, with_for_update=True)
            if state is None:
                state = m.CollectorState(name=name, runs_total=0, errors_total=0, targets=0)
                session.add(state)
            elif (
                not shared
                and state.last_started is not None
                and interval > 0
                and now - state.last_started < timedelta(seconds=interval * 0.8)
                and state.last_finished is not None
                and state.last_finished >= state.last_started
            ):
                return False
            state.last_started = now
        return True

    async def _timed(self, name: str, job: Job) -> Any:
        started = self.clock()
        error: str | None = None
        result = None
        try:
            result = await job(self.sessions, self.settings)
        except CollectorError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one collector's bug must not stop the others
            if database_unreachable(exc):
                raise  # an outage: run_job backs off and retries
            # A constraint violation or a collector's OSError is this job's failure, counted.
            log.exception("%s failed", name)
            error = f"{type(exc).__name__}: {exc}"
        finished = self.clock()
        await asyncio.to_thread(self._record, name, started, finished, error, result)
        if error and name not in self.failing:
            self.failing.add(name)
            log.warning("%s failing: %s", name, error)
        elif not error and name in self.failing:
            self.failing.discard(name)
            log.info("%s recovered", name)
        return result

    def _record(
        self, name: str, started: datetime, finished: datetime, error: str | None, result: Any
    ) -> None:
        with transaction(self.sessions) as session:
            state = session.get(m.CollectorState, name, with_for_update=True)
            if state is None:
                state = m.CollectorState(name=name, runs_total=0, errors_total=0, targets=0)
                session.add(state)
            state.last_finished = finished
            state.duration_s = (finished - started).total_seconds()
            state.runs_total = (state.runs_total or 0) + 1
            if error:
                state.errors_total = (state.errors_total or 0) + 1
                state.last_error = error[:500]
            else:
                state.last_success = finished
                state.last_error = None
                state.targets = int(getattr(result, "devices", 0) or 0)

    def _database_failed(self, name: str, exc: BaseException) -> None:
        """Log an outage once, and retry this job sooner, backing off up to a minute."""
        if not self.database_down:
            self.database_down = True
            log.error("database unavailable (%s); retrying with back-off", _first_line(exc))
        delay = min(MAX_BACKOFF_S, self.backoff.get(name, 1.0) * 2)
        self.backoff[name] = delay
        job = self.scheduler.get_job(name) if self.scheduler.running else None
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))

    def _database_back(self) -> None:
        if self.database_down:
            self.database_down = False
            log.info("database reachable again; catching up")
        self.backoff.clear()


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__
