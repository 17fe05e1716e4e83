"""NN assignment throughput: 50 concurrent clients assigning numbers to Pending installs.

Every answer must be 201 with a distinct NN and no 5xx. The floor is the same clients asking
the health check (one trivial query through the same stack) as many times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.stack import fresh_database, served  # noqa: E402
from ipam import models as m  # noqa: E402
from ipam.db import make_sessionmaker, transaction  # noqa: E402

NAME = "asyncio httpx clients (closed loop)"


def make_installs(engine, count: int) -> list[int]:
    """Pending installs, each in its own building: each assignment makes a new node."""
    with transaction(make_sessionmaker(engine)) as session:
        member = m.Member(name="Bench")
        rows = [
            m.Install(
                member=member,
                building=m.Building(latitude=40.7, longitude=-73.9),
                status="Pending",
            )
            for _ in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.install_number for row in rows]


async def clients(url: str, token: str, requests: list[tuple[str, str, dict | None]], n: int):
    """n clients share the request list; each sends its next request when the last returns."""
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    answers: list[httpx.Response] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                method, path, body = queue.get_nowait()
                answers.append(await client.request(method, path, json=body))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(n)))
        return answers, time.perf_counter() - started


def main() -> int:
    """Assign, check, print the figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    count = 100 if args.quick else 1000
    database_url, engine = fresh_database()
    numbers = make_installs(engine, count)
    with served(database_url, engine) as stack:
        floor, floor_s = asyncio.run(
            clients(stack.url, stack.token, [("GET", "/api/v1/", None)] * count, args.clients)
        )
        assigns = [("POST", "/api/v1/nn-assign/", {"install_number": n}) for n in numbers]
        answers, took = asyncio.run(clients(stack.url, stack.token, assigns, args.clients))
    engine.dispose()
    nns = [a.json().get("network_number") for a in answers if a.status_code in (200, 201)]
    figures = {
        "bench": "nn_assign",
        "generator": NAME,
        "assignments": count,
        "clients": args.clients,
        "seconds": round(took, 3),
        "per_second": count / took,
        "distinct": len(set(nns)) == count,
        "errors_5xx": sum(1 for a in answers if a.status_code >= 500),
        "status": sorted({a.status_code for a in answers}),
        "floor_per_second": count / floor_s,
    }
    print(
        f"{count} assigns from {args.clients} clients: {figures['per_second']:.0f}/s "
        f"(health check floor {figures['floor_per_second']:.0f}/s), distinct NNs: "
        f"{figures['distinct']}, 5xx: {figures['errors_5xx']}"
    )
    print(json.dumps(figures))
    return 0 if figures["distinct"] and not figures["errors_5xx"] else 1


if __name__ == "__main__":
    sys.exit(main())
