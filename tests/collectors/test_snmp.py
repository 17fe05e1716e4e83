"""SNMP collector against a real snmpsim agent on loopback, serving the project's own recordings."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.guard import NOT_ALLOWED, ProbeGuard
from collectors.snmp import NO_ANSWER, SnmpObservation, SnmpTarget, SnmpV3Credentials, collect
from collectors.snmp_mibs import TICKS_WRAP_S, uptime
from collectors.snmp_mikrotik import _band_width
from collectors.snmp_radios import _airfiber_mhz, _airos_rate
from collectors.snmp_session import snmp_engine
from collectors.snmp_v2c import endpoint
from tests.collectors.snmpsim_agent import RECORDINGS, SnmpsimAgent, V3User, own_recordings

LOOPBACK = ProbeGuard.from_cidrs(["127.0.0.0/8"])
V3 = V3User("meshkeeper", "auth-secret-1", "priv-secret-1", "SHA", "AES")

pytestmark = pytest.mark.timeout(120)
pytest.importorskip("snmpsim")


def recorded(name: str, oid: str) -> str:
    """The value column of one line of a recording (what the agent will answer)."""
    for line in (RECORDINGS / f"{name}.snmprec").read_text().splitlines():
        key, _, value = line.split("|", 2)
        if key == oid:
            return value
    raise KeyError(oid)


@pytest.fixture(scope="module")
def agent() -> Iterator[SnmpsimAgent]:
    """One snmpsim process for the module, with the v3 user configured."""
    with SnmpsimAgent(own_recordings(), v3_users=[V3]) as running:
        yield running


def v2c(agent: SnmpsimAgent, community: str) -> SnmpTarget:
    return SnmpTarget("127.0.0.1", agent.port, community=community)


async def one(target: SnmpTarget, **options: object) -> SnmpObservation:
    [observation] = await collect([target], guard=LOOPBACK, **options)  # type: ignore[arg-type]
    return observation


async def test_linux_host_system_group_and_ifxtable(agent: SnmpsimAgent) -> None:
    obs = await one(v2c(agent, "linux-host"))
    assert obs.ok, obs.error
    assert obs.sys_descr == recorded("linux-host", "1.3.6.1.2.1.1.1.0")
    assert obs.sys_object_id == recorded("linux-host", "1.3.6.1.2.1.1.2.0")
    assert obs.sys_name == recorded("linux-host", "1.3.6.1.2.1.1.5.0")
    assert obs.sys_uptime_ticks == int(recorded("linux-host", "1.3.6.1.2.1.1.3.0"))
    # hrSystemUptime (host) wins over sysUpTime (agent) when both are there.
    assert obs.uptime_source == "hrSystemUptime"
    assert obs.uptime_s == int(recorded("linux-host", "1.3.6.1.2.1.25.1.1.0")) / 100
    assert [i.index for i in obs.interfaces] == [1, 2, 5]
    eth0 = obs.interfaces[1]
    # ifName, not the long ifDescr; ifHighSpeed (10000 Mbit/s), not the saturated ifSpeed.
    assert eth0.name == "eth0"
    assert eth0.speed_bps == 10_000_000_000
    assert eth0.in_octets == int(recorded("linux-host", "1.3.6.1.2.1.31.1.1.1.6.2"))
    assert eth0.out_octets == int(recorded("linux-host", "1.3.6.1.2.1.31.1.1.1.10.2"))
    assert eth0.counter_bits == 64
    assert obs.interfaces[2].oper_status == "down"
    assert obs.interfaces[2].speed_bps is None
    assert obs.radios == ()
    assert obs.requests == 2


async def test_airmax_ap_radio_stations_and_iftable_fallback(agent: SnmpsimAgent) -> None:
    obs = await one(v2c(agent, "airmax-ap"))
    assert obs.ok, obs.error
    assert obs.firmware == recorded("airmax-ap", "1.2.840.10036.3.1.2.1.4.5")
    assert obs.model == recorded("airmax-ap", "1.2.840.10036.3.1.2.1.3.5") == "Rocket M5"
    assert obs.sys_descr != obs.model
    assert obs.uptime_source == "sysUpTime"
    assert obs.uptime_s == 45678.0
    # No ifXTable: names from ifDescr, speed from ifSpeed, 32-bit counters.
    assert [i.name for i in obs.interfaces] == ["lo", "eth0", "ath0", "br0"]
    assert obs.interfaces[1].speed_bps == 100_000_000
    assert obs.interfaces[1].counter_bits == 32
    assert obs.interfaces[1].in_octets == int(recorded("airmax-ap", "1.3.6.1.2.1.2.2.1.10.2"))
    [radio] = obs.radios
    assert radio.family == "airmax"
    assert radio.mode == "ap"
    assert radio.ssid == "nycmesh-1340-omni"
    assert radio.frequency_mhz == int(recorded("airmax-ap", "1.3.6.1.4.1.41112.1.4.1.1.4.1"))
    assert radio.channel_width_mhz == 20
    assert radio.signal_dbm == -62
    assert radio.noise_floor_dbm == -95
    assert radio.ccq_pct == 91
    assert radio.station_count == 2
    assert (radio.tx_power_dbm, radio.distance_m, radio.rssi) == (22, 1200.0, 34)
    first, second = radio.stations
    assert first.mac == "24:5a:4c:aa:bb:01"
    assert first.name == "nycmesh-5916-lbe"
    assert (first.signal_dbm, first.ccq_pct, first.latency_ms) == (-58, 95, 3)
    assert first.tx_rate_bps == 150_000_000  # airOS 6 answers kbit/s
    assert first.uptime_s == 86400.0
    assert first.distance_m == 450
    assert second.mac == "78:8a:20:11:22:33"
    assert (second.signal_dbm, second.ccq_pct, second.latency_ms) == (-71, 64, 11)
    # Round two is two GETBULKs: interfaces (4 rows) and stations (2, per ubntWlStatStaCount)
    # do not fit one PDU under a shared max-repetitions.
    assert obs.requests == 3


async def test_mikrotik_registration_table(agent: SnmpsimAgent) -> None:
    obs = await one(v2c(agent, "mikrotik-ap"))
    assert obs.ok, obs.error
    assert obs.firmware == recorded("mikrotik-ap", "1.3.6.1.4.1.14988.1.1.4.4.0")
    [radio] = obs.radios
    assert (radio.family, radio.mode, radio.frequency_mhz) == ("mikrotik", "ap", 5180)
    assert radio.channel_width_mhz == 20
    assert radio.noise_floor_dbm == -108
    assert radio.ccq_pct == 87
    assert radio.station_count == 2
    by_mac = {s.mac: s for s in radio.stations}
    near = by_mac["4c:5e:0c:11:22:33"]
    assert near.signal_dbm == int(
        recorded("mikrotik-ap", "1.3.6.1.4.1.14988.1.1.1.2.1.3.76.94.12.17.34.51.2")
    )
    assert (near.snr_db, near.tx_rate_bps, near.rx_rate_bps) == (42, 130_000_000, 117_000_000)
    assert near.uptime_s == 360000.0
    assert near.name == "nycmesh-1932-nsm5"
    assert near.interface_index == 2
    far = by_mac["dc:2c:6e:aa:bb:cc"]
    assert (far.signal_dbm, far.snr_db, far.uptime_s, far.name) == (-74, 29, 54.0, None)
    # Round two: interfaces, the registration table (sized for two rows) and the RouterOS
    # scalars share one GETBULK; the AP table (every row, one radio hinted) takes its own.
    assert obs.requests == 3


async def test_mikrotik_several_radios_each_with_its_own_stations(agent: SnmpsimAgent) -> None:
    obs = await one(v2c(agent, "mikrotik-radios"))
    assert obs.ok, obs.error
    two, five, station, orphan = obs.radios
    # mtxrWlApTable rows 1 and 2, mtxrWlStatTable row 3, each named from ifDescr.
    assert [(r.mode, r.interface_index, r.name) for r in obs.radios] == [
        ("ap", 1, "wlan1"),
        ("ap", 2, "wlan2"),
        ("station", 3, "wlan3"),
        (None, 4, "wlan4"),  # registrations on an interface with no AP/station row
    ]
    assert (two.ssid, two.frequency_mhz, two.channel_width_mhz) == ("hub-2g", 2437, 20)
    assert (five.ssid, five.frequency_mhz, five.channel_width_mhz) == ("hub-5g", 5180, 40)
    assert (two.noise_floor_dbm, five.noise_floor_dbm, two.ccq_pct) == (-105, -110, 80)
    # mtxrWlRtabIface (the last index part) decides the radio: nothing lands on another.
    assert [(s.mac, s.signal_dbm, s.snr_db) for s in two.stations] == [
        ("4c:5e:0c:01:01:01", -55, 40),
        ("4c:5e:0c:01:01:02", -60, 35),
    ]
    assert [s.mac for s in five.stations] == ["4c:5e:0c:02:02:01"]
    assert [s.mac for s in orphan.stations] == ["4c:5e:0c:04:04:01"]
    assert (two.station_count, five.station_count, station.station_count) == (2, 1, 0)
    assert (station.signal_dbm, station.ccq_pct, station.rx_ccq_pct) == (-66, 90, 84)
    assert (station.tx_rate_bps, station.rx_rate_bps) == (117_000_000, 78_000_000)
    assert (obs.model, obs.model_source) == ("RB4011iGS+5HacQ2HnD", "MIKROTIK-MIB::mtxrBoardName")
    assert (obs.serial, obs.licence, obs.firmware) == ("HG1234567AB", "Level 5", "7.15.3")


async def test_mikrotik_60ghz(agent: SnmpsimAgent) -> None:
    obs = await one(v2c(agent, "mikrotik-60g"))
    assert obs.ok, obs.error
    assert obs.firmware == "6.48.6"
    [radio] = obs.radios
    assert radio.family == "mikrotik-60g"
    assert (radio.mode, radio.frequency_mhz, radio.signal_dbm) == ("stationBridge", 60480, -58)
    [peer] = radio.stations
    assert peer.mac == "b8:69:f4:11:22:33"
    assert peer.tx_rate_bps == 2_772_000_000
    assert peer.distance_m == 312.0  # mtxrWl60GStaDistance 31200, in centimetres
    assert (peer.signal_quality_pct, radio.signal_quality_pct) == (78, 78)
    assert (obs.model, obs.model_source) == ("RBLHGG-60ad", "SNMPv2-MIB::sysDescr")


async def test_huge_and_wrapped_uptime(agent: SnmpsimAgent) -> None:
    huge, wrapped = await collect(
        [v2c(agent, "uptime-huge"), v2c(agent, "uptime-wrapped")], guard=LOOPBACK
    )
    # 2**32-1 hundredths: the last value before the wrap, reported as it reads.
    assert huge.uptime_s == 42949672.95
    assert huge.interfaces == ()
    # sysUpTime wrapped once; snmpEngineTime (seconds, no wrap) shows it.
    assert wrapped.sys_uptime_ticks == 123456
    assert wrapped.uptime_s == pytest.approx(1234.56 + TICKS_WRAP_S)
    assert wrapped.uptime_source == "sysUpTime+snmpEngineTime"


async def test_v3_authpriv_sha_aes(agent: SnmpsimAgent) -> None:
    good = SnmpV3Credentials(V3.user, V3.auth_key, V3.priv_key, context_name="linux-host")
    bad_auth = SnmpV3Credentials(V3.user, "wrong-secret-9", V3.priv_key, context_name="linux-host")
    stranger = SnmpV3Credentials("nobody", V3.auth_key, V3.priv_key, context_name="linux-host")
    # One at a time: pysnmp keeps one USM row per user name, so one cycle cannot hold two
    # key sets for the same user (see collectors/snmp.py).
    ok, digest, unknown, again = [
        await one(SnmpTarget("127.0.0.1", agent.port, v3=c), timeout=1.0, retries=0)
        for c in (good, bad_auth, stranger, good)
    ]
    assert ok.ok, ok.error
    assert ok.sys_name == recorded("linux-host", "1.3.6.1.2.1.1.5.0")
    assert [i.name for i in ok.interfaces] == ["lo", "eth0", "wg0"]
    assert digest.error is not None and "digest" in digest.error.lower()
    assert unknown.error is not None and "unknown" in unknown.error.lower()
    assert again.ok, again.error
    assert "auth-secret" not in repr(good)


async def test_unknown_community_is_no_answer(agent: SnmpsimAgent) -> None:
    started = time.monotonic()
    obs = await one(v2c(agent, "no-such-recording"), timeout=0.5, retries=1)
    assert obs.error == NO_ANSWER
    assert time.monotonic() - started < 0.5 * 2 + 1.5


async def test_walks_are_bounded_by_row_cap(agent: SnmpsimAgent) -> None:
    obs = await one(v2c(agent, "linux-host"), max_rows=2)
    assert [i.index for i in obs.interfaces] == [1, 2]
    assert obs.truncated


async def test_small_pdus_still_read_everything(agent: SnmpsimAgent) -> None:
    big = await one(v2c(agent, "airmax-ap"))
    small = await one(v2c(agent, "airmax-ap"), max_varbinds=4)
    assert small.ok, small.error
    assert small.requests > big.requests
    assert small.interfaces == big.interfaces
    assert small.radios == big.radios


@pytest.fixture(scope="module")
def stingy_agent() -> Iterator[SnmpsimAgent]:
    """An agent that answers at most 7 varbinds per PDU, whatever was asked."""
    recordings = {name: path for name, path in own_recordings().items() if "-ap" in name}
    with SnmpsimAgent(recordings, max_var_binds=7) as running:
        yield running


async def test_agent_truncating_getbulk_answers(
    agent: SnmpsimAgent, stingy_agent: SnmpsimAgent
) -> None:
    for community in ("airmax-ap", "mikrotik-ap"):
        full = await one(v2c(agent, community))
        cut = await one(v2c(stingy_agent, community))
        assert cut.ok, cut.error
        assert cut.interfaces == full.interfaces
        assert cut.radios == full.radios


@pytest.fixture(scope="module")
def miscounting_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimAgent]:
    """The AP recordings with a wrong station count (0, 1 or 40) beside their two stations."""
    folder = tmp_path_factory.mktemp("miscounted")
    recordings = {}
    for name, count_oid in COUNTS.items():
        for count in (0, 1, 40):
            lines = []
            for line in (RECORDINGS / f"{name}.snmprec").read_text().splitlines():
                oid, tag, _ = line.split("|", 2)
                lines.append(f"{oid}|{tag}|{count}" if oid == count_oid else line)
            path = folder / f"{name}-{count}.snmprec"
            path.write_text("\n".join(lines) + "\n")
            recordings[path.stem] = path
    with SnmpsimAgent(recordings) as running:
        yield running


COUNTS = {
    "airmax-ap": "1.3.6.1.4.1.41112.1.4.5.1.15.1",  # ubntWlStatStaCount
    "mikrotik-ap": "1.3.6.1.4.1.14988.1.1.1.3.1.6.2",  # mtxrWlApClientCount
}


@pytest.mark.parametrize("count", [0, 1, 40])
@pytest.mark.parametrize("name", sorted(COUNTS))
async def test_a_wrong_station_count_loses_nothing(
    agent: SnmpsimAgent, miscounting_agent: SnmpsimAgent, name: str, count: int
) -> None:
    right = await one(v2c(agent, name))
    wrong = await one(v2c(miscounting_agent, f"{name}-{count}"))
    assert wrong.ok and not wrong.truncated, wrong.error
    assert wrong.interfaces == right.interfaces
    assert [radio.stations for radio in wrong.radios] == [radio.stations for radio in right.radios]
    assert wrong.requests >= right.requests


@pytest.fixture
def silent_socket() -> Iterator[tuple[socket.socket, list[bytes]]]:
    """A UDP socket on loopback that reads every datagram and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    seen: list[bytes] = []
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                seen.append(sock.recv(65535))
            except TimeoutError:
                continue
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    yield sock, seen
    stop.set()
    reader.join(timeout=2)
    sock.close()


async def test_agent_that_drops_everything(silent_socket: tuple[socket.socket, list]) -> None:
    sock, seen = silent_socket
    port = sock.getsockname()[1]
    started = time.monotonic()
    obs = await one(SnmpTarget("127.0.0.1", port, community="public"), timeout=0.5, retries=1)
    elapsed = time.monotonic() - started
    assert obs.error == NO_ANSWER
    assert obs.requests == 1
    assert elapsed < 0.5 * (1 + 1) + 1.5
    assert len(seen) == 2  # the request and its one retry


async def test_port_with_nothing_listening() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    obs = await one(SnmpTarget("127.0.0.1", port, community="public"), timeout=0.4, retries=1)
    assert obs.error == NO_ANSWER
    assert time.monotonic() - started < 0.4 * 2 + 1.5


async def test_refused_address_is_never_sent_a_packet(
    agent: SnmpsimAgent, silent_socket: tuple[socket.socket, list]
) -> None:
    sock, seen = silent_socket
    port = sock.getsockname()[1]
    only_agent = ProbeGuard.from_cidrs(["127.0.0.2/32"])
    targets = [
        SnmpTarget("127.0.0.1", port, community="public"),
        SnmpTarget("192.0.2.1", 161, community="public"),  # TEST-NET-1, outside loopback
        SnmpTarget("not-an-ip", 161, community="public"),
    ]
    observations = await collect(targets, guard=only_agent, timeout=0.3, retries=0)
    await asyncio.sleep(0.3)
    assert [o.error for o in observations] == [NOT_ALLOWED] * 3
    assert [o.requests for o in observations] == [0, 0, 0]
    assert seen == []


async def test_results_keep_target_order(agent: SnmpsimAgent) -> None:
    targets = [
        v2c(agent, "mikrotik-ap"),
        SnmpTarget("198.51.100.7", 161, community="public"),
        v2c(agent, "linux-host"),
    ]
    observations = await collect(targets, guard=LOOPBACK, concurrency=1)
    assert [o.address for o in observations] == ["127.0.0.1", "198.51.100.7", "127.0.0.1"]
    assert [o.sys_name for o in observations] == ["nycmesh-227-sector1", None, "nn1234-core"]
    assert observations[1].error == NOT_ALLOWED


async def test_one_engine_per_loop() -> None:
    assert snmp_engine() is snmp_engine()


async def test_one_v2c_socket_per_family_per_loop() -> None:
    v4 = await endpoint(socket.AF_INET)
    assert await endpoint(socket.AF_INET) is v4
    assert v4.sock.family == socket.AF_INET
    # Asked for at once (two collect() calls starting together), still one socket.
    first, second = await asyncio.gather(endpoint(socket.AF_INET6), endpoint(socket.AF_INET6))
    assert first is second and first.sock.family == socket.AF_INET6
    # A socket asyncio gave up on (it closes one after an error it cannot report) is replaced.
    assert v4.transport is not None
    v4.transport.close()
    assert await endpoint(socket.AF_INET) is not v4


@pytest.mark.parametrize(
    ("sys_ticks", "hr_ticks", "engine_s", "expected", "source"),
    [
        (None, None, None, None, None),
        (12345, None, None, 123.45, "sysUpTime"),
        (12345, 99900, 100, 999.0, "hrSystemUptime"),
        (2**32 - 1, None, None, 42949672.95, "sysUpTime"),
        # Engine time within the clock slack of the ticks: nothing to unwrap.
        (100, None, 30, 1.0, "sysUpTime"),
        # Agent up 2 wraps and a bit: two wraps added back.
        (500, None, int(2 * TICKS_WRAP_S) + 5, 5 + 2 * TICKS_WRAP_S, "sysUpTime+snmpEngineTime"),
        # The host cannot have been up for less than its agent: 10 s + 1 wrap < engine time,
        # so the host clock wrapped twice.
        (
            None,
            1000,
            int(TICKS_WRAP_S) + 100,
            10 + 2 * TICKS_WRAP_S,
            "hrSystemUptime+snmpEngineTime",
        ),
        (None, 1000, int(TICKS_WRAP_S) - 100, 10 + TICKS_WRAP_S, "hrSystemUptime+snmpEngineTime"),
    ],
)
def test_uptime_rules(
    sys_ticks: int | None,
    hr_ticks: int | None,
    engine_s: int | None,
    expected: float | None,
    source: str | None,
) -> None:
    seconds, where = uptime(sys_ticks, hr_ticks, engine_s)
    assert where == source
    assert seconds == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("raw", "bps"), [(162000, 162_000_000), (59_999_000, 59_999_000), (0, None), (None, None)]
)
def test_airos_rate_units(raw: int | None, bps: int | None) -> None:
    from pysnmp.proto.rfc1902 import Integer32

    assert _airos_rate(Integer32(raw) if raw is not None else None) == bps


def test_airfiber_khz_and_band_width() -> None:
    from pysnmp.proto.rfc1902 import Integer32

    assert _airfiber_mhz(Integer32(11485000)) == 11485
    assert _airfiber_mhz(Integer32(5800)) == 5800
    assert _band_width("2412/20-Ce/gn") == 20
    assert _band_width("5805/80/ac") == 80
    assert _band_width("") is None


def test_target_validation() -> None:
    with pytest.raises(ValueError):
        SnmpTarget("127.0.0.1")
    with pytest.raises(ValueError):
        SnmpTarget("127.0.0.1", community="x", v3=SnmpV3Credentials("u", "12345678", "12345678"))
    with pytest.raises(ValueError):
        SnmpV3Credentials("u", "short", "12345678")
    with pytest.raises(ValueError):
        SnmpV3Credentials("u", "12345678", "12345678", priv_protocol="ROT13")
    assert "community" not in repr(SnmpTarget("127.0.0.1", community="s3cret"))


def test_recordings_are_sorted() -> None:
    # snmpsim answers GETNEXT from file order: an unsorted recording would lie.
    for path in sorted(Path(RECORDINGS).glob("*.snmprec")):
        oids = [
            tuple(map(int, line.split("|")[0].split(".")))
            for line in path.read_text().split("\n")
            if line
        ]
        assert oids == sorted(oids) and len(set(oids)) == len(oids), path.name
