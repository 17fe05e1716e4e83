"""ICMP sweep benchmark: loopback addresses x 3 probes, meshkeeper vs icmplib vs fping.

Run from the repository: ``.venv/bin/python bench/icmp_sweep.py [--quick]``. Every packet goes
to 127.0.0.0/8. The silent-host case adds an nftables table dropping echo requests to
127.254.0.0/16 and always deletes it (needs root and nft; skipped with a note otherwise).
Human-readable lines first; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script

from collectors.guard import ProbeGuard  # noqa: E402
from collectors.icmp import collect, decide_mode  # noqa: E402
from collectors.icmp_sockets import IcmpMode  # noqa: E402

GUARD = ProbeGuard.from_cidrs(["127.0.0.0/8"])
SILENT_NET = "127.254.0.0/16"
NFT_TABLE = f"meshkeeper_icmp_bench_{os.getpid()}"
GOAL_WALL_S = 2.0
GOAL_CPU_S = 1.0


@dataclass(frozen=True)
class Run:
    """One tool's sweep: times, probes and how many went unanswered."""

    tool: str
    wall_s: float
    cpu_s: float
    probes: int
    received: int
    lost: int
    accounted: bool  # every probe is either received or lost, per host
    note: str = ""

    @property
    def pps(self) -> float:
        """Probes per second of wall time."""
        return self.probes / self.wall_s if self.wall_s else 0.0


def loopback_hosts(n: int) -> list[str]:
    """n distinct answering addresses from 127.16.0.0 on."""
    return [f"127.{16 + i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(n)]


def silent_hosts(n: int) -> list[str]:
    """n distinct addresses inside SILENT_NET."""
    return [f"127.254.{i // 256 % 256}.{i % 256}" for i in range(n)]


def children_cpu() -> float:
    """CPU seconds of waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_meshkeeper(hosts: list[str], count: int, timeout: float) -> Run:
    """meshkeeper's collect(), unpaced, in this process."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    obs = asyncio.run(
        collect(hosts, guard=GUARD, count=count, interval=0, timeout=timeout, rate=None)
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    received = sum(o.received for o in obs)
    lost = sum(o.lost for o in obs)
    accounted = all(o.sent == count and o.sent == o.received + o.lost for o in obs)
    dups = sum(o.duplicates for o in obs)
    note = f"{dups} duplicates" if dups else ""
    return Run("meshkeeper", wall, cpu, len(hosts) * count, received, lost, accounted, note)


def run_icmplib(hosts: list[str], count: int, timeout: float, concurrency: int) -> Run:
    """icmplib's async_multiping (one socket and one task per host), raw sockets."""
    from icmplib import async_multiping

    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = asyncio.run(
        async_multiping(
            hosts,
            count=count,
            interval=0,
            timeout=timeout,
            concurrent_tasks=concurrency,
            privileged=decide_mode() is IcmpMode.RAW,
        )
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    received = sum(h.packets_received for h in result)
    sent = sum(h.packets_sent for h in result)
    note = f"concurrent_tasks={concurrency}"
    return Run("icmplib", wall, cpu, len(hosts) * count, received, sent - received, True, note)


def run_fping(hosts: list[str], count: int, timeout: float) -> Run | None:
    """fping -C count -i 0 as a child process (None when fping is not installed)."""
    if shutil.which("fping") is None:
        return None
    # -p (per-target period) 10 ms never binds here: one round over the hosts takes longer.
    argv = ["fping", "-C", str(count), "-i", "0", "-p", "10", "-t", str(int(timeout * 1000)), "-q"]
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as targets:
        targets.write("\n".join(hosts) + "\n")
        targets.flush()
        wall0, cpu0 = time.perf_counter(), children_cpu()
        done = subprocess.run([*argv, "-f", targets.name], capture_output=True, text=True)
        wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    # -C prints "address : rtt rtt -" per host on stderr, "-" for a probe without reply.
    rows = [line.split(":", 1)[1].split() for line in done.stderr.splitlines() if " : " in line]
    received = sum(1 for row in rows for field in row if field != "-")
    lost = sum(1 for row in rows for field in row if field == "-")
    accounted = len(rows) == len(hosts) and all(len(row) == count for row in rows)
    note = " ".join(argv)
    return Run("fping", wall, cpu, len(hosts) * count, received, lost, accounted, note)


def median_run(runs: list[Run]) -> Run:
    """The run with the median wall time."""
    return sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]


def show(run: Run | None, label: str = "") -> None:
    """One human-readable line per run."""
    if run is None:
        print(f"  {label or 'fping':<11} skipped: fping not installed (apt-get install fping)")
        return
    print(
        f"  {run.tool:<11} {run.wall_s:7.3f} s wall {run.cpu_s:7.3f} s CPU "
        f"{run.pps:9.0f} probes/s  received {run.received}  lost {run.lost}"
        f"{'' if run.accounted else '  NOT ACCOUNTED'}  {run.note}"
    )


def _nft(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, timeout=10)


@contextmanager
def silent_range() -> Iterator[str | None]:
    """Drop echo requests to SILENT_NET while inside; yields None (a reason) when impossible."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        yield "needs root and nft (apt-get install nftables)"
        return
    for pid in re.findall(r"table ip meshkeeper_icmp_bench_(\d+)\b", _nft("list", "tables").stdout):
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # left by a killed earlier run
            _nft("delete", "table", "ip", f"meshkeeper_icmp_bench_{pid}")
        except PermissionError:
            pass
    ruleset = f"""
table ip {NFT_TABLE} {{
    chain input {{
        type filter hook input priority 0; policy accept;
        ip daddr {SILENT_NET} icmp type echo-request drop
    }}
}}
"""
    made = _nft("-f", "-", stdin=ruleset)
    if made.returncode != 0:
        yield f"nft refused the table: {made.stderr.strip()}"
        return
    try:
        yield None
    finally:
        _nft("delete", "table", "ip", NFT_TABLE)


def alternate(times: int, hosts: list[str], count: int, timeout: float) -> tuple[Run, Run | None]:
    """meshkeeper and fping taking turns, times each (both see the same machine noise).

    Returns the median run of each; fping's is None when it is not installed.
    """
    ours: list[Run] = []
    theirs: list[Run] = []
    for _ in range(times):
        ours.append(run_meshkeeper(hosts, count, timeout))
        show(ours[-1])
        fp = run_fping(hosts, count, timeout)
        if fp is not None:
            theirs.append(fp)
            show(fp)
    if not theirs:
        show(None)
    return median_run(ours), median_run(theirs) if theirs else None


def ratio(other: Run | None, ours: Run) -> float | None:
    """How many times longer the other tool took (wall)."""
    return round(other.wall_s / ours.wall_s, 2) if other and ours.wall_s else None


def main() -> None:
    """Run every case and print the figures, then one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 hosts, for CI")
    parser.add_argument("--hosts", type=int, help="addresses to sweep (default 10000, quick 500)")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of meshkeeper and fping, taking turns"
    )
    parser.add_argument(
        "--icmplib-concurrency",
        help="async_multiping concurrent_tasks values to try, best reported "
        "(default 2,50; quick 2; 50 is icmplib's default)",
    )
    args = parser.parse_args()
    # SIGTERM would skip the finally that deletes the nftables table: make it an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = args.hosts or (500 if args.quick else 10_000)
    count = args.count
    hosts = loopback_hosts(n)
    mode = decide_mode()
    asyncio.run(collect(hosts[:50], guard=GUARD, count=1, interval=0, rate=None))  # warm up
    print(f"icmp sweep: {n} loopback hosts x {count} probes = {n * count}, {mode} sockets")
    print(f"  machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} (figures are noisy)")

    mk, fp = alternate(args.repeat, hosts, count, 1.0)
    icmplib_runs = []
    tries = args.icmplib_concurrency or ("2" if args.quick else "2,50")
    for concurrency in (int(c) for c in tries.split(",") if c):
        run = run_icmplib(hosts, count, 1.0, concurrency)
        show(run)
        icmplib_runs.append(run)
    best_icmplib = min(icmplib_runs, key=lambda r: r.wall_s) if icmplib_runs else None
    goal = mk.wall_s <= GOAL_WALL_S and mk.cpu_s <= GOAL_CPU_S and mk.lost == 0 and mk.accounted
    print(
        f"  median meshkeeper {mk.wall_s:.3f} s, {mk.cpu_s:.3f} CPU-s, {mk.pps:.0f} probes/s, "
        f"lost {mk.lost}; goal <= {GOAL_WALL_S} s and <= {GOAL_CPU_S} CPU-s: "
        f"{'met' if goal else 'NOT met'}"
    )
    for label, other in (("icmplib (best)", best_icmplib), ("fping (median)", fp)):
        if other is not None:
            print(
                f"  meshkeeper vs {label}: {other.wall_s / mk.wall_s:.2f}x wall, "
                f"{other.cpu_s / mk.cpu_s if mk.cpu_s else 0:.2f}x CPU (>1: meshkeeper faster)"
            )

    silent_case = run_silent_case(n, count, args.repeat)
    summary = {
        "bench": "icmp_sweep",
        "mode": str(mode),
        "hosts": n,
        "count": count,
        "probes": n * count,
        "meshkeeper_s": round(mk.wall_s, 4),
        "meshkeeper_cpu_s": round(mk.cpu_s, 4),
        "meshkeeper_pps": round(mk.pps),
        "lost": mk.lost,
        "accounted": mk.accounted,
        "goal_met": goal,
        "icmplib_s": round(best_icmplib.wall_s, 4) if best_icmplib else None,
        "icmplib_cpu_s": round(best_icmplib.cpu_s, 4) if best_icmplib else None,
        "icmplib_pps": round(best_icmplib.pps) if best_icmplib else None,
        "icmplib_runs": [{**asdict(r), "pps": round(r.pps)} for r in icmplib_runs],
        "fping_s": round(fp.wall_s, 4) if fp else None,
        "fping_cpu_s": round(fp.cpu_s, 4) if fp else None,
        "fping_pps": round(fp.pps) if fp else None,
        "fping_lost": fp.lost if fp else None,
        "ratio_vs_icmplib": ratio(best_icmplib, mk),
        "ratio_vs_fping": ratio(fp, mk),
        "silent_case": silent_case,
    }
    print(json.dumps(summary))


def run_silent_case(n: int, count: int, times: int) -> dict[str, object]:
    """Every tenth host silent (dropped by nftables): each of their probes must come back lost."""
    timeout = 0.5
    silent = silent_hosts(n // 10)
    answering = loopback_hosts(n - len(silent))
    hosts = [*answering]
    for k, address in enumerate(silent):
        hosts.insert(k * 10 + 9, address)  # interleaved, as dead hosts are in a real sweep
    expected = len(silent) * count
    print(f"silent case: {len(silent)} of {n} hosts silent, timeout {timeout} s, {expected} lost")
    with silent_range() as why_not:
        if why_not is not None:
            print(f"  skipped: {why_not}")
            return {"skipped": why_not}
        mk, fp = alternate(times, hosts, count, timeout)
    print("  (icmplib left out here: one task per host waits out every silent probe's timeout)")
    return {
        "hosts": n,
        "silent_hosts": len(silent),
        "timeout_s": timeout,
        "expected_lost": expected,
        "meshkeeper_s": round(mk.wall_s, 4),
        "meshkeeper_cpu_s": round(mk.cpu_s, 4),
        "meshkeeper_lost": mk.lost,
        "meshkeeper_received": mk.received,
        "accounted": mk.accounted and mk.lost == expected,
        "fping_s": round(fp.wall_s, 4) if fp else None,
        "fping_lost": fp.lost if fp else None,
    }


if __name__ == "__main__":
    main()
