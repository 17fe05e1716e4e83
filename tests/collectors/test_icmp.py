"""ICMP collector on real loopback only: 127.0.0.0/8, ::1 and network namespaces made here.

Silent and duplicating hosts come from one nftables table this module adds on dedicated
127.x ranges and always deletes; the unprivileged (datagram) path runs for real in a private
network namespace (``unshare --net``) as user nobody, where net.ipv4.ping_group_range can be
set without touching this host's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icmplib.sockets import ICMPv4Socket

from collectors.errors import CollectorError
from collectors.guard import NOT_ALLOWED, ProbeGuard
from collectors.icmp import PingObservation, collect, summarize
from collectors.icmp_engine import Tally
from collectors.icmp_packet import ECHO_HEADER_SIZE, ICMP_ECHO_REQUEST, EchoTemplate, checksum
from collectors.icmp_sockets import IcmpMode, decide_mode
from tests.nft import drop_stale_tables, nft

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = ProbeGuard.from_cidrs(["127.0.0.0/8", "::1/128"])
SILENT_NET = "127.254.0.0/16"  # echo requests dropped on input by our nftables table
# Echo requests to it are duplicated on output, so each probe is answered twice; one address
# per test process, so two runs of this module at once do not double each other's copies.
DUP_HOST = f"127.253.{os.getpid() >> 8 & 0xFF}.{os.getpid() & 0xFF}"
REFUSED = ["10.213.77.1", "192.0.2.55"]  # real-data-like and TEST-NET-1: never sent anything
NFT_PREFIX = "meshkeeper_icmp_test_"
FAST = {"interval": 0.0, "timeout": 1.0, "rate": None}


def _ping_mode() -> IcmpMode | None:
    try:
        return decide_mode()
    except CollectorError:
        return None


pytestmark = [
    pytest.mark.peer,  # nft and fping when present; those tests skip without them
    pytest.mark.skipif(
        _ping_mode() is None, reason="this process may open neither raw nor datagram ICMP sockets"
    ),
]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- nftables: silent and duplicating loopback hosts, and a tripwire for refused addresses ---


@pytest.fixture(scope="module")
def nft_table() -> Iterator[str]:
    """One nftables table for this module's run; deleted afterwards whatever happens."""
    if shutil.which("nft") is None or os.geteuid() != 0:
        pytest.skip("needs root and nft (apt-get install nftables) for silent/duplicate hosts")
    drop_stale_tables(NFT_PREFIX)
    name = f"{NFT_PREFIX}{os.getpid()}"
    refused = ", ".join(REFUSED)
    ruleset = f"""
table ip {name} {{
    chain input {{
        type filter hook input priority 0; policy accept;
        ip daddr {SILENT_NET} icmp type echo-request drop
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        ip daddr {{ {refused} }} counter drop
        ip daddr {DUP_HOST} icmp type echo-request dup to {DUP_HOST} device "lo"
    }}
}}
"""
    made = nft("-f", "-", stdin=ruleset)
    if made.returncode != 0:
        pytest.skip(f"nftables refused our table here: {made.stderr.strip()}")
    try:
        yield name
    finally:
        nft("delete", "table", "ip", name)


def _refused_packets(table: str) -> int:
    listing = nft("list", "chain", "ip", table, "output").stdout
    match = re.search(r"counter packets (\d+)", listing)
    assert match, listing
    return int(match.group(1))


# --- packets: our incremental checksum against RFC 1071 and icmplib's own packet builder ---


@given(
    token=st.integers(0, 2**64 - 1),
    identifier=st.integers(0, 0xFFFF),
    index=st.integers(0, 2**32 - 1),
    size=st.integers(12, 300),
)
def test_echo_request_matches_icmplib_and_checks_out(token, identifier, index, size):
    template = EchoTemplate(ICMP_ECHO_REQUEST, token, size, kernel_checksum=False)
    packet = template.request(identifier, index & 0xFFFF, index)
    assert len(packet) == ECHO_HEADER_SIZE + size
    assert checksum(packet) == 0  # a correct Internet checksum sums to all ones
    builder = ICMPv4Socket.__new__(ICMPv4Socket)
    builder._sock = None  # never opened: we only borrow its packet builder
    assert builder._create_packet(identifier, index & 0xFFFF, packet[8:]) == packet


@given(
    sent=st.integers(0, 50),
    data=st.data(),
)
def test_summary_arithmetic(sent, data):
    received = data.draw(st.integers(0, sent))
    rtts = data.draw(st.lists(st.integers(1, 10**9), min_size=received, max_size=received))
    tally = Tally(sent, received, 0, min(rtts, default=0), max(rtts, default=0), sum(rtts), None)
    obs = summarize("127.0.0.1", tally)
    assert obs.sent == obs.received + obs.lost
    assert obs.loss == (pytest.approx((sent - received) / sent) if sent else 1.0)
    if received:
        assert obs.rtt_min_ms <= obs.rtt_avg_ms + 1e-9 and obs.rtt_avg_ms <= obs.rtt_max_ms + 1e-9
    else:
        assert obs.rtt_min_ms is obs.rtt_avg_ms is obs.rtt_max_ms is None


def test_summary_refuses_more_replies_than_probes():
    with pytest.raises(ValueError):
        summarize("127.0.0.1", Tally(1, 2, 0, 1, 1, 2, None))


# --- real ICMP on loopback ---


async def test_loopback_answers_with_sane_rtt():
    t0 = time.monotonic()
    obs = await collect(["127.0.0.1", "127.0.0.2"], guard=LOOPBACK, count=3, interval=0.05)
    elapsed = time.monotonic() - t0
    for o in obs:
        assert (o.sent, o.received, o.loss, o.duplicates, o.error) == (3, 3, 0.0, 0, None)
        assert 0 < o.rtt_min_ms <= o.rtt_avg_ms <= o.rtt_max_ms < 1000
    assert elapsed >= 2 * 0.05  # three probes to one address, interval apart


async def test_count_and_loss_arithmetic():
    (obs,) = await collect(["127.0.0.9"], guard=LOOPBACK, count=7, **FAST)
    assert (obs.sent, obs.received, obs.lost, obs.loss) == (7, 7, 0, 0.0)


async def test_guard_refuses_with_not_allowed():
    targets = [REFUSED[0], "127.0.0.1", REFUSED[1], "not-an-address"]
    obs = await collect(targets, guard=LOOPBACK, count=2, **FAST)
    assert [o.address for o in obs] == targets
    for o in (obs[0], obs[2], obs[3]):
        assert (o.sent, o.received, o.error, o.loss, o.rtt_avg_ms) == (0, 0, NOT_ALLOWED, 1.0, None)
    assert obs[1].received == 2


async def test_refused_addresses_are_sent_no_packet(nft_table):
    # The table counts (and drops) anything leaving for them: a tripwire, not a fake.
    before = _refused_packets(nft_table)
    wide = ProbeGuard.from_cidrs(["127.0.0.0/8"])
    obs = await collect([*REFUSED, "127.0.0.1"], guard=wide, count=3, **FAST)
    assert [o.error for o in obs] == [NOT_ALLOWED, NOT_ALLOWED, None]
    assert _refused_packets(nft_table) == before  # not one packet for 10.x / 192.0.2.x


async def test_nothing_allowed_and_nothing_asked():
    obs = await collect(REFUSED, guard=ProbeGuard(), count=1)  # the empty guard allows nowhere
    assert [o.error for o in obs] == [NOT_ALLOWED, NOT_ALLOWED]
    assert await collect([], guard=LOOPBACK) == []


async def test_input_order_and_repeated_targets_probed_once():
    targets = ["127.0.0.3", "127.0.0.1", "127.0.0.3", "127.0.0.2"]
    obs = await collect(targets, guard=LOOPBACK, count=2, **FAST)
    assert [o.address for o in obs] == targets
    assert obs[0] == obs[2]
    assert all(o.sent == 2 and o.received == 2 for o in obs)  # not 4 for the repeated one


async def test_many_addresses_all_accounted_for():
    targets = [f"127.{10 + i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(2000)]
    obs = await collect(targets, guard=LOOPBACK, count=3, **FAST)
    assert len(obs) == 2000
    assert sum(o.sent for o in obs) == 6000
    assert all(o.sent == o.received + o.lost for o in obs)
    assert sum(o.received for o in obs) == 6000
    assert sum(o.duplicates for o in obs) == 0


async def test_concurrent_collections_keep_their_own_replies():
    # Raw sockets see every reply on the host; the per-collection token keeps them apart.
    targets = [f"127.0.1.{i}" for i in range(1, 101)]
    a, b = await asyncio.gather(
        collect(targets, guard=LOOPBACK, count=3, **FAST),
        collect(targets, guard=LOOPBACK, count=3, **FAST),
    )
    for o in a + b:
        assert (o.sent, o.received, o.duplicates) == (3, 3, 0)


async def test_silent_host_is_lost_after_timeout(nft_table):
    silent = ["127.254.0.1", "127.254.0.2"]
    t0 = time.monotonic()
    obs = await collect([*silent, "127.0.0.1"], guard=LOOPBACK, count=3, interval=0, timeout=0.3)
    elapsed = time.monotonic() - t0
    for o in obs[:2]:
        assert (o.sent, o.received, o.lost, o.loss, o.rtt_avg_ms) == (3, 0, 3, 1.0, None)
        assert o.error is None  # no answer is an observation, not an error
    assert obs[2].received == 3
    assert 0.3 <= elapsed < 3


async def test_duplicate_replies_counted_apart(nft_table):
    (obs,) = await collect([DUP_HOST], guard=LOOPBACK, count=3, interval=0.02, timeout=0.5)
    assert (obs.sent, obs.received, obs.loss) == (3, 3, 0.0)
    assert obs.duplicates == 3


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
async def test_ipv6_loopback_and_mixed_families():
    obs = await collect(["::1", "127.0.0.1", "0::1"], guard=LOOPBACK, count=3, **FAST)
    assert [o.address for o in obs] == ["::1", "127.0.0.1", "0::1"]
    assert all((o.sent, o.received, o.loss) == (3, 3, 0.0) for o in obs)
    assert dataclasses.replace(obs[2], address="::1") == obs[0]  # one host, two spellings


async def test_rate_paces_the_sender():
    targets = [f"127.0.2.{i}" for i in range(1, 201)]
    t0 = time.monotonic()
    obs = await collect(targets, guard=LOOPBACK, count=1, interval=0, rate=1000)
    assert time.monotonic() - t0 >= 0.18  # 200 probes at 1000/s
    assert sum(o.received for o in obs) == 200


@pytest.mark.parametrize(
    "options",
    [{"count": 0}, {"timeout": 0}, {"interval": -1}, {"payload_size": 11}, {"rate": -5}],
)
async def test_bad_options_raise(options):
    with pytest.raises(ValueError):
        await collect(["127.0.0.1"], guard=LOOPBACK, **options)


def test_observation_is_frozen():
    obs = PingObservation("127.0.0.1", 1, 1, 0.1, 0.1, 0.1, 0.0, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        obs.sent = 2  # type: ignore[misc]


# --- the privileged / unprivileged decision ---


def _root_range_admits_us() -> bool:
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    return low <= os.getgid() <= high


@pytest.mark.skipif(os.geteuid() != 0, reason="the process decides raw only with root")
def test_root_decides_raw():
    assert decide_mode() is IcmpMode.RAW


@pytest.mark.skipif(_root_range_admits_us(), reason="ping_group_range admits this gid here")
async def test_forced_datagram_refused_names_the_fix():
    with pytest.raises(CollectorError) as caught:
        await collect(["127.0.0.1"], guard=LOOPBACK, mode=IcmpMode.DATAGRAM)
    assert "net.ipv4.ping_group_range" in caught.value.reason


SCRIPT = """
import asyncio, dataclasses, json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from collectors.errors import CollectorError
from collectors.guard import ProbeGuard
from collectors.icmp import collect, decide_mode


async def main():
    guard = ProbeGuard.from_cidrs(["127.0.0.0/8", "::1/128"])
    targets = json.loads(sys.argv[1])
    opts = dict(count=3, interval=0, timeout=1.0, rate=None)
    try:
        first = await collect(targets, guard=guard, **opts)
        await collect(targets[:1], guard=guard, **opts)  # the mode is not decided again
    except CollectorError as exc:
        print(json.dumps({"error": exc.reason}))
        return
    rows = [dataclasses.asdict(o) for o in first]
    print(json.dumps({"mode": decide_mode().value, "observations": rows}))

asyncio.run(main())
"""


def _isolated(targets: list[str], *, netns: bool, group_range: str | None, nobody: bool):
    """Run SCRIPT in a fresh process (and network namespace), return its JSON and its log."""
    needed = (["unshare", "ip", "sysctl"] if netns else []) + (["setpriv"] if nobody else [])
    if os.geteuid() != 0 or any(shutil.which(tool) is None for tool in needed):
        pytest.skip(f"needs root and {needed} to build an isolated process")
    steps = []
    if netns:
        steps.append("ip link set lo up")
    if group_range is not None:
        steps.append(f"sysctl -qw net.ipv4.ping_group_range='{group_range}'")
    run = f"{sys.executable} -c \"$MK_SCRIPT\" '{json.dumps(targets)}'"
    if nobody:
        run = f"setpriv --reuid=65534 --regid=65534 --clear-groups {run}"
    command = " && ".join([*steps, f"exec {run}"])
    argv = ["unshare", "--net", "sh", "-c", command] if netns else ["sh", "-c", command]
    env = {**os.environ, "MK_SCRIPT": SCRIPT, "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    if netns and done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"cannot create a network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _mode_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "icmp: using" in line]


def test_unprivileged_process_uses_datagram_sockets():
    targets = ["127.0.0.1", *(f"127.0.3.{i}" for i in range(1, 201)), "::1"]
    result, log = _isolated(targets, netns=True, group_range="0 2147483647", nobody=True)
    assert result.get("mode") == "datagram", result
    assert len(_mode_lines(log)) == 1 and "datagram" in _mode_lines(log)[0]  # once per process
    for row in result["observations"]:
        assert (row["sent"], row["received"], row["duplicates"]) == (3, 3, 0), row


def test_unprivileged_process_without_ping_group_gets_the_fix():
    result, _ = _isolated(["127.0.0.1"], netns=True, group_range="1 0", nobody=True)
    assert "CAP_NET_RAW" in result["error"] and "ping_group_range" in result["error"]


def test_privileged_process_decides_raw_once():
    result, log = _isolated(["127.0.0.1"], netns=False, group_range=None, nobody=False)
    assert result["mode"] == "raw"
    lines = _mode_lines(log)
    assert len(lines) == 1 and "raw" in lines[0], log
    assert result["observations"][0]["received"] == 3


def test_deciding_again_logs_nothing(caplog):
    # Deciding again in the same process is silent: the choice was made (and logged) once.
    decide_mode()
    with caplog.at_level(logging.INFO, logger="collectors.icmp_sockets"):
        decide_mode()
    assert not caplog.records
