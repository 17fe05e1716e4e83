"""What outages and incidents add to applying one ICMP cycle of 2,000 devices (issue 15, point 8).

Usage: .venv/bin/python bench/incident_cycle.py [--quick]

NYC Mesh's map feed imported into a private PostgreSQL, devices added on its nodes up to 2,000,
then cycles applied with `daemon.observe.apply_ping_results` exactly as the daemon does (one
transaction each). Two variants alternate in the same run: as shipped, and with the outage and
incident bookkeeping (`record_transitions`, `refresh_incidents`) replaced by no-ops, which is
the cycle as it was before. Measured: a steady cycle (everything up, no transition) and the
cycle in which the biggest hub and every node behind it go down (about 100 nodes, their
devices and links: outages opened, incidents found on the whole mesh's topology), and the next
cycle with them still down (an incident open, no transition). Target:
within 1.5x. `--quick`: 300 devices, two repeats. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import select, text  # noqa: E402

import daemon.observe as observe  # noqa: E402
from bench.stack import fresh_database, shared_data  # noqa: E402
from daemon.observe import DeviceResult, apply_ping_results  # noqa: E402
from ipam import models as m  # noqa: E402
from ipam.db import make_sessionmaker, transaction  # noqa: E402
from ipam.enums import DeviceStatus  # noqa: E402
from ipam.enums import ObservedStatus as S  # noqa: E402
from ipam.imports.nycmesh_import import import_map  # noqa: E402
from ipam.topology.mesh import build  # noqa: E402
from ipam.topology.store import load_links, load_nodes  # noqa: E402

TARGET_RATIO = 1.5
SHIPPED = (observe.record_transitions, observe.refresh_incidents)


def variant(shipped: bool) -> None:
    """Switch the incident bookkeeping on (as shipped) or off (the cycle as it was before)."""
    if shipped:
        observe.record_transitions, observe.refresh_incidents = SHIPPED
    else:
        observe.record_transitions = lambda *a, **k: None  # type: ignore[assignment]
        observe.refresh_incidents = lambda *a, **k: None  # type: ignore[assignment]


def main() -> None:
    """Import, grow to the device count, and time the cycles of both variants."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    target, repeat = (300, 2) if args.quick else (2000, 5)
    _, engine = fresh_database()
    sessions = make_sessionmaker(engine)
    import_map(engine, shared_data() / "nycmesh-network-map")
    with transaction(sessions) as session:
        devices = list(
            session.scalars(select(m.Device.id).where(m.Device.status == DeviceStatus.ACTIVE))
        )
        nodes = list(session.scalars(select(m.Node.id).order_by(m.Node.network_number)))
        i = 0
        while len(devices) < target:
            extra = m.Device(node_id=nodes[i % len(nodes)], name=f"bench-{i}")
            session.add(extra)
            session.flush()
            devices.append(extra.id)
            i += 1
        devices = devices[:target]
        topo = build(load_nodes(session), load_links(session))
        node_of = dict(
            session.execute(select(m.Device.__table__.c.id, m.Device.__table__.c.node_id)).all()
        )
    biggest = max(
        (nn for nn in topo.critical().articulation_points if isinstance(nn, int)),
        key=lambda nn: len(topo.impact(nn).lost),
    )
    dark_nodes = {topo.key(biggest)} | {
        topo.key(r) for r in topo.impact(biggest).lost if isinstance(r, int)
    }
    dark = {d for d in devices if str(node_of[d]) in dark_nodes}
    clock = [datetime.now(UTC) - timedelta(days=1)]

    def cycle(down: set[uuid.UUID]) -> float:
        clock[0] += timedelta(minutes=1)
        results = [DeviceResult(d, S.DOWN if d in down else S.UP, rtt_avg_ms=2.0) for d in devices]
        start = time.perf_counter()
        with transaction(sessions) as session:
            apply_ping_results(session, results, clock[0])
        return time.perf_counter() - start

    times: dict[str, dict[str, list[float]]] = {
        name: {"steady": [], "failure": [], "ongoing": []} for name in ("shipped", "before")
    }
    for _ in range(repeat):
        for name in ("before", "shipped"):
            variant(name == "shipped")
            cycle(set())
            times[name]["steady"].append(cycle(set()))
            cycle(dark)
            times[name]["failure"].append(cycle(dark))  # the second bad sweep: transitions
            times[name]["ongoing"].append(cycle(dark))  # still down: the incident stays open
            cycle(set())
            cycle(set())
    variant(True)
    with engine.connect() as conn:
        outages = conn.execute(text("SELECT count(*) FROM outage")).scalar()
        incidents = conn.execute(text("SELECT count(*) FROM incident")).scalar()
    figures: dict[str, Any] = {
        "bench": "incident_cycle",
        "devices": len(devices),
        "dark_nodes": len(dark_nodes),
        "dark_devices": len(dark),
        "outages_written": outages,
        "incidents_written": incidents,
        "target_ratio": TARGET_RATIO,
    }
    for kind in ("steady", "failure", "ongoing"):
        shipped = statistics.median(times["shipped"][kind])
        before = statistics.median(times["before"][kind])
        figures[kind] = {
            "shipped_ms": round(shipped * 1000, 1),
            "before_ms": round(before * 1000, 1),
            "ratio": round(shipped / before, 2),
        }
        print(
            f"{kind} cycle of {len(devices)} devices: {shipped * 1000:.0f} ms with outages and "
            f"incidents, {before * 1000:.0f} ms without ({shipped / before:.2f}x)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
