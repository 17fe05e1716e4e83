"""Bounded waits on PostgreSQL: a stalled server is an error within a deadline, not a hang.

A frozen server (SIGSTOP, a hung host, a full disk) accepts bytes and never answers, so a
client blocks forever on its socket; PostgreSQL's own statement_timeout cannot help, the
server being the thing that stalled. Every wait on a connection (statement, commit, ping)
is therefore bounded on our side (psycopg's own wait timeout; the daemon's batches get more
patience than a request), the connection that timed out
is closed (its state is unknown). A server that does not even answer a new connection (or
a ping) within the deadline is stalled, not just slow: the engine is marked so, and the API
answers 503 at once instead of queueing on it, while one probe at a time looks for it to come
back (api/deps.py). A slow statement alone fails only its own request. TCP keepalives and
tcp_user_timeout bound the waits on a peer that vanished off the network (libpq's parameters;
they have no effect over a Unix socket).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from contextvars import ContextVar
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Engine, event, exc

log = logging.getLogger(__name__)

# A longer wait for one statement, for work that may take long (the daemon's batches); a
# context variable, so it follows the work into asyncio.to_thread.
PATIENCE: ContextVar[float | None] = ContextVar("meshkeeper_db_patience", default=None)
# libpq's minimum (fe-connect.c: a connect_timeout below 2 is taken as 2).
CONNECT_TIMEOUT_S = 2
PROBE_EVERY_S = 0.5
# TCP: a peer silent this long is dead (keepalives_idle + interval x count = 5 + 2 x 2 s).
TCP_ARGS = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 9000,
}


class DatabaseStalled(exc.OperationalError):
    """PostgreSQL did not answer within the deadline (or is known not to, just now)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, pg_errors.ConnectionTimeout(message))


def timed_out(error: BaseException) -> bool:
    """Whether a database error is a wait that ran out (a stall), not a dropped connection."""
    orig = getattr(error, "orig", None)
    return isinstance(error, DatabaseStalled) or isinstance(orig, pg_errors.ConnectionTimeout)


class Guard:
    """One engine's deadline and stall state, shared by its connections."""

    def __init__(self, deadline_s: float | None) -> None:
        self.deadline_s = deadline_s
        self.stalled_since: float | None = None
        self._lock = threading.Lock()
        self._probing = False

    @property
    def stalled(self) -> bool:
        """True from a timed-out wait until a probe reaches the server again."""
        return self.stalled_since is not None

    def trip(self, engine: Engine) -> None:
        """Mark the server stalled, once, and start a probe that clears the mark."""
        with self._lock:
            if self.stalled_since is None:
                self.stalled_since = time.monotonic()
                log.error("database stalled: no answer within %.1f s", self.deadline_s or 0)
            if self._probing:
                return
            self._probing = True
        threading.Thread(target=self._probe, args=(engine,), daemon=True).start()

    def _probe(self, engine: Engine) -> None:
        # Through the pool: a fresh connection (the pool was invalidated by the timeout).
        while True:
            time.sleep(PROBE_EVERY_S)
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
            except Exception:  # noqa: BLE001 - any failure means still stalled
                continue
            with self._lock:
                self.stalled_since, self._probing = None, False
            log.info("database answering again")
            return


_GUARDS: weakref.WeakKeyDictionary[Engine, Guard] = weakref.WeakKeyDictionary()


def guard_of(engine: Engine) -> Guard | None:
    """The guard make_engine attached to this engine, if any."""
    return _GUARDS.get(engine)


def bound(engine: Engine, deadline_s: float) -> None:
    """From now on, wait on the server at most deadline_s (after migrations, which may not)."""
    guard = _GUARDS[engine]
    guard.deadline_s = deadline_s
    engine.pool._timeout = deadline_s  # type: ignore[attr-defined]  # waits on the pool too
    engine.dispose()  # connections opened before (migrations) start afresh


def _connection_class(guard: Guard, engine_ref: list[Engine]) -> type[psycopg.Connection[Any]]:
    class DeadlineConnection(psycopg.Connection[Any]):
        """psycopg's connection with every wait bounded by the guard's deadline."""

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            if timeout is None:
                timeout = PATIENCE.get() or guard.deadline_s
            try:
                return super().wait(gen, interval, timeout)
            except pg_errors._WaitTimeout:
                # The query may still be running, or half an answer sent: the connection
                # cannot be trusted again. Closed, it reads as a disconnect to SQLAlchemy,
                # which then discards it and every connection of its generation.
                self.pgconn.finish()
                raise pg_errors.ConnectionTimeout(
                    f"database did not answer within {timeout} s"
                ) from None

    return DeadlineConnection


def install(engine: Engine, deadline_s: float | None) -> Guard:
    """Bound every wait of the engine's connections (guard_of(engine) finds the guard)."""
    guard = _GUARDS[engine] = Guard(deadline_s)
    cls = _connection_class(guard, [engine])

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        params = {"connect_timeout": CONNECT_TIMEOUT_S, **TCP_ARGS, **cparams}
        if not guard.deadline_s:
            return cls.connect(*cargs, **params)
        return _connect_within(guard, engine, lambda: cls.connect(*cargs, **params))

    return guard


def _connect_within(guard: Guard, engine: Engine, connect: Any) -> Any:
    """connect() in a thread of its own, given up on after the deadline.

    libpq will not wait less than 2 s for a connection (connect_timeout's minimum), more than
    a request may take; the attempt goes on in its thread and closes what it got, if anything.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()
    abandoned = threading.Event()

    def attempt() -> None:
        try:
            outcome["conn"] = connect()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = error
        done.set()
        if abandoned.is_set() and "conn" in outcome:
            outcome["conn"].close()

    threading.Thread(target=attempt, daemon=True).start()
    if not done.wait(guard.deadline_s):
        abandoned.set()
        if done.is_set() and "conn" in outcome:  # it arrived just now after all
            outcome["conn"].close()
        guard.trip(engine)
        raise pg_errors.ConnectionTimeout(f"no connection within {guard.deadline_s} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["conn"]
