"""The API under load: NYC Mesh's map feed imported, a fixed request rate from another process.

For each endpoint: p50 / p99 latency and errors at its rate, against its target, beside the
health check (one trivial query through the same stack) as the floor. Each endpoint is
measured after one sequential warm-up pass over its distinct paths (steady state: answers
are cached until something changes). `--quick` uses the small test fixture and short runs.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.stack import REPO, fresh_database, served, shared_data  # noqa: E402
from ipam import models as m  # noqa: E402
from ipam.db import make_sessionmaker, transaction  # noqa: E402
from ipam.imports.nycmesh_import import import_map  # noqa: E402

STREETS = ["Clarkson Av", "Eastern Parkway", "Jefferson Street", "Vernon Avenue", "East 7th Street"]


def scenarios(nns: list[int], pages: int, quick: bool) -> list[dict[str, Any]]:
    """Endpoint, rate (requests/s) and p99 target in ms, as the issue sets them."""
    sample = random.Random(7).choices(nns, k=500)
    cases = [
        ("GET /nodes/<nn>/", [f"/api/v1/nodes/{n}/" for n in sample], 200, 20),
        ("GET /nodes/<nn>/health/", [f"/api/v1/nodes/{n}/health/" for n in sample], 200, 20),
        (
            "GET /installs/?page_size=100",
            [f"/api/v1/installs/?page_size=100&page={1 + i % pages}" for i in range(500)],
            100,
            50,
        ),
        (
            "GET /installs/lookup/?network_number=",
            [f"/api/v1/installs/lookup/?network_number={n}" for n in sample],
            100,
            30,
        ),
        (
            "GET /buildings/lookup/?street_address=",
            [f"/api/v1/buildings/lookup/?street_address={s.split()[0]}" for s in STREETS],
            100,
            30,
        ),
        ("GET /mapdata/nodes/ (full feed)", ["/api/v1/mapdata/nodes/"], 5, 300),
    ]
    # The quick mode (CI) only proves the benchmark runs: a quarter of the rate.
    scale = 0.25 if quick else 1.0
    return [
        {"name": name, "paths": paths, "rate": max(2, int(rate * scale)), "target": target}
        for name, paths, rate, target in cases
    ]


def load(url: str, token: str, paths: list[str], rate: float, duration: float) -> dict[str, Any]:
    """Run the load generator in its own process and read its figures."""
    spec = {"url": url, "token": token, "paths": paths, "rate": rate, "duration": duration}
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "loadgen.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=duration * 10 + 120,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def warm_up(url: str, token: str, paths: list[str]) -> float:
    """One sequential pass over the distinct paths, not measured: steady state, not a cold start."""
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for path in dict.fromkeys(paths):
            c.get(path)
    return time.perf_counter() - started


def add_addresses(engine: Any, count: int) -> None:
    """The feed has no street addresses: give some buildings synthetic ones to look up."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE building SET street_address = :prefix || (random() * 500)::int || ' ' || "
                "(ARRAY[:a, :b, :c, :d, :e])[1 + floor(random() * 5)::int], city = 'Brooklyn' "
                "WHERE id IN (SELECT id FROM building ORDER BY id LIMIT :n)"
            ),
            {"prefix": "", "n": count, **dict(zip("abcde", STREETS, strict=True))},
        )


def main() -> int:
    """Import, serve, load each endpoint in turn, print a table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args()
    duration = args.duration or (1.5 if args.quick else 10.0)
    feed = (
        REPO / "tests" / "fixtures" / "nycmesh-map"
        if args.quick
        else shared_data() / "nycmesh-network-map"
    )
    database_url, engine = fresh_database()
    report = import_map(engine, feed)
    add_addresses(engine, 3000)
    # As a running database would be: vacuumed and analysed, not mid-autovacuum after a bulk load.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    with transaction(make_sessionmaker(engine)) as session:
        nns = list(session.scalars(select(m.Node.network_number).where(m.Node.network_number > 0)))
        installs = session.scalar(text("SELECT count(*) FROM install")) or 0
    pages = max(1, installs // 100)
    print(f"imported {report.rows} rows: {installs} installs, {len(nns)} nodes with an NN")
    results: dict[str, Any] = {}
    with served(database_url, engine) as stack:
        floor = load(stack.url, stack.token, ["/api/v1/"], 200 if not args.quick else 50, duration)
        print(f"floor (GET /api/v1/): p50 {floor['p50_ms']:.1f} ms p99 {floor['p99_ms']:.1f} ms")
        for case in scenarios(nns, pages, args.quick):
            warm = warm_up(stack.url, stack.token, case["paths"])
            figures = load(stack.url, stack.token, case["paths"], case["rate"], duration)
            figures["warm_up_s"] = round(warm, 2)
            figures.update(rate=case["rate"], target_p99_ms=case["target"])
            figures["met"] = figures["errors"] == 0 and (figures["p99_ms"] or 0) <= case["target"]
            results[case["name"]] = figures
            print(
                f"{case['name']:45} {case['rate']:>4}/s  p50 {figures['p50_ms']:7.1f} ms  "
                f"p99 {figures['p99_ms']:7.1f} ms (target {case['target']})  "
                f"errors {figures['errors']}  {'ok' if figures['met'] else 'MISSED'}"
            )
    engine.dispose()
    print(
        json.dumps(
            {
                "bench": "api_load",
                "quick": args.quick,
                "generator": floor["generator"],
                "installs": installs,
                "duration_s": duration,
                "floor": floor,
                "endpoints": results,
                "all_met": all(r["met"] for r in results.values()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
