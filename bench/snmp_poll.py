"""Benchmark: one SNMP poll cycle over many simulated agents, beside net-snmp sending the same PDUs.

    .venv/bin/python bench/snmp_poll.py [--quick] [--agents N] [--processes P]

Agents are snmpsim communities (copies of tests/collectors/snmprec/{linux-host,airmax-ap,
mikrotik-ap}) times loopback addresses; each snmpsim process keeps its communities under the
31 data files it holds open at once, so the simulator does not thrash. Targets alternate
between the snmpsim processes, so every simulator works at once, as independent devices
would. meshkeeper polls every agent for system, interfaces and radio data over SNMPv2c (cold
cycle: the first in the process, sockets and caches still to make; warm cycle: the daemon's
steady state); PDUs and the varbinds answered are counted. net-snmp's snmpbulkget, when
installed, then replays the exact PDUs meshkeeper sent to a sample of agents, one process per
PDU, and its CPU per request is extrapolated to the whole cycle. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collectors import snmp_session  # noqa: E402
from collectors.guard import ProbeGuard  # noqa: E402
from collectors.snmp import SnmpObservation, SnmpTarget, collect  # noqa: E402
from tests.collectors.snmpsim_agent import SnmpsimAgent, own_recordings  # noqa: E402

KINDS = ("linux-host", "airmax-ap", "mikrotik-ap")
COMMUNITIES_PER_PROCESS = 24
GUARD = ProbeGuard.from_cidrs(["127.0.0.0/8"])


def own_cpu() -> float:
    """CPU seconds (user+system) used by this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU seconds used by waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds of another running process (snmpsim), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_agents(total: int, processes: int) -> tuple[list[SnmpsimAgent], list[SnmpTarget]]:
    """snmpsim processes and the agent list they serve (community x loopback address)."""
    recordings = own_recordings()
    per_process = math.ceil(total / processes)
    agents: list[SnmpsimAgent] = []
    served: list[list[SnmpTarget]] = []
    for p in range(processes):
        want = min(per_process, total - sum(map(len, served)))
        if want <= 0:
            break
        communities = {
            f"{KINDS[i % len(KINDS)]}-{p}-{i:02d}": recordings[KINDS[i % len(KINDS)]]
            for i in range(min(COMMUNITIES_PER_PROCESS, want))
        }
        addresses = [f"127.{10 + p}.0.{a + 1}" for a in range(math.ceil(want / len(communities)))]
        agent = SnmpsimAgent(communities, addresses=addresses)
        agents.append(agent)
        mine = [(address, community) for address in addresses for community in communities][:want]
        served.append([SnmpTarget(address, 161, community=c) for address, c in mine])
    # Round-robin over the simulators: in process order, every concurrent poll of a cycle
    # would wait on one snmpsim process while the others sat idle.
    targets = [t for group in itertools.zip_longest(*served) for t in group if t is not None]
    return agents, targets


# One GETBULK meshkeeper sent: target, OIDs, non-repeaters, max-repetitions, varbinds answered.
Pdu = tuple[SnmpTarget, list, int, int, int]


@contextlib.contextmanager
def noting_pdus() -> Iterator[list[Pdu]]:
    """Note every GETBULK sent while inside (the hook costs microseconds per PDU)."""
    sent: list[Pdu] = []
    original = snmp_session.getbulk

    async def noting(session, oids, non_repeaters, max_repetitions):  # type: ignore[no-untyped-def]
        answer: list = []
        try:
            answer = await original(session, oids, non_repeaters, max_repetitions)
            return answer
        finally:
            sent.append((session.target, list(oids), non_repeaters, max_repetitions, len(answer)))

    snmp_session.getbulk = noting  # measurement hook, restored below
    try:
        yield sent
    finally:
        snmp_session.getbulk = original


async def cycle(
    targets: list[SnmpTarget], concurrency: int
) -> tuple[list[SnmpObservation], float, int]:
    """One collect() over every target; returns observations, wall seconds, varbinds answered."""
    with noting_pdus() as sent:
        started = time.perf_counter()
        observations = await collect(targets, guard=GUARD, concurrency=concurrency)
        wall = time.perf_counter() - started
    return observations, wall, sum(pdu[4] for pdu in sent)


async def record_pdus(targets: list[SnmpTarget]) -> list[Pdu]:
    """Poll some targets again and note every GETBULK meshkeeper sends."""
    with noting_pdus() as sent:
        await collect(targets, guard=GUARD)
    return sent


async def netsnmp_replay(pdus: list[Pdu]) -> tuple[float, float, int]:
    """Send each recorded PDU with snmpbulkget (one process each): CPU, wall, failures."""
    gate = asyncio.Semaphore(4)
    failures = 0

    async def one(target: SnmpTarget, oids: list, non_repeaters: int, reps: int) -> None:
        nonlocal failures
        argv = ["snmpbulkget", "-v2c", "-c", str(target.community), "-On", "-t", "2", "-r", "1"]
        argv += [f"-Cn{non_repeaters}", f"-Cr{max(reps, 1)}", f"{target.address}:{target.port}"]
        argv += [".".join(map(str, oid)) for oid in oids]
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            if await proc.wait() != 0:
                failures += 1

    cpu0, started = children_cpu(), time.perf_counter()
    await asyncio.gather(*(one(*pdu[:4]) for pdu in pdus))
    return children_cpu() - cpu0, time.perf_counter() - started, failures


async def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 agents, for CI")
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--processes", type=int, default=2, help="snmpsim processes")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample", type=int, default=None, help="agents replayed by net-snmp")
    args = parser.parse_args()
    total = args.agents or (20 if args.quick else 1000)
    sample = args.sample or (6 if args.quick else 30)

    # SIGTERM must still run the finally below, or the snmpsim processes would outlive us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    agents, targets = build_agents(total, max(1, args.processes))
    started = time.perf_counter()
    for agent in agents:
        agent.start()
    startup = time.perf_counter() - started
    try:
        # The port is only known once each simulator runs (161 above is a placeholder).
        ports = {address: agent.port for agent in agents for address in agent.addresses}
        targets = [SnmpTarget(t.address, ports[t.address], community=t.community) for t in targets]
        print(
            f"{len(targets)} agents on {len(agents)} snmpsim process(es), started in {startup:.1f}s"
        )

        figures: dict[str, dict[str, float]] = {}
        for name in ("cold", "warm"):
            server0 = sum(process_cpu(a._proc.pid) for a in agents if a._proc)
            cpu0 = own_cpu()
            observations, wall, varbinds = await cycle(targets, args.concurrency)
            cpu = own_cpu() - cpu0
            server = sum(process_cpu(a._proc.pid) for a in agents if a._proc) - server0
            requests = sum(o.requests for o in observations)
            errors = sum(1 for o in observations if not o.ok)
            figures[name] = dict(
                wall=wall,
                cpu=cpu,
                server=server,
                requests=requests,
                varbinds=varbinds,
                errors=errors,
            )
            print(
                f"meshkeeper {name} cycle: wall {wall:.2f}s, CPU {cpu:.2f}s, {requests} PDUs "
                f"({requests / len(targets):.1f}/agent), {varbinds} varbinds answered, "
                f"{1000 * cpu / max(1, requests):.2f} ms "
                f"CPU/PDU, {errors} errors; snmpsim CPU {server:.2f}s"
            )
        bad = [o for o in observations if not o.ok][:3]
        for obs in bad:
            print(f"  error: {obs.address}: {obs.error}")

        netsnmp: dict[str, float] | None = None
        if shutil.which("snmpbulkget"):
            step = max(1, len(targets) // sample)
            pdus = await record_pdus(targets[::step][:sample])
            ns_cpu, ns_wall, ns_failures = await netsnmp_replay(pdus)
            per_pdu = ns_cpu / max(1, len(pdus))
            cycle_pdus = figures["warm"]["requests"]
            netsnmp = dict(cpu=ns_cpu, wall=ns_wall, pdus=len(pdus), failures=ns_failures)
            print(
                f"net-snmp snmpbulkget: {len(pdus)} PDUs to {min(sample, len(targets))} sampled "
                f"agents in {ns_wall:.2f}s, CPU {ns_cpu:.2f}s = {1000 * per_pdu:.2f} ms/PDU "
                f"(process per PDU), {ns_failures} failures; extrapolated to this cycle's "
                f"{cycle_pdus:.0f} PDUs: {per_pdu * cycle_pdus:.1f}s CPU"
            )
        else:
            print("net-snmp not installed (apt-get install snmp): no comparison")
    finally:
        for agent in agents:
            agent.stop()

    warm, cold = figures["warm"], figures["cold"]
    mk_per_pdu = 1000 * warm["cpu"] / max(1, warm["requests"])
    ns_per_pdu = 1000 * netsnmp["cpu"] / max(1, netsnmp["pdus"]) if netsnmp else None
    result = {
        "bench": "snmp_poll",
        "agents": len(targets),
        "snmpsim_processes": len(agents),
        "meshkeeper_s": round(cold["wall"], 3),
        "meshkeeper_cpu_s": round(cold["cpu"], 3),
        "meshkeeper_warm_s": round(warm["wall"], 3),
        "meshkeeper_warm_cpu_s": round(warm["cpu"], 3),
        "snmpsim_cpu_s": round(warm["server"], 3),
        "requests": int(warm["requests"]),
        "varbinds": int(warm["varbinds"]),
        "cpu_per_request_ms": round(mk_per_pdu, 3),
        "netsnmp_cpu_per_request_ms": round(ns_per_pdu, 3) if ns_per_pdu else None,
        "netsnmp_extrapolated_cpu_s": round(ns_per_pdu * warm["requests"] / 1000, 3)
        if ns_per_pdu
        else None,
        "ratio": round(mk_per_pdu / ns_per_pdu, 3) if ns_per_pdu else None,
        "errors": int(cold["errors"] + warm["errors"]),
    }
    print(json.dumps(result))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
