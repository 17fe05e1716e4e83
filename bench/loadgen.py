"""A fixed-rate HTTP load generator (open loop, asyncio, raw HTTP/1.1 keep-alive), own process.

Request i is due at start + i / rate whatever happened before it, and its latency counts from
that due time, so a slow server cannot hide its queue (no coordinated omission, as wrk2).
A pool of keep-alive connections takes due requests from one queue. It speaks just enough
HTTP/1.1 for JSON answers with a Content-Length: a client library (httpx was tried) spent
several milliseconds of CPU per request here, more than the server it was measuring.

    python bench/loadgen.py '{"url": "http://127.0.0.1:8080", "token": ..., "rate": 200,
                              "duration": 10, "paths": ["/api/v1/nodes/10/", ...]}'

prints one JSON line: count, errors, status counts, p50/p90/p99/max in milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

NAME = "meshkeeper loadgen (asyncio raw HTTP/1.1 keep-alive, open loop)"


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """The value below which `fraction` of the sorted values fall (nearest rank)."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values))) - 1))
    return sorted_values[index]


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request on a kept-alive connection; read the whole answer; its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Send spec['rate'] requests per second for spec['duration'] seconds, round-robin paths."""
    rate, duration, paths = float(spec["rate"]), float(spec["duration"]), spec["paths"]
    url = urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    auth = f"Authorization: Bearer {spec['token']}\r\n" if spec.get("token") else ""
    auth += "".join(f"{name}: {value}\r\n" for name, value in spec.get("headers", {}).items())
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}Accept: */*\r\n\r\n".encode()
        for p in paths
    ]
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    timed: list[tuple[float, float]] = []  # (latency, when it was due): where the tail came from
    statuses: Counter[str] = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while (item := await queue.get()) is not None:
            index, due = item
            try:
                status = await _exchange(reader, writer, requests[index % len(requests)])
                statuses[str(status)] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                statuses[type(exc).__name__] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            timed.append(((time.perf_counter() - due) * 1000, due - start))
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(int(spec.get("connections", 16)))]
    start = time.perf_counter() + 0.1
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    timed.sort()
    latencies = [ms for ms, _ in timed]
    errors = sum(n for code, n in statuses.items() if not code.startswith("2"))
    return {
        "generator": NAME,
        "count": total,
        "achieved_rate": round(total / elapsed, 1) if elapsed > 0 else None,
        "errors": errors,
        "status": dict(statuses),
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else None,
        # The ten slowest, with the second of the run they were due in: one stall or many.
        "slowest": [[round(ms, 1), round(at, 2)] for ms, at in timed[-10:]],
    }


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run this generator in a process of its own (not the measured one's CPU); its figures."""
    import subprocess
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=float(spec["duration"]) * 10 + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Read the spec from argv, run, print the JSON line."""
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
