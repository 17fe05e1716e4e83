"""`make bench`: run every benchmark, read the JSON line each prints last, write BENCHMARKS.md.

`--quick` runs each benchmark's small mode (what CI runs, so none of them rots) and writes
nothing unless `--output` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

Row = tuple[str, str, str, str, str]  # workload, meshkeeper, peer, peer figure, ratio


def _s(value: Any, unit: str = "s", digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def _ratio(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def icmp(doc: dict[str, Any]) -> list[Row]:
    """ICMP sweep: meshkeeper against fping and icmplib's async_multiping."""
    work = f"{doc['hosts']} loopback hosts x {doc['count']} probes ({doc['mode']} sockets)"
    ours = f"{_s(doc['meshkeeper_s'])} wall, {_s(doc['meshkeeper_cpu_s'])} CPU, lost {doc['lost']}"
    rows = [
        (work, ours, "fping -C 3 -i 0", _s(doc.get("fping_s")), _ratio(doc.get("ratio_vs_fping"))),
        (
            work,
            ours,
            "icmplib async_multiping",
            _s(doc.get("icmplib_s")),
            _ratio(doc.get("ratio_vs_icmplib")),
        ),
    ]
    silent = doc.get("silent_case")
    if silent and "skipped" in silent:
        # A machine without root or nft cannot make silent hosts: say so, do not fail.
        rows.append(("silent-host case", f"skipped: {silent['skipped']}", "fping", "n/a", "n/a"))
    elif silent:
        rows.append(
            (
                f"{silent['hosts']} hosts, {silent['silent_hosts']} silent",
                f"{_s(silent['meshkeeper_s'])} wall, lost {silent['meshkeeper_lost']}"
                f" of {silent['expected_lost']} expected",
                "fping",
                _s(silent.get("fping_s")),
                _ratio(silent["fping_s"] / silent["meshkeeper_s"])
                if silent.get("fping_s")
                else "n/a",
            )
        )
    return rows


def snmp(doc: dict[str, Any]) -> list[Row]:
    """SNMP poll: meshkeeper against net-snmp's command-line tools doing the same requests."""
    work = f"{doc.get('agents')} simulated agents: system, interfaces, radio"
    ours = (
        f"{_s(doc.get('meshkeeper_s'))} wall, "
        f"{_s(doc.get('cpu_per_request_ms'), 'ms')} CPU per request, errors {doc.get('errors')}"
    )
    theirs, mine = doc.get("netsnmp_cpu_per_request_ms"), doc.get("cpu_per_request_ms")
    peer = _s(theirs, "ms") + " CPU per request"
    ratio = theirs / mine if theirs and mine else None
    return [(work, ours, "net-snmp snmpbulkget, same PDUs", peer, _ratio(ratio))]


def uisp(doc: dict[str, Any]) -> list[Row]:
    """UISP sync: fetch, parse and plan against plain httpx + json.loads of the same answers."""
    work = f"{doc['devices']} devices + {doc['links']} links fetched, parsed, planned"
    ours = f"{_s(doc['meshkeeper_s'])} (fetch {_s(doc['fetch_s'])}, parse {_s(doc['parse_s'])})"
    ratio = doc["floor_s"] / doc["meshkeeper_s"] if doc.get("meshkeeper_s") else None
    return [(work, ours, "httpx + json.loads (floor)", _s(doc["floor_s"]), _ratio(ratio))]


def topology(doc: dict[str, Any]) -> list[Row]:
    """Topology: rebuild and cached answers against networkx computing each answer anew."""
    rows = []
    for name, data in doc["datasets"].items():
        work = f"{name}: {data['nodes']} nodes / {data['edges']} edges"
        ours = (
            f"rebuild {_s(data['rebuild_s'])}, query p50 {_s(data['query_p50_ms'], 'ms')}"
            f" max {_s(data['query_max_ms'], 'ms')}"
        )
        questions = data.get("questions", {})
        impact = questions.get("impact", {})
        rows.append(
            (
                work,
                ours,
                "networkx from scratch (impact)",
                _s(impact.get("peer_p50_ms"), "ms"),
                _ratio(impact.get("ratio")),
            )
        )
    return rows


def nycmesh_import(doc: dict[str, Any]) -> list[Row]:
    """NYC map import: against PostgreSQL's own COPY of as many rows (the floor)."""
    work = f"NYC Mesh map feed, {doc.get('rows')} rows"
    ours = (
        f"import {_s(doc.get('import_s'))}, re-import {_s(doc.get('reimport_s'))}, "
        f"feed {_s(doc.get('feed_ms'), 'ms')}"
    )
    return [
        (work, ours, "COPY of the same rows", _s(doc.get("copy_floor_s")), _ratio(doc.get("ratio")))
    ]


def meshdb_import(doc: dict[str, Any]) -> list[Row]:
    """Copying a running MeshDB: against PostgreSQL's own COPY of the rows it wrote."""
    work = f"MeshDB stand-in, {doc.get('installs')} installs, {doc.get('records')} records"
    ours = (
        f"import {_s(doc.get('import_s'))} (fetch {_s(doc.get('fetch_s'))}), "
        f"re-import {_s(doc.get('reimport_s'))}"
    )
    return [
        (work, ours, "COPY of the same rows", _s(doc.get("copy_floor_s")), _ratio(doc.get("ratio")))
    ]


def api_load(doc: dict[str, Any]) -> list[Row]:
    """The API under load: p50/p99 per endpoint at a fixed rate, against a static route."""
    rows = []
    floor = doc.get("floor", {})
    for name, data in doc["endpoints"].items():
        work = f"{name} at {data['rate']} req/s ({doc.get('generator')})"
        ours = (
            f"p50 {_s(data['p50_ms'], 'ms', 1)}, p99 {_s(data['p99_ms'], 'ms', 1)}, "
            f"errors {data['errors']}, target p99 {data.get('target_p99_ms')} ms"
        )
        rows.append(
            (
                work,
                ours,
                "GET /api/v1/ (one SELECT), p99",
                _s(floor.get("p99_ms"), "ms", 1),
                _ratio(floor["p99_ms"] / data["p99_ms"] if floor.get("p99_ms") else None),
            )
        )
    return rows


def nn_assign(doc: dict[str, Any]) -> list[Row]:
    """NN assignment from concurrent clients, against the health check (one DB round trip)."""
    work = f"{doc['assignments']} assigns from {doc['clients']} clients"
    ours = f"{doc['per_second']:.0f}/s, distinct {doc['distinct']}, 5xx {doc['errors_5xx']}"
    peer = f"{doc['floor_per_second']:.0f}/s"
    return [
        (
            work,
            ours,
            "GET /api/v1/ (one SELECT)",
            peer,
            _ratio(doc["per_second"] / doc["floor_per_second"]),
        )
    ]


def console(doc: dict[str, Any]) -> list[Row]:
    """Console pages at a fixed rate, each beside the JSON answer for the same data."""
    rows = []
    for name, data in doc["pages"].items():
        page, twin = data["page"], data["json"]
        rows.append(
            (
                f"console {name} page at {doc['rate']} req/s",
                f"p50 {_s(page['p50_ms'], 'ms', 1)}, p99 {_s(page['p99_ms'], 'ms', 1)}, "
                f"errors {page['errors']}, target p99 {doc['target_p99_ms']} ms",
                "the JSON API for the same data, p99",
                _s(twin["p99_ms"], "ms", 1),
                _ratio(twin["p99_ms"] / page["p99_ms"] if page.get("p99_ms") else None),
            )
        )
    return rows


def routing(doc: dict[str, Any]) -> list[Row]:
    """Routing cycle on NYC Mesh's OSPF database; parse beside bird-ospf-link-db-parser."""
    work = f"{doc['routers']} routers, {doc['nodes']} nodes, {doc['recorded_links']} links"
    ours = (
        f"cycle p50 {_s(doc['cycle_p50_s'])} (parse {_s(doc['parse_p50_s'])}, "
        f"apply {_s(doc['apply_p50_s'])}), writes on a steady cycle {doc['steady_writes']}, "
        f"first cycle {_s(doc['first_cycle_s'])}"
    )
    peer = "bird-ospf-link-db-parser, parse only"
    return [(work, ours, peer, _s(doc.get("peer_parse_p50_s")), _ratio(doc.get("ratio")))]


def import_lock(doc: dict[str, Any]) -> list[Row]:
    """Edits during a big CSV import, against the same edit with no import running."""
    work = f"PATCH while importing {doc['rows']} members ({doc['import_s']} s)"
    ours = (
        f"slowest {_s(doc['edit_max_s'])}, p50 {_s(doc['edit_p50_ms'], 'ms', 1)}, "
        f"slowest read {_s(doc['read_max_s'])}"
    )
    peer = _s(doc["alone_p50_ms"], "ms", 1)
    ratio = doc["edit_p50_ms"] / doc["alone_p50_ms"] if doc.get("alone_p50_ms") else None
    return [(work, ours, "the same PATCH alone, p50", peer, _ratio(ratio))]


def incidents(doc: dict[str, Any]) -> list[Row]:
    """Incident causes on NYC Mesh's map against networkx answering each candidate anew."""
    rows = []
    for name, data in doc["scenarios"].items():
        work = f"NYC {doc['nodes']} nodes, {name}: {data['dark_nodes']} dark"
        ours = f"{_s(data['ours_ms'], 'ms', 1)} -> {data['incidents']} incidents"
        peer = _s(data["peer_ms"], "ms", 1)
        rows.append((work, ours, "networkx from scratch", peer, _ratio(data["ratio"])))
    return rows


def history(doc: dict[str, Any]) -> list[Row]:
    """Measurement history: the ping cycle with history on against off, series, storage."""
    cycle = f"ping cycle of {doc['devices']} devices, history on (COPY of the samples)"
    ours = f"{_s(doc['cycle_on_s'])} (median of {doc['rounds']})"
    rows = [
        (
            cycle,
            ours,
            "the same cycle, history off",
            _s(doc["cycle_off_s"]),
            _ratio(doc["cycle_ratio"]),
        )
    ]
    for step, figures in doc["series"].items():
        rows.append(
            (
                f"30-day series at {step}, {figures['points']} points (goal < 50 ms)",
                f"p50 {_s(figures['p50_ms'], 'ms', 1)}, max {_s(figures['max_ms'], 'ms', 1)}",
                "n/a",
                "n/a",
                "n/a",
            )
        )
    lay = doc.get("layouts")
    if lay:
        rows.append(
            (
                f"{doc['raw_rows_measured']} samples loaded, then the oldest hour removed",
                f"BRIN table: {_s(lay['brin_load_s'])}, {lay['brin_bytes'] / 2**20:.1f} MiB, "
                f"DELETE {_s(lay['brin_retention_s'] * 1000, 'ms', 0)}",
                f"{lay['partitions']} hourly partitions",
                f"{_s(lay['partitioned_load_s'])}, {lay['partitioned_bytes'] / 2**20:.1f} MiB, "
                f"DROP {_s(lay['partitioned_retention_s'] * 1000, 'ms', 0)}",
                _ratio(lay["partitioned_load_s"] / lay["brin_load_s"]),
            )
        )
    mesh, per_row = doc["nyc_mesh"], doc["bytes_per_row"]
    rows.append(
        (
            "a year of NYC Mesh (2,000 devices, 60 s pings, 300 s SNMP), steady state",
            f"{mesh['one_year_gib']:.1f} GiB (two years {mesh['two_years_gib']:.1f} GiB); "
            "bytes/row "
            f"raw {per_row['device_sample']:.0f}, 5m {per_row['device_rollup_5m']:.0f}, "
            f"1h {per_row['device_rollup_1h']:.0f}",
            "n/a",
            "n/a",
            "n/a",
        )
    )
    return rows


def api_polling(doc: dict[str, Any]) -> list[Row]:
    """Node GET and health with polling on, beside the same with polling off (same run)."""
    rows = []
    for layout in ("run", "api+daemon"):
        for name in ("GET /nodes/<nn>/", "GET /nodes/<nn>/health/"):
            on = doc[f"{layout}, polling on: {name}"]
            off = doc[f"{layout}, polling off: {name}"]
            work = (
                f"{name} at {doc['rate']} req/s, {doc['devices']} devices polled every "
                f"{doc['icmp_interval_s']} s ({layout})"
            )
            ours = (
                f"p50 {_s(on['p50_ms'], 'ms', 1)}, p99 {_s(on['p99_ms'], 'ms', 1)}, errors "
                f"{on['errors']}, {on['server_cpu_ms_per_request']} ms CPU a request"
            )
            ratio = off["p99_ms"] / on["p99_ms"] if on["p99_ms"] else None
            rows.append((work, ours, "polling off, p99", _s(off["p99_ms"], "ms", 1), _ratio(ratio)))
    return rows


def pollers(doc: dict[str, Any]) -> list[Row]:
    """Cycle time with N daemons sharing the targets, against one daemon alone."""
    one = doc["runs"][0]
    return [
        (
            f"{doc['devices']} devices, {doc['rate']} probes/s a daemon, {r['daemons']} daemons",
            f"cycle {_s(r['cycle_s'])}, shares {r['shares']}",
            "1 daemon",
            _s(one["cycle_s"]),
            _ratio(r["speedup"]),
        )
        for r in doc["runs"]
    ]


BENCHES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "icmp_sweep": icmp,
    "snmp_poll": snmp,
    "uisp_sync": uisp,
    "topology": topology,
    "nycmesh_import": nycmesh_import,
    "meshdb_import": meshdb_import,
    "api_load": api_load,
    "api_polling": api_polling,
    "nn_assign": nn_assign,
    "console": console,
    "routing": routing,
    "import_lock": import_lock,
    "incidents": incidents,
    "history": history,
    "pollers": pollers,
}


def machine() -> str:
    """Cores, memory, CPU and Python of the machine the figures come from."""
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory} memory, Python {platform.python_version()}"


def run(name: str, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one benchmark; its last line is its JSON figures."""
    command = [sys.executable, str(BENCH / f"{name}.py")] + (["--quick"] if quick else [])
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    took = time.monotonic() - started
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(
            f"{name} printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
        )
    doc = json.loads(lines[-1])
    doc["_seconds"] = took
    doc["_exit"] = result.returncode
    return doc


def markdown(results: dict[str, dict[str, Any]], quick: bool) -> str:
    """BENCHMARKS.md: one table of every figure beside its peer's, measured in the same run."""
    out = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"{' (quick mode)' if quick else ''}.",
        f"Machine: {machine()}.",
        "",
        "Each row: the workload, meshkeeper's figure, a named peer measured in the same run, and",
        "the ratio (the peer's time over meshkeeper's: above 1 means meshkeeper is faster).",
        "",
        "| benchmark | workload | meshkeeper | peer | peer figure | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, doc in results.items():
        if "error" in doc:
            out.append(f"| {name} | failed: {doc['error']} | | | | |")
            continue
        for row in BENCHES[name](doc):
            out.append("| " + " | ".join([name, *row]) + " |")
    out += [
        "",
        "Reproduce one with `.venv/bin/python bench/<name>.py` (add `--quick` for the small mode).",
    ]
    return "\n".join(out) + "\n"


def main() -> int:
    """Run them all; exit non-zero when any benchmark failed to produce its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHES))
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    output = args.output or (None if args.quick else REPO / "BENCHMARKS.md")
    results: dict[str, dict[str, Any]] = {}
    failed = False
    for name in args.only or BENCHES:
        if not (BENCH / f"{name}.py").exists():
            continue
        print(f"== {name}", flush=True)
        try:
            results[name] = run(name, args.quick, args.timeout)
            print(
                json.dumps({k: v for k, v in results[name].items() if not k.startswith("_")})[:400]
            )
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            failed = True
            results[name] = {"error": str(exc).splitlines()[0][:200]}
            print(f"{name} failed: {exc}", file=sys.stderr)
    text = markdown(results, args.quick)
    if output is not None:
        output.write_text(text)
        print(f"wrote {output}")
    else:
        print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
