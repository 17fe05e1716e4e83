"""Measurement history: what it adds to a poll cycle, what a series costs, what a year weighs.

Run from the repository: ``.venv/bin/python bench/history.py [--quick]``.

1. A ping cycle of 2,000 devices (apply_ping_results, one transaction) with history off and on,
   alternating in the same run on the same database; the median of each and their ratio
   (goal: on within 1.5x of off).
2. A 30-day series of one device from `meshkeeper api` over loopback HTTP, from the
   5-minute and hourly rollups, with the other devices' rows beside it (goal: under 50 ms).
3. Storage: rows inserted into the real tables, pg_total_relation_size (heap, TOAST, indexes)
   over the row count, extrapolated to NYC Mesh (2,000 devices, 60 s pings, 300 s SNMP polls);
   and the same rows in the BRIN layout against time partitions (load, bytes, retention).

Human-readable lines first; the last line is one JSON object.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from bench.stack import fresh_database, served  # noqa: E402
from daemon.observe import DeviceResult, apply_ping_results  # noqa: E402
from ipam import models as m  # noqa: E402
from ipam.db import make_sessionmaker, transaction  # noqa: E402
from ipam.enums import ObservedStatus as S  # noqa: E402
from ipam.observed.history import maintain, tiers  # noqa: E402
from ipam.settings import Settings  # noqa: E402

GOAL_RATIO = 1.5
GOAL_SERIES_MS = 50.0
MESH_DEVICES, PING_S, SNMP_S = 2000, 60, 300
DAY = 86400


def make_devices(engine: Engine, count: int) -> list[uuid.UUID]:
    """count Active devices, five to a node."""
    with transaction(make_sessionmaker(engine)) as session:
        devices = []
        for n in range(0, count, 5):
            node = m.Node(network_number=100 + n // 5, status="Active", name=f"bench {n}")
            session.add(node)
            session.flush()
            for i in range(min(5, count - n)):
                devices.append(m.Device(node_id=node.id, name=f"bench-{n + i}", status="Active"))
        session.add_all(devices)
        session.flush()
        return [d.id for d in devices]


def cycle(engine: Engine, ids: list[uuid.UUID], at: datetime, history: bool) -> float:
    """One ping cycle applied and committed; its wall time."""
    results = [
        DeviceResult(d, S.UP, "127.0.0.1", 1.0 + i % 7, 2.0 + i % 7, 4.0 + i % 7, 0.0)
        for i, d in enumerate(ids)
    ]
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    with transaction(sessions) as session:
        apply_ping_results(session, results, at, history=history)
    return time.perf_counter() - started


def bench_cycle(engine: Engine, ids: list[uuid.UUID], rounds: int, now: datetime) -> dict:
    """History off and on in turns (which goes first alternates); medians and their ratio."""
    cycle(engine, ids, now - timedelta(hours=1), history=False)  # creates the observation rows
    times: dict[bool, list[float]] = {False: [], True: []}
    for r in range(rounds):
        at = now - timedelta(minutes=50 - r)
        first = r % 2 == 0
        times[first].append(cycle(engine, ids, at, history=first))
        times[not first].append(cycle(engine, ids, at + timedelta(seconds=30), history=not first))
    off_s, on_s = statistics.median(times[False]), statistics.median(times[True])
    return {
        "devices": len(ids),
        "rounds": rounds,
        "cycle_off_s": off_s,
        "cycle_on_s": on_s,
        "cycle_ratio": on_s / off_s,
    }


ICMP_COLUMNS = "rtt_min_ms, rtt_avg_ms, rtt_max_ms, packet_loss"
SNMP_COLUMNS = (
    "uptime_s, signal_dbm, noise_floor_dbm, snr_db, ccq_pct, tx_capacity_bps, rx_capacity_bps"
)


def fill_raw(engine: Engine, ids: list[uuid.UUID], since: datetime, minutes: int) -> int:
    """A ping sample a minute and an SNMP sample every 5 minutes per device, server-side."""
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO device_sample (device_id, at, {ICMP_COLUMNS}) "
                "SELECT d, :since + make_interval(mins => i), 1 + random() * 20, "
                "5 + random() * 20, 30 + random() * 20, (random() < 0.05)::int * 0.333 "
                "FROM unnest(CAST(:ids AS uuid[])) d, generate_series(0, :n - 1) i "
                "ORDER BY 2"
            ),
            {"ids": ids, "since": since, "n": minutes},
        )
        conn.execute(
            text(
                f"INSERT INTO device_sample (device_id, at, {SNMP_COLUMNS}) "
                "SELECT d, :since + make_interval(mins => i), 86400 + i * 60, -60 - random() * 10,"
                " -95, 35 - random() * 10, 80 + random() * 20, 150000000, 150000000 "
                "FROM unnest(CAST(:ids AS uuid[])) d, generate_series(0, :n - 1, 5) i "
                "ORDER BY 2"
            ),
            {"ids": ids, "since": since, "n": minutes},
        )
        return int(conn.scalar(text("SELECT count(*) FROM device_sample")) or 0)


def sizes(engine: Engine) -> dict:
    """Rows and bytes (table + indexes) of each history table, after VACUUM ANALYZE."""
    out = {}
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("device_sample", "device_rollup_5m", "device_rollup_1h"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
            rows = int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
            total = int(conn.scalar(text(f"SELECT pg_total_relation_size('{table}')")) or 0)
            out[table] = {"rows": rows, "bytes": total, "bytes_per_row": total / max(rows, 1)}
        for index in ("ix_device_sample_at_brin", "ix_device_sample_device_id_at"):
            out[index] = int(conn.scalar(text(f"SELECT pg_relation_size('{index}')")) or 0)
    return out


def _timed(conn: Any, sql: str) -> float:
    started = time.perf_counter()
    conn.execute(text(sql))
    return time.perf_counter() - started


def compare_layouts(engine: Engine, since: datetime, minutes: int) -> dict:
    """The measured samples copied into the BRIN layout and into hourly partitions.

    Time to load them, bytes, and retention (deleting the oldest hour against dropping its
    partition): the figures behind the choice in ipam/observed/history.py.
    """
    hours = minutes // 60 + 2
    first = since.replace(minute=0, second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_brin (LIKE device_sample INCLUDING ALL)"))
        conn.execute(
            text(
                "CREATE TABLE bench_part (LIKE device_sample INCLUDING DEFAULTS) "
                "PARTITION BY RANGE (at)"
            )
        )
        for h in range(hours):
            low, high = first + timedelta(hours=h), first + timedelta(hours=h + 1)
            conn.execute(
                text(
                    f"CREATE TABLE bench_part_{h} PARTITION OF bench_part "
                    f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
                )
            )
        conn.execute(text("CREATE INDEX ON bench_part (device_id, at)"))
    out: dict[str, Any] = {}
    with engine.begin() as conn:
        out["brin_load_s"] = _timed(conn, "INSERT INTO bench_brin SELECT * FROM device_sample")
    with engine.begin() as conn:
        out["partitioned_load_s"] = _timed(
            conn, "INSERT INTO bench_part SELECT * FROM device_sample"
        )
    with engine.connect() as conn:
        out["brin_bytes"] = int(conn.scalar(text("SELECT pg_total_relation_size('bench_brin')")))
        out["partitioned_bytes"] = int(
            conn.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(relid)) "
                    "FROM pg_partition_tree('bench_part') WHERE isleaf"
                )
            )
        )
    cut = (first + timedelta(hours=1)).isoformat()
    with engine.begin() as conn:
        out["brin_retention_s"] = _timed(conn, f"DELETE FROM bench_brin WHERE at < '{cut}'")
    with engine.begin() as conn:
        out["partitioned_retention_s"] = _timed(conn, "DROP TABLE bench_part_0")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_brin, bench_part"))
    out["partitions"] = hours
    return out


def year_of_nyc_mesh(per_row: dict[str, float], settings: Settings) -> dict:
    """Steady-state bytes for 2,000 devices after one and two years of 60 s / 300 s polls."""
    raw_rows = MESH_DEVICES * (DAY // PING_S + DAY // SNMP_S) * settings.history_raw_days
    five_rows = MESH_DEVICES * (DAY // 300) * settings.history_5m_days
    hour_rows = MESH_DEVICES * 24 * 365
    one_year = (
        raw_rows * per_row["device_sample"]
        + five_rows * per_row["device_rollup_5m"]
        + hour_rows * per_row["device_rollup_1h"]
    )
    two_years = one_year + hour_rows * per_row["device_rollup_1h"]
    return {
        "raw_rows": raw_rows,
        "rollup_5m_rows": five_rows,
        "rollup_1h_rows_per_year": hour_rows,
        "one_year_gib": one_year / 2**30,
        "two_years_gib": two_years / 2**30,
    }


def fill_rollups(engine: Engine, ids: list[uuid.UUID], now: datetime, days: int) -> None:
    """30 days of 5-minute and hourly ICMP rollup rows for these devices, server-side."""
    with engine.begin() as conn:
        for table, seconds in (("device_rollup_5m", 300), ("device_rollup_1h", 3600)):
            conn.execute(
                text(
                    f"INSERT INTO {table} (device_id, bucket, rtt_avg_ms_min, rtt_avg_ms_avg, "
                    "rtt_avg_ms_max, rtt_avg_ms_n) "
                    "SELECT d, date_bin(make_interval(secs => :s), :now, TIMESTAMPTZ "
                    "'2000-01-01Z') - make_interval(secs => :s * i), 3, 8 + random(), 25, :n "
                    "FROM unnest(CAST(:ids AS uuid[])) d, generate_series(1, :count) i "
                    "ON CONFLICT DO NOTHING"
                ),
                {
                    "ids": ids,
                    "now": now,
                    "s": seconds,
                    "n": seconds // 60,
                    "count": days * DAY // seconds,
                },
            )
        conn.execute(
            text(
                "INSERT INTO history_rollup (tier, done_until) VALUES ('5m', :now), ('1h', :now) "
                "ON CONFLICT (tier) DO UPDATE SET done_until = EXCLUDED.done_until"
            ),
            {"now": now},
        )


def bench_series(database_url: str, engine: Engine, device: uuid.UUID, repeats: int) -> dict:
    """p50, min and max of 30-day series requests at 5 m and 1 h to `meshkeeper api`, uncached."""
    start = datetime.now(UTC) - timedelta(days=30)
    out = {}
    with served(database_url, engine) as stack:
        headers = {"Authorization": f"Bearer {stack.token}"}
        with httpx.Client(base_url=stack.url, headers=headers, timeout=30) as client:
            for step in ("5m", "1h"):
                times, points = [], 0
                for i in range(repeats + 1):
                    # A different `since` each time (same buckets): every answer is computed,
                    # none comes from the response cache.
                    since = (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
                    url = f"/api/v1/devices/{device}/series/"
                    query = {"metric": "rtt_avg_ms", "since": since, "step": step}
                    started = time.perf_counter()
                    response = client.get(url, params=query)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                    points = len(response.json()["points"])
                times = times[1:]  # the first request warms the process's pools
                out[step] = {
                    "p50_ms": statistics.median(times),
                    "min_ms": min(times),
                    "max_ms": max(times),
                    "points": points,
                }
    return out


def main() -> int:
    """Run the three parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, raw_minutes, others = (3, 60, 20) if args.quick else (9, 24 * 60, 200)
    settings = Settings()
    database_url, engine = fresh_database()
    now = datetime.now(UTC)
    ids = make_devices(engine, MESH_DEVICES)

    doc: dict = {"bench": "history", "quick": args.quick}
    doc.update(bench_cycle(engine, ids, rounds, now))
    print(
        f"ping cycle of {doc['devices']} devices: history off {doc['cycle_off_s']:.3f} s, "
        f"on {doc['cycle_on_s']:.3f} s, ratio {doc['cycle_ratio']:.2f}x (goal <= {GOAL_RATIO})"
    )

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE device_sample"))
    doc["raw_rows_measured"] = fill_raw(
        engine, ids, now - timedelta(minutes=raw_minutes), raw_minutes
    )
    with transaction(make_sessionmaker(engine)) as session:
        maintain(session, now, tiers(settings))
    table_sizes = sizes(engine)
    per_row = {
        t: table_sizes[t]["bytes_per_row"]
        for t in ("device_sample", "device_rollup_5m", "device_rollup_1h")
    }
    doc["bytes_per_row"] = per_row
    doc["index_bytes"] = {
        "brin_at": table_sizes["ix_device_sample_at_brin"],
        "btree_device_at": table_sizes["ix_device_sample_device_id_at"],
    }
    doc["nyc_mesh"] = year_of_nyc_mesh(per_row, settings)
    print(
        f"bytes per row (table + indexes): raw {per_row['device_sample']:.0f}, "
        f"5m {per_row['device_rollup_5m']:.0f}, 1h {per_row['device_rollup_1h']:.0f} "
        f"({doc['raw_rows_measured']} raw rows measured); BRIN on time "
        f"{doc['index_bytes']['brin_at']} bytes beside the btree's "
        f"{doc['index_bytes']['btree_device_at']}"
    )
    print(
        f"NYC Mesh ({MESH_DEVICES} devices, {PING_S} s pings, {SNMP_S} s SNMP): "
        f"{doc['nyc_mesh']['one_year_gib']:.1f} GiB after a year, "
        f"{doc['nyc_mesh']['two_years_gib']:.1f} GiB after two (steady state)"
    )

    doc["layouts"] = compare_layouts(engine, now - timedelta(minutes=raw_minutes), raw_minutes)
    lay = doc["layouts"]
    print(
        f"same samples, BRIN table against {lay['partitions']} hourly partitions: load "
        f"{lay['brin_load_s']:.2f} s / {lay['partitioned_load_s']:.2f} s, "
        f"{lay['brin_bytes'] / 2**20:.1f} MiB / {lay['partitioned_bytes'] / 2**20:.1f} MiB, "
        f"dropping the oldest hour {lay['brin_retention_s'] * 1000:.0f} ms (DELETE) / "
        f"{lay['partitioned_retention_s'] * 1000:.0f} ms (DROP)"
    )

    fill_rollups(engine, ids[: others + 1], now, 30)
    doc["series"] = bench_series(database_url, engine, ids[0], 10 if args.quick else 30)
    doc["series_devices"] = others + 1
    for step, figures in doc["series"].items():
        print(
            f"30-day series at {step}: {figures['points']} points, p50 "
            f"{figures['p50_ms']:.1f} ms, min {figures['min_ms']:.1f} ms, "
            f"max {figures['max_ms']:.1f} ms "
            f"(goal < {GOAL_SERIES_MS} ms)"
        )
    engine.dispose()
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
