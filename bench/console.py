"""The console's pages on NYC Mesh's data, each beside the JSON API answer for the same data.

A person signed in (cookie) asks for each page at a fixed rate from the load generator's own
process; the JSON twin is asked the same way with a token. Target: every page under 100 ms at
p99 (nycmeshnet/meshdb #213 reports 20 s admin pages). `--quick` uses the test fixture.

The devices on the node and device pages measured have a day of history, as a polled mesh has
(a ping a minute, SNMP radio figures every 5 minutes, rolled up as the daemon does), so those
pages draw their graphs (api/ui/graphs.py) from the same tables a live install reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import select, text, update  # noqa: E402

from bench.history import fill_raw  # noqa: E402
from bench.loadgen import measure  # noqa: E402
from bench.stack import REPO, fresh_database, served, shared_data  # noqa: E402
from daemon.observe import DeviceResult, apply_ping_results  # noqa: E402
from ipam import models as m  # noqa: E402
from ipam.db import make_sessionmaker, transaction  # noqa: E402
from ipam.enums import ObservedStatus, TokenRole  # noqa: E402
from ipam.imports.nycmesh_import import import_map  # noqa: E402
from ipam.observed.history import maintain, tiers  # noqa: E402
from ipam.records import people  # noqa: E402
from ipam.settings import Settings  # noqa: E402

TARGET_MS = 100.0
PASSWORD = "benchmark password"


def _load(url: str, paths: list[str], rate: float, duration: float, **auth: Any) -> dict[str, Any]:
    return measure({"url": url, "paths": paths, "rate": rate, "duration": duration, **auth})


def _polled(engine: Any, sessions: Any, ids: list[uuid.UUID]) -> int:
    """A day of history for these devices, each observed up at an address; samples written.

    The addresses are 198.18.0.0/15's (RFC 2544's benchmarking range): stored, never probed.
    """
    now = datetime.now(UTC)
    results = [
        DeviceResult(i, ObservedStatus.UP, f"198.18.{k // 250}.{k % 250 + 1}", 2.0, 5.0, 9.0, 0.0)
        for k, i in enumerate(ids)
    ]
    with transaction(sessions) as session:
        apply_ping_results(session, results, now)
        # A radio on each, so the device page asks for its radio series too (the most it draws).
        session.execute(
            update(m.DeviceObservation)
            .where(m.DeviceObservation.device_id.in_(ids))
            .values(radio={"radios": [{"signal_dbm": -62.0, "noise_floor_dbm": -95.0}]})
        )
    samples = fill_raw(engine, ids, now - timedelta(days=1), 24 * 60)
    with transaction(sessions) as session:
        maintain(session, now, tiers(Settings()))
    return samples


def _pairs(session: Any) -> list[tuple[str, list[str], list[str]]]:
    """(page, console paths, JSON twin paths) over real records of the imported feed."""
    hubs = list(
        session.scalars(
            select(m.Node.network_number)
            .where(m.Node.network_number.is_not(None), m.Node.type.in_(["Hub", "Supernode"]))
            .limit(20)
        )
    ) or list(
        session.scalars(select(m.Node.network_number).where(m.Node.network_number > 0).limit(20))
    )
    devices = [str(i) for i in session.scalars(select(m.Device.id).limit(20))]
    members = [str(i) for i in session.scalars(select(m.Member.id).limit(20))]
    names = [n.split()[0] for n in session.scalars(select(m.Member.name).limit(20)) if n]
    return [
        ("status", ["/ui/"], ["/api/v1/health/?observed_status=down&recorded_status=Active"]),
        (
            "node",
            [f"/ui/nodes/{nn}/" for nn in hubs],
            [f"/api/v1/nodes/{nn}/health/" for nn in hubs],
        ),
        (
            "device",
            [f"/ui/devices/{d}/" for d in devices],
            [f"/api/v1/devices/{d}/health/" for d in devices],
        ),
        (
            "search",
            [f"/ui/search?q={n}" for n in names],
            [f"/api/v1/members/lookup/?name={n}" for n in names],
        ),
        (
            "member form",
            [f"/ui/records/members/{i}/" for i in members],
            [f"/api/v1/members/{i}/" for i in members],
        ),
        ("installs list", ["/ui/records/installs/"], ["/api/v1/installs/?page_size=50"]),
        ("map data", ["/ui/map.json"], ["/api/v1/topology/?format=geojson"]),
    ]


def main() -> int:
    """Import, serve, load each page and its twin, print a table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    duration, rate = (1.0, 10) if args.quick else (8.0, 20)
    feed = (
        REPO / "tests" / "fixtures" / "nycmesh-map"
        if args.quick
        else shared_data() / "nycmesh-network-map"
    )
    database_url, engine = fresh_database()
    import_map(engine, feed)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        people.create_person(session, "bench", TokenRole.READ_ONLY, PASSWORD)
        pairs = _pairs(session)
        paths = {name: pages for name, pages, _ in pairs}
        hubs = [int(p.split("/")[3]) for p in paths["node"]]
        shown = [uuid.UUID(p.split("/")[3]) for p in paths["device"]]
        ids = list(
            session.scalars(
                select(m.Device.id)
                .join(m.Node, m.Node.id == m.Device.node_id)
                .where(m.Node.network_number.in_(hubs) | m.Device.id.in_(shown))
            )
        )
    samples = _polled(engine, sessions, ids)
    print(f"history: {samples} samples over a day for {len(ids)} devices")
    results: dict[str, Any] = {}
    with served(database_url, engine) as stack:
        login = {"username": "bench", "password": PASSWORD}
        signed_in = httpx.post(f"{stack.url}/ui/login", data=login, timeout=60)
        cookie = f"meshkeeper_session={signed_in.cookies['meshkeeper_session']}"
        for name, pages, twins in pairs:
            for path in pages:  # one pass first: steady state, not a cold start
                httpx.get(stack.url + path, headers={"Cookie": cookie}, timeout=60)
            page = _load(stack.url, pages, rate, duration, headers={"Cookie": cookie})
            twin = _load(stack.url, twins, rate, duration, token=stack.token)
            met = page["errors"] == 0 and (page["p99_ms"] or 0) <= TARGET_MS
            results[name] = {"page": page, "json": twin, "met": met}
            print(
                f"{name:14} page p50 {page['p50_ms']:6.1f} p99 {page['p99_ms']:6.1f} ms  "
                f"JSON p50 {twin['p50_ms']:6.1f} p99 {twin['p99_ms']:6.1f} ms  "
                f"errors {page['errors']}/{twin['errors']}  {'ok' if met else 'MISSED'}"
            )
    engine.dispose()
    print(
        json.dumps(
            {
                "bench": "console",
                "quick": args.quick,
                "rate": rate,
                "target_p99_ms": TARGET_MS,
                "pages": results,
                "all_met": all(r["met"] for r in results.values()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
