"""Issue 11's hostile clients against `meshkeeper run` in its own process, with the figures.

Header floods (the server's RSS and peak RSS around 8 concurrent 64 MiB heads), slow bodies
(41 clients at one byte every 5 s; the API's latency meanwhile, and how they end), a storm of
100 event-stream requests with a bad token, and the most streams allowed open at once (from
10 loopback addresses, 20 tokens) with the API's latency meanwhile.

    .venv/bin/python bench/hostile_clients.py            # about 45 s
    .venv/bin/python bench/hostile_clients.py --quick    # about 15 s (timeout 5 s, 16 MiB)
    .venv/bin/python bench/hostile_clients.py --code ../main   # another checkout: "before"
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.stack import REPO, free_port, fresh_database  # noqa: E402
from ipam.db import make_sessionmaker, transaction  # noqa: E402
from ipam.enums import TokenRole  # noqa: E402
from ipam.records import tokens  # noqa: E402

MIB = 1024 * 1024


@contextlib.contextmanager
def meshkeeper_run(code: Path, database_url: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`meshkeeper run` from the checkout `code`; yields (base URL, pid)."""
    port = free_port()
    launch = "import sys; from cli.main import main; sys.exit(main(['run']))"
    process = subprocess.Popen(
        [sys.executable, "-c", launch],
        cwd=code,
        env={
            **os.environ,
            **env,
            "PYTHONPATH": str(code),
            "MESHKEEPER_DATABASE_URL": database_url,
            "MESHKEEPER_HTTP_PORT": str(port),
            "MESHKEEPER_LOG_LEVEL": "WARNING",
            "MESHKEEPER_DATA_DIR": tempfile.mkdtemp(prefix="meshkeeper-bench-run-"),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v1/", timeout=1, trust_env=False).status_code == 200:
                    break
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def memory(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def connect(url: str, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    """A TCP connection to the server from a loopback source address."""
    port = int(url.rsplit(":", 1)[1])
    return socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    )


def status_of(sock: socket.socket) -> int:
    """The status code of the answer's head (0 when none came)."""
    head = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in head and (chunk := sock.recv(65536)):
            head += chunk
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0


def latencies(url: str, token: str, seconds: float) -> list[float]:
    """Health check and member list, one after the other, for `seconds` (5 s timeout each)."""
    took = []
    end = time.monotonic() + seconds
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, trust_env=False, timeout=5) as client:
        while time.monotonic() < end:
            for path, headers in (("/api/v1/", {}), ("/api/v1/members/", auth)):
                started = time.monotonic()
                try:
                    ok = client.get(path, headers=headers).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took.append(time.monotonic() - started if ok else float("inf"))
            time.sleep(0.1)
    return took


def describe(took: list[float]) -> str:
    """p50 / max in ms and how many failed."""
    ok = [t for t in took if t != float("inf")]
    failed = len(took) - len(ok)
    if not ok:
        return f"all {failed} failed"
    return (
        f"p50 {statistics.median(ok) * 1000:.0f} ms, max {max(ok) * 1000:.0f} ms, {failed} failed"
    )


def header_flood(url: str, pid: int, size: int) -> str:
    """8 clients at once, each a `size`-byte header field; RSS before and after, and answers."""

    def flood(_: int) -> int:
        with connect(url, timeout=30) as sock:
            with contextlib.suppress(OSError):
                sock.sendall(b"GET /api/v1/ HTTP/1.1\r\nHost: t\r\nX-Flood: ")
                chunk = b"f" * MIB
                for _ in range(size // MIB):
                    sock.sendall(chunk)
                sock.sendall(b"\r\n\r\n")
            return status_of(sock)

    before = memory(pid)[0]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(flood, range(8)))
    time.sleep(1)
    rss, peak = memory(pid)
    return (
        f"RSS {before:.0f} MB before, {rss:.0f} MB after (peak {peak:.0f} MB); answers {statuses}"
    )


def slow_bodies(url: str, token: str, seconds: float) -> str:
    """41 POSTs whose body comes a byte every 5 s; the API's latency meanwhile; their ends."""
    head = (
        b"POST /api/v1/members/ HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n{{".encode()
    )
    slow = [connect(url, timeout=seconds + 10) for _ in range(41)]
    for sock in slow:
        sock.sendall(head)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(5):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(b" ")

    threading.Thread(target=trickle, daemon=True).start()
    time.sleep(1)
    took = latencies(url, token, seconds)
    stop.set()
    with ThreadPoolExecutor(41) as pool:
        ends = list(pool.map(status_of, slow))
    for sock in slow:
        sock.close()
    answered = {code: ends.count(code) for code in sorted(set(ends))}
    return f"API during the attack: {describe(took)}; slow clients answered {answered}"


def bad_token_storm(url: str, token: str, engine) -> str:
    """100 stream requests at once with a bad token."""
    started = time.monotonic()
    storm = []
    for _ in range(100):
        sock = connect(url)
        sock.sendall(b"GET /api/v1/events/stream/ HTTP/1.1\r\nHost: t\r\n")
        sock.sendall(b"Authorization: Bearer mk_" + b"x" * 43 + b"\r\n\r\n")
        storm.append(sock)
    took = latencies(url, token, 2)
    with ThreadPoolExecutor(100) as pool:
        codes = list(pool.map(status_of, storm))
    all_answered = time.monotonic() - started
    for sock in storm:
        sock.close()
    counts = {code: codes.count(code) for code in sorted(set(codes))}
    return (
        f"answered {counts} within {all_answered:.1f} s; API meanwhile: {describe(took)}; "
        f"idle in transaction after: {idle_in_transaction(engine)}"
    )


def idle_in_transaction(engine) -> int:
    """Sessions of the database left "idle in transaction"."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def most_streams(url: str, token: str, engine, count: int, seconds: float) -> str:
    """`count` valid streams from 10 addresses and 20 tokens; the API's latency meanwhile."""
    with transaction(make_sessionmaker(engine)) as session:
        secrets = [
            tokens.create_token(session, f"bench-reader-{time.time_ns()}-{n}", TokenRole.READ_ONLY)
            for n in range(20)
        ]
    streams = []
    for n in range(count + 1):
        sock = connect(url, source=f"127.0.0.{2 + n % 10}", timeout=30)
        sock.sendall(b"GET /api/v1/events/stream/ HTTP/1.1\r\nHost: t\r\n")
        sock.sendall(f"Authorization: Bearer {secrets[n % 20]}\r\n\r\n".encode())
        streams.append(sock)
    with ThreadPoolExecutor(50) as pool:
        codes = list(pool.map(status_of, streams))
    took = latencies(url, token, seconds)
    idle = idle_in_transaction(engine)
    for sock in streams:
        sock.close()
    counts = {code: codes.count(code) for code in sorted(set(codes))}
    return (
        f"{count + 1} asked: {counts}; API meanwhile: {describe(took)}; idle in transaction: {idle}"
    )


def main() -> None:
    """Run every attack against a fresh database and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter timeout, smaller floods")
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to run")
    args = parser.parse_args()
    timeout_s = 5 if args.quick else 30
    database_url, engine = fresh_database()
    env = {"MESHKEEPER_REQUEST_TIMEOUT_S": str(timeout_s), "MESHKEEPER_ICMP_INTERVAL_S": "0"}
    with meshkeeper_run(args.code.resolve(), database_url, env) as (url, pid):
        with transaction(make_sessionmaker(engine)) as session:
            token = tokens.create_token(session, f"bench-{time.time_ns()}", TokenRole.ADMIN)
        print("header flood:", header_flood(url, pid, (16 if args.quick else 64) * MIB))
        print("slow bodies:", slow_bodies(url, token, timeout_s + 3))
        print("bad-token stream storm:", bad_token_storm(url, token, engine))
        print("200 streams:", most_streams(url, token, engine, 200, 3 if args.quick else 10))
    engine.dispose()


if __name__ == "__main__":
    main()
