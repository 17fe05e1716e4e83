"""Benchmark one UISP cycle: fetch, parse and plan 5,000 devices and 5,000 links.

    .venv/bin/python bench/uisp_sync.py [--quick]

A local server (tests/collectors/uisp_server.py, in its own process so serving does not share
our GIL) answers devices cloned from the real 2023 NYC Mesh answer (new ids, names and
addresses; a synthetic template when ../shared/data is absent) and data-links built from the
Swagger schema. The named peer, the floor, is the same two requests made with plain httpx and
json.loads alone. Best of N rounds; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parent.parent
# The server and the fixture builders live with the tests (not an installed package).
sys.path.insert(0, str(REPO))

from collectors import uisp  # noqa: E402
from collectors.guard import ProbeGuard  # noqa: E402
from ipam.imports.uisp_rules import RecordedDevice, RecordedLink, SyncPlan, plan_sync  # noqa: E402
from tests.collectors.uisp_server import DEVICES, LINKS, make_device, make_link  # noqa: E402

BUDGET_S = 10.0
TOKEN = "bench-token"
GUARD = ProbeGuard.from_cidrs(["127.0.0.0/8"])
NOW = datetime(2023, 9, 28, tzinfo=UTC)  # the day after the real answer was taken
MESH = ipaddress.ip_network("10.96.0.0/11")
T = TypeVar("T")


def _templates() -> tuple[list[dict[str, Any]], str]:
    configured = os.environ.get("MESHKEEPER_SHARED_DATA")
    data = Path(configured) if configured else REPO.parent / "shared" / "data"
    path = data / "nycmesh-uisp-2023" / "access_points.json"
    if path.is_file():
        return json.loads(path.read_text()), "cloned from the real 2023 NYC Mesh answer"
    fallback = [
        make_device("t1", "nycmesh-1-west"),
        make_device("t2", "nycmesh-1-lbe-2", wireless_mode="ap-ptp", model="LBE-5AC-Gen2"),
        make_device("t3", "nycmesh-1-af60-3", device_type="airFiber", frequency=64800),
        make_device("t4", "nycmesh-1-east", status="disconnected", last_seen="2023-08-01T00:00Z"),
    ]
    return fallback, "synthetic (no ../shared/data)"


def synthesize_devices(n: int, templates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """n devices in the real shape: each a template with a new id, NN name, address and MAC."""
    devices = []
    for i in range(n):
        template = templates[i % len(templates)]
        nn = 101 + i % 7900
        suffix = template["identification"]["name"].strip().split("-")[2:] or ["omni"]
        ident = dict(template["identification"])
        ident["id"] = str(uuid.UUID(int=i + 1))
        ident["name"] = ident["displayName"] = f"nycmesh-{nn}-{'-'.join(suffix)}"
        ident["mac"] = ":".join(f"{b:02x}" for b in (i + 1).to_bytes(6, "big"))
        address = MESH.network_address + nn * 64 + 1 + i % 60
        # Shallow copies: only the dicts we change are new; json.dumps is happy with sharing.
        devices.append(template | {"identification": ident, "ipAddress": f"{address}/26"})
    return devices


def synthesize_links(n: int, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """n data-links between the devices, typed by the from-device's frequency."""
    links = []
    for i in range(n):
        a, b = devices[i % len(devices)], devices[(7 * i + 1) % len(devices)]
        frequency = a["overview"].get("frequency")
        links.append(
            make_link(
                str(uuid.UUID(int=10**9 + i)),
                a,
                b,
                link_type="wireless" if frequency else "ethernet",
                state="disconnected" if i % 10 == 0 else "active",
                frequency=frequency,
            )
        )
    return links


def recorded_set(
    devices: list[dict[str, Any]], links: list[dict[str, Any]]
) -> tuple[list[RecordedDevice], list[RecordedLink], set[int]]:
    """What a database would hold: 90% recorded, some stale, some renamed, some gone."""
    recorded_devices = []
    for i, doc in enumerate(devices):
        if i % 10 == 0:
            continue  # new in UISP
        ident = doc["identification"]
        nn = int(ident["name"].split("-")[1])
        recorded_devices.append(
            RecordedDevice(
                id=i + 1,
                uisp_id=ident["id"],
                name=ident["name"] if i % 50 else f"{ident['name']}-old",
                network_number=nn,
                status="Inactive" if i % 7 == 0 else "Active",
                last_seen_in_uisp=NOW - timedelta(days=i % 60),
            )
        )
    for j in range(len(devices) // 50):  # gone from UISP
        recorded_devices.append(
            RecordedDevice(
                id=10**6 + j,
                uisp_id=f"gone-{j}",
                name=f"nycmesh-{101 + j}-gone",
                network_number=101 + j,
                status="Active",
                last_seen_in_uisp=NOW - timedelta(days=j % 90),
            )
        )
    recorded_links = []
    for i, doc in enumerate(links):
        if i % 10 == 1:
            continue
        recorded_links.append(
            RecordedLink(
                id=i + 1,
                uisp_id=doc["id"] if i % 97 else f"old-{i}",  # UISP re-ids a few
                from_device_uisp_id=doc["from"]["device"]["identification"]["id"],
                to_device_uisp_id=doc["to"]["device"]["identification"]["id"],
                status="Inactive" if i % 9 == 0 else "Active",
                last_seen=NOW - timedelta(days=i % 45),
            )
        )
    nodes = {nn for nn in range(1, 8001) if nn % 13}  # some NNs have no node
    return recorded_devices, recorded_links, nodes


@dataclass
class Timing:
    """Wall and CPU seconds of one stage."""

    wall: float = 0.0
    cpu: float = 0.0


async def timed(step: Callable[[], Awaitable[T]], into: Timing) -> T:
    """Run step once, adding its wall and process CPU time into `into`."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = await step()
    into.wall += time.perf_counter() - wall
    into.cpu += time.process_time() - cpu
    return result


def timed_sync(step: Callable[[], T], into: Timing) -> T:
    """The same, for a plain function."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    into.wall += time.perf_counter() - wall
    into.cpu += time.process_time() - cpu
    return result


async def meshkeeper_round(
    url: str, recorded: tuple[list[RecordedDevice], list[RecordedLink], set[int]]
) -> tuple[dict[str, Timing], SyncPlan]:
    """One cycle the way the daemon runs it: fetch, parse, plan, each timed."""
    stages = {"fetch": Timing(), "parse": Timing(), "plan": Timing()}

    async def fetch() -> uisp.UispRaw:
        return await uisp.fetch(url, guard=GUARD, token=TOKEN, timeout=60.0)

    raw = await timed(fetch, stages["fetch"])
    snapshot = timed_sync(lambda: uisp.parse(raw, aliases=uisp.NYCMESH_ALIASES), stages["parse"])
    devices, links, nodes = recorded
    plan = timed_sync(
        lambda: plan_sync(devices, links, snapshot, NOW, node_numbers=nodes), stages["plan"]
    )
    return stages, plan


async def floor_round(url: str) -> Timing:
    """The same two requests with plain httpx and json.loads: nothing checked, nothing built."""
    timing = Timing()

    async def both() -> None:
        headers = {"x-auth-token": TOKEN}
        async with httpx.AsyncClient(base_url=url, timeout=60.0, trust_env=False) as client:
            answers = await asyncio.gather(
                client.get(DEVICES, headers=headers), client.get(LINKS, headers=headers)
            )
        for answer in answers:
            json.loads(answer.content)

    await timed(both, timing)
    return timing


async def run(url: str, recorded: Any, rounds: int) -> tuple[dict[str, Timing], Timing, SyncPlan]:
    """Warm up, then alternate meshkeeper and floor rounds; keep each side's best round."""
    await meshkeeper_round(url, recorded)
    await floor_round(url)
    best: dict[str, Timing] | None = None
    best_floor: Timing | None = None
    plan: SyncPlan | None = None
    for _ in range(rounds):
        stages, plan = await meshkeeper_round(url, recorded)
        if best is None or sum(s.wall for s in stages.values()) < sum(
            s.wall for s in best.values()
        ):
            best = stages
        floor = await floor_round(url)
        if best_floor is None or floor.wall < best_floor.wall:
            best_floor = floor
    assert best is not None and best_floor is not None and plan is not None
    return best, best_floor, plan


def main() -> int:
    """Build the data, start the server, time the rounds, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 devices and links (CI)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = 200 if args.quick else 5000

    templates, source = _templates()
    devices = synthesize_devices(n, templates)
    links = synthesize_links(n, devices)
    recorded = recorded_set(devices, links)
    with tempfile.TemporaryDirectory(prefix="uisp-bench-") as tmp:
        devices_file, links_file = Path(tmp) / "devices.json", Path(tmp) / "links.json"
        devices_file.write_text(json.dumps(devices))
        links_file.write_text(json.dumps(links))
        sizes = devices_file.stat().st_size, links_file.stat().st_size
        server = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "collectors" / "uisp_server.py")]
            + ["--devices", str(devices_file), "--links", str(links_file), "--token", TOKEN],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            stages, floor, plan = asyncio.run(
                run(f"http://127.0.0.1:{port}", recorded, args.rounds)
            )
        finally:
            server.terminate()
            server.wait(timeout=10)

    total = Timing(sum(s.wall for s in stages.values()), sum(s.cpu for s in stages.values()))
    fetch_parse = stages["fetch"].wall + stages["parse"].wall
    print(f"uisp_sync: {n} devices, {n} links ({source}); best of {args.rounds} rounds")
    print(f"answers: /devices {sizes[0] / 1e6:.1f} MB, /data-links {sizes[1] / 1e6:.1f} MB")
    print(f"{'stage':<34}{'wall_s':>9}{'cpu_s':>9}")
    for name, timing in [*stages.items(), ("meshkeeper (fetch+parse+plan)", total)]:
        print(f"{name:<34}{timing.wall:>9.3f}{timing.cpu:>9.3f}")
    print(f"{'floor (httpx + json.loads)':<34}{floor.wall:>9.3f}{floor.cpu:>9.3f}")
    print(f"ratio meshkeeper / floor: {total.wall / floor.wall:.2f}")
    print(f"ratio fetch+parse / floor (like for like): {fetch_parse / floor.wall:.2f}")
    print("plan:", {k: v for k, v in plan.counts().items() if v})
    within = total.wall <= BUDGET_S
    if not within:
        print(f"FAIL: {total.wall:.2f} s is over the {BUDGET_S:g} s budget")
    result = {
        "bench": "uisp_sync",
        "devices": n,
        "links": n,
        "meshkeeper_s": round(total.wall, 4),
        "meshkeeper_cpu_s": round(total.cpu, 4),
        "fetch_s": round(stages["fetch"].wall, 4),
        "parse_s": round(stages["parse"].wall, 4),
        "plan_s": round(stages["plan"].wall, 4),
        "floor_s": round(floor.wall, 4),
        "ratio": round(total.wall / floor.wall, 3),
        "fetch_parse_ratio": round(fetch_parse / floor.wall, 3),
        "budget_s": BUDGET_S,
        "within_budget": within,
    }
    print(json.dumps(result))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
