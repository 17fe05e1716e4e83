"""A fixed-rate HTTP load generator (open loop, async httpx), run as its own process.

Request i is due at start + i / rate whatever happened before it, and its latency counts from
that due time, so a slow server cannot hide its queue (no coordinated omission).

    python bench/loadgen.py '{"url": ..., "token": ..., "rate": 200, "duration": 10,
                              "paths": ["/api/v1/nodes/10/", ...]}'

prints one JSON line: count, errors, status counts, p50/p90/p99/max in milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx

NAME = "meshkeeper loadgen (async httpx, open loop)"


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """The value below which `fraction` of the sorted values fall (nearest rank)."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values))) - 1))
    return sorted_values[index]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Send spec['rate'] requests per second for spec['duration'] seconds, round-robin paths."""
    rate, duration, paths = float(spec["rate"]), float(spec["duration"]), spec["paths"]
    method = spec.get("method", "GET")
    bodies = spec.get("bodies")
    headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else {}
    total = int(rate * duration)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=int(spec.get("connections", 64)))
    async with httpx.AsyncClient(
        base_url=spec["url"], headers=headers, timeout=30, limits=limits
    ) as client:

        async def one(i: int, due: float) -> None:
            try:
                kwargs = {"json": bodies[i % len(bodies)]} if bodies else {}
                response = await client.request(method, paths[i % len(paths)], **kwargs)
                await response.aread()
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            latencies.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()
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
    }


def main() -> None:
    """Read the spec from argv, run, print the JSON line."""
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
