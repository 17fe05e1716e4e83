"""Cycle time against daemon count: 1, 2, 3 `meshkeeper daemon` processes sharing the targets.

The workload is bounded by each daemon's capacity, not by the machine: one monitored device
per node on a loopback address, ICMP paced at MESHKEEPER_ICMP_RATE probes per second per
daemon (a poller's budget, as on a small router) and three probes a device, so one daemon
needs devices x 3 / rate seconds a cycle. With N daemons each should lease about 1/N of the
devices and finish in about 1/N of the time. Prints per N: the slowest poller's cycle, the
shares, and the speed-up over one daemon. `--quick` uses fewer devices and N up to 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text  # noqa: E402

from bench.stack import fresh_database  # noqa: E402


def seed(engine: Engine, devices: int) -> None:
    """`devices` nodes of one Active device each, at 127.3.0.1 onwards."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO node (id, network_number, name, status, type, placement) "
                "SELECT gen_random_uuid(), n, 'n' || n, 'Active', 'Standard', 'None' "
                "FROM generate_series(1, :n) AS n"
            ),
            {"n": devices},
        )
        conn.execute(
            text(
                "INSERT INTO device (id, kind, node_id, name, status, management_address) "
                "SELECT gen_random_uuid(), 'device', id, name || '-r', 'Active', "
                "'127.3.0.0'::inet + network_number FROM node"
            )
        )


def last_cycles(engine: Engine) -> list[dict[str, Any]]:
    """Each live poller's last cycle: when, how long, how many targets."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT name, last_cycle_at, last_cycle_s, last_cycle_targets FROM poller "
                "WHERE heartbeat_at > now() - interval '5 seconds' AND last_cycle_at IS NOT NULL"
            )
        ).mappings()
        return [dict(r) for r in rows]


def run(
    database_url: str, engine: Engine, count: int, devices: int, rate: int, interval: float
) -> dict[str, Any]:
    """Start `count` daemons, let their shares settle, read the last cycle of each."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM poll_lease; DELETE FROM poller"))
    env = {
        **os.environ,
        "MESHKEEPER_DATABASE_URL": database_url,
        "MESHKEEPER_LOG_LEVEL": "WARNING",
        "MESHKEEPER_PROBE_NETWORKS": "127.0.0.0/8",
        "MESHKEEPER_ICMP_INTERVAL_S": str(interval),
        "MESHKEEPER_ICMP_RATE": str(rate),
        "MESHKEEPER_ICMP_TIMEOUT_S": "0.5",
        "MESHKEEPER_JITTER_S": "0",
        "MESHKEEPER_SNMP_INTERVAL_S": "0",
        "MESHKEEPER_WEBHOOK_INTERVAL_S": "0",
        "MESHKEEPER_POLLER_HEARTBEAT_S": "1",
    }
    exe = Path(sys.executable).parent / "meshkeeper"
    fd, log_path = tempfile.mkstemp(prefix="meshkeeper-bench-pollers-", suffix=".log")
    with os.fdopen(fd, "w") as log:
        daemons = [
            subprocess.Popen(
                [str(exe), "daemon"],
                env={**env, "MESHKEEPER_POLLER_NAME": f"poller-{i}"},
                stdout=log,
                stderr=log,
            )
            for i in range(count)
        ]
        try:
            # Until the shares settle: every poller finished a cycle and together they polled
            # every device once (a first cycle may find leases a first-started daemon took
            # while it was alone; they expire within an interval).
            deadline = time.monotonic() + 8 * interval + 30
            while True:
                rows = last_cycles(engine)
                total = sum(int(r["last_cycle_targets"] or 0) for r in rows)
                if len(rows) == count and total == devices:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"shares did not settle: {rows}; log {log_path}")
                time.sleep(0.5)
        finally:
            for daemon in daemons:
                daemon.terminate()
            for daemon in daemons:
                daemon.wait(timeout=30)
    return {
        "daemons": count,
        "cycle_s": round(max(r["last_cycle_s"] for r in rows), 2),
        "shares": sorted(int(r["last_cycle_targets"] or 0) for r in rows),
    }


def main() -> int:
    """Seed, run 1..N daemons in turn, print a table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    devices, rate, counts = (200, 200, (1, 2)) if args.quick else (1000, 300, (1, 2, 3))
    interval = devices * 3 / rate + 3  # one daemon's cycle fits, with room
    database_url, engine = fresh_database()
    seed(engine, devices)
    print(f"{devices} devices, {rate} probes/s per daemon, interval {interval:.0f} s")
    results = []
    for count in counts:
        result = run(database_url, engine, count, devices, rate, interval)
        results.append(result)
        speedup = results[0]["cycle_s"] / result["cycle_s"]
        result["speedup"] = round(speedup, 2)
        print(
            f"{count} daemon(s): slowest cycle {result['cycle_s']:.2f} s, "
            f"shares {result['shares']}, speed-up {speedup:.2f}x"
        )
    engine.dispose()
    print(
        json.dumps(
            {
                "bench": "pollers",
                "quick": args.quick,
                "devices": devices,
                "rate": rate,
                "runs": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
