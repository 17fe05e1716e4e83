"""The pool's ping: a connection that sat idle is checked before use, a busy one is not."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from ipam import db as dbmod
from ipam.db import make_engine


@pytest.fixture()
def pool(database_url, monkeypatch):
    monkeypatch.setattr(dbmod, "IDLE_PING_S", 0.2)
    engine = make_engine(database_url, pool_size=1)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _kill(database_url: str, pid: int) -> None:
    # What a server restart does to a pooled connection, from the outside.
    other = make_engine(database_url)
    try:
        with other.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    finally:
        other.dispose()


def test_an_idle_connection_that_died_is_replaced_unseen(pool, database_url) -> None:
    first = _backend_pid(pool)
    _kill(database_url, first)
    time.sleep(0.3)  # idle past IDLE_PING_S: the checkout pings, finds it dead, opens another
    assert _backend_pid(pool) != first


def test_a_busy_connection_is_not_pinged(pool) -> None:
    _backend_pid(pool)
    pings: list[object] = []
    original = pool.dialect.do_ping
    pool.dialect.do_ping = lambda conn: pings.append(conn) or original(conn)  # type: ignore[method-assign]
    _backend_pid(pool)  # back in the pool a moment ago: used as it is
    assert pings == []
    time.sleep(0.3)
    _backend_pid(pool)
    assert len(pings) == 1
