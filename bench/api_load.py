"""The API under load: NYC Mesh's map feed imported, a fixed request rate from another process.

For each endpoint: p50 / p99 latency and errors at its rate, against its target, beside the
health check (one trivial query through the same stack) as the floor. Each endpoint is
measured after one sequential warm-up pass over its distinct paths (steady state: answers
are cached until something changes). `--quick` uses the small test fixture and short runs.

`--polling` measures instead what a running meshkeeper does (issue 16): one monitored device
per node on a loopback address (127.x.y.z), ICMP every 10 s (2 s in the quick mode), node GET
and node health at 200 requests/s, first with polling off and then on, in the same run, both
in `meshkeeper run` and with `meshkeeper api` beside `meshkeeper daemon`; it prints the ratio.
Raw ICMP sockets need root or CAP_NET_RAW (else the kernel's ping sockets are used).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.loadgen import measure  # noqa: E402
from bench.stack import REPO, cpu_seconds, fresh_database, served, shared_data  # noqa: E402
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
    return measure(spec)


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


def add_loopback_devices(engine: Any) -> int:
    """One Active device per node, probed at its own loopback address 127.x.y.z."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                text(
                    "INSERT INTO device (id, kind, node_id, name, status, management_address) "
                    "SELECT gen_random_uuid(), 'device', id, 'nn' || coalesce(network_number, 0) "
                    "|| '-router', 'Active', ('127.1.0.0'::inet + row_number() OVER (ORDER BY id))"
                    " FROM node WHERE network_number IS NOT NULL"
                )
            ).rowcount
        )


def cycles_done(engine: Any) -> int:
    """ICMP cycles finished so far (the daemon's own record)."""
    with engine.connect() as conn:
        found = conn.scalar(text("SELECT runs_total FROM collector_state WHERE name = 'icmp'"))
    return int(found or 0)


def polling_runs(
    database_url: str, engine: Any, nns: list[int], quick: bool, duration: float
) -> dict[str, Any]:
    """Node GET and health at 200/s with polling off, then on; in one process and in two."""
    sample = random.Random(7).choices(nns, k=500)
    rate = 50 if quick else 200
    interval = 2 if quick else 10
    cases = {
        "GET /nodes/<nn>/": [f"/api/v1/nodes/{n}/" for n in sample],
        "GET /nodes/<nn>/health/": [f"/api/v1/nodes/{n}/health/" for n in sample],
    }
    out: dict[str, Any] = {"rate": rate, "icmp_interval_s": interval, "target_p99_ms": 20}
    for layout, commands in (("run", ("run",)), ("api+daemon", ("api", "daemon"))):
        for polling in (False, True):
            env = {
                "MESHKEEPER_PROBE_NETWORKS": "127.0.0.0/8",
                "MESHKEEPER_ICMP_INTERVAL_S": str(interval if polling else 0),
                "MESHKEEPER_SNMP_INTERVAL_S": "0",
                "MESHKEEPER_ICMP_TIMEOUT_S": "1",
                "MESHKEEPER_JITTER_S": "0",
            }
            before = cycles_done(engine)
            with served(database_url, engine, commands, env) as stack:
                for name, paths in cases.items():
                    warm_up(stack.url, stack.token, paths)
                    key = f"{layout}, polling {'on' if polling else 'off'}: {name}"
                    cpu = [cpu_seconds(pid) for pid in stack.pids]
                    figures = load(stack.url, stack.token, paths, rate, duration)
                    used = [cpu_seconds(pid) - c for pid, c in zip(stack.pids, cpu, strict=True)]
                    # The API's process (run's only one) per request; the daemon's in all.
                    figures["server_cpu_ms_per_request"] = round(
                        used[0] * 1000 / figures["count"], 2
                    )
                    figures["server_cpu_s"] = [round(u, 2) for u in used]
                    out[key] = figures
                    print(
                        f"{key:50} {rate:>4}/s  p50 {figures['p50_ms']:7.1f} ms  "
                        f"p99 {figures['p99_ms']:7.1f} ms  max {figures['max_ms']:7.1f} ms  "
                        f"errors {figures['errors']}  "
                        f"CPU {figures['server_cpu_ms_per_request']} ms/request "
                        f"(processes: {figures['server_cpu_s']} s)"
                    )
            if polling:
                out[f"{layout}: cycles during the load"] = cycles_done(engine) - before
    for layout in ("run", "api+daemon"):
        for name in cases:
            on, off = out[f"{layout}, polling on: {name}"], out[f"{layout}, polling off: {name}"]
            ratio = on["p99_ms"] / off["p99_ms"] if off["p99_ms"] else None
            out[f"{layout}: {name} p99 on/off"] = ratio and round(ratio, 2)
            print(f"{layout}: {name} p99 polling on / off: {ratio:.2f}x")
    out["met"] = all(
        v["errors"] == 0 and (v["p99_ms"] or 0) <= 20
        for k, v in out.items()
        if isinstance(v, dict) and "polling on" in k
    )
    return out


def main() -> int:
    """Import, serve, load each endpoint in turn, print a table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--polling", action="store_true", help="the polling on/off scenario")
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args()
    duration = args.duration or (1.5 if args.quick else 10.0)
    if args.polling and not args.duration:
        duration = 4.0 if args.quick else 30.0  # long enough for several cycles under load
    feed = (
        REPO / "tests" / "fixtures" / "nycmesh-map"
        if args.quick
        else shared_data() / "nycmesh-network-map"
    )
    database_url, engine = fresh_database()
    report = import_map(engine, feed)
    add_addresses(engine, 3000)
    devices = add_loopback_devices(engine) if args.polling else 0
    # As a running database would be: vacuumed and analysed, not mid-autovacuum after a bulk load.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    with transaction(make_sessionmaker(engine)) as session:
        nns = list(session.scalars(select(m.Node.network_number).where(m.Node.network_number > 0)))
        installs = session.scalar(text("SELECT count(*) FROM install")) or 0
    pages = max(1, installs // 100)
    print(f"imported {report.rows} rows: {installs} installs, {len(nns)} nodes with an NN")
    if args.polling:
        print(f"{devices} monitored devices on loopback addresses")
        polling = polling_runs(database_url, engine, nns, args.quick, duration)
        engine.dispose()
        print(
            json.dumps(
                {
                    "bench": "api_polling",
                    "quick": args.quick,
                    "devices": devices,
                    "duration_s": duration,
                    **polling,
                }
            )
        )
        return 0
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
