"""A whole meshkeeper for benchmarks: a private PostgreSQL, the schema, data, and a served API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ipam.db import (  # noqa: E402
    ensure_database,
    make_engine,
    make_sessionmaker,
    migrate,
    start_embedded,
    transaction,
)
from ipam.enums import TokenRole  # noqa: E402
from ipam.records import tokens  # noqa: E402


def shared_data() -> Path:
    """The real data folder (MESHKEEPER_SHARED_DATA, default ../shared/data)."""
    return Path(os.environ.get("MESHKEEPER_SHARED_DATA", REPO.parent / "shared" / "data"))


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """What a benchmark talks to."""

    url: str
    database_url: str
    engine: Engine
    token: str
    pids: tuple[int, ...] = ()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (from /proc: a figure load does not skew)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh_database() -> tuple[str, Engine]:
    """A new embedded server in a temporary directory, migrated to head."""
    parent = Path(tempfile.mkdtemp(prefix="meshkeeper-bench-pg-"))
    parent.chmod(0o755)
    url = ensure_database(start_embedded(parent / "data", delete_on_exit=True), "meshkeeper")
    engine = make_engine(url, pool_size=20)
    migrate(engine)
    return url, engine


def admin_token(engine: Engine) -> str:
    """A new admin token for the benchmark's requests."""
    with transaction(make_sessionmaker(engine)) as session:
        return tokens.create_token(session, f"bench-{time.time_ns()}", TokenRole.ADMIN)


@contextmanager
def served(
    database_url: str,
    engine: Engine,
    commands: tuple[str, ...] = ("api",),
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """`meshkeeper api` (or `run`, or `api` beside `daemon`) in own processes, on a free port."""
    port = free_port()
    full_env = {
        **os.environ,
        "MESHKEEPER_DATABASE_URL": database_url,
        "MESHKEEPER_HTTP_PORT": str(port),
        "MESHKEEPER_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    exe = Path(sys.executable).parent / "meshkeeper"
    # Logs to a file, not a pipe nobody reads: a full pipe would stall the server under test.
    fd, log_path = tempfile.mkstemp(prefix="meshkeeper-bench-", suffix=".log")
    log = os.fdopen(fd, "w")
    processes = [
        subprocess.Popen([str(exe), command], env=full_env, stdout=log, stderr=log)
        for command in commands
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v1/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the API did not start")
        pids = tuple(p.pid for p in processes)
        yield Stack(url, database_url, engine, admin_token(engine), pids)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
