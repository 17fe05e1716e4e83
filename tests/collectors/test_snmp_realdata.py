"""SNMP collector against recordings of real gear (../shared/data/snmprec-*), served by snmpsim.

The recordings are copied into a private temporary data directory at test time, never into
the repository. Expected values are read from the recordings or were checked by reading them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.guard import ProbeGuard
from collectors.snmp import SnmpObservation, SnmpTarget, collect
from tests.collectors.snmpsim_agent import SnmpsimAgent

pytestmark = [pytest.mark.realdata, pytest.mark.timeout(180)]
pytest.importorskip("snmpsim")

LOOPBACK = ProbeGuard.from_cidrs(["127.0.0.0/8"])


@pytest.fixture(scope="module")
def real_recordings(shared_data: Path) -> dict[str, Path]:
    """Every real recording, keyed by the community it will be served under."""
    found = {
        path.stem: path
        for folder in ("snmprec-bsd", "snmprec-librenms/snmpsim")
        for path in sorted((shared_data / folder).glob("*.snmprec"))
    }
    if len(found) < 15:
        pytest.fail(f"expected the 15 real recordings, found {sorted(found)}")
    return found


@pytest.fixture(scope="module")
def real_agent(real_recordings: dict[str, Path]) -> Iterator[SnmpsimAgent]:
    with SnmpsimAgent(real_recordings) as running:
        yield running


@pytest.fixture(scope="module")
async def polled(real_agent: SnmpsimAgent) -> dict[str, SnmpObservation]:
    """One collect() over every real recording, as the daemon would run it."""
    targets = [
        SnmpTarget("127.0.0.1", real_agent.port, community=c) for c in real_agent.communities
    ]
    observations = await collect(targets, guard=LOOPBACK)
    return dict(zip(real_agent.communities, observations, strict=True))


def values(path: Path, prefix: str) -> dict[str, str]:
    """OID -> value text of every line of a recording under prefix."""
    found: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        oid, _, rest = line.partition("|")
        if oid == prefix or oid.startswith(prefix + "."):
            found[oid] = rest.split("|", 1)[1]
    return found


async def test_every_recording_answers(polled: dict[str, SnmpObservation]) -> None:
    assert len(polled) == 15
    for community, obs in polled.items():
        assert obs.ok, (community, obs.error)
        assert obs.sys_descr, community
        assert not obs.truncated, community


async def test_system_group_matches_recordings(
    polled: dict[str, SnmpObservation], real_recordings: dict[str, Path]
) -> None:
    for community, obs in polled.items():
        system = values(real_recordings[community], "1.3.6.1.2.1.1")
        assert obs.sys_descr == system["1.3.6.1.2.1.1.1.0"] or system[
            "1.3.6.1.2.1.1.1.0"
        ].startswith("0x"), community
        assert obs.sys_object_id == system.get("1.3.6.1.2.1.1.2.0"), community
        ticks = system.get("1.3.6.1.2.1.1.3.0")
        assert obs.sys_uptime_ticks == (int(ticks) if ticks else None), community


async def test_interfaces_match_recordings(
    polled: dict[str, SnmpObservation], real_recordings: dict[str, Path]
) -> None:
    for community, obs in polled.items():
        path = real_recordings[community]
        names = values(path, "1.3.6.1.2.1.31.1.1.1.1")
        descrs = values(path, "1.3.6.1.2.1.2.2.1.2")
        opers = values(path, "1.3.6.1.2.1.2.2.1.8")
        indexes = {int(oid.rsplit(".", 1)[1]) for oid in {**names, **descrs, **opers}}
        assert [i.index for i in obs.interfaces] == sorted(indexes), community
        for interface in obs.interfaces:
            expected = names.get(f"1.3.6.1.2.1.31.1.1.1.1.{interface.index}") or descrs.get(
                f"1.3.6.1.2.1.2.2.1.2.{interface.index}"
            )
            if expected and not expected.startswith("0x"):
                assert interface.name == expected, (community, interface)
            hc = values(path, f"1.3.6.1.2.1.31.1.1.1.6.{interface.index}")
            if hc:
                assert interface.counter_bits == 64
                assert interface.in_octets == int(next(iter(hc.values()))), community


async def test_airos_m5_airmax(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["ubiquiti-airos-m5"]
    assert obs.sys_name == "Kotelinaya-to-Pat"
    assert obs.uptime_s == 8431538.0
    assert obs.firmware == "XW.ar934x.v5.6-beta4.22359.140521.1836"
    assert len(obs.interfaces) == 9
    assert obs.interfaces[1].name == "eth0" and obs.interfaces[1].counter_bits == 32
    [radio] = obs.radios
    assert (radio.family, radio.mode, radio.ssid) == ("airmax", "apwds", "patrikeevo")
    assert (radio.frequency_mhz, radio.channel_width_mhz) == (5860, 40)
    assert (radio.signal_dbm, radio.noise_floor_dbm, radio.ccq_pct) == (-64, -101, 99)
    assert radio.station_count == 1
    [station] = radio.stations
    assert station.mac == "68:72:51:00:34:25"
    assert station.name == "patrikeevo_skl"
    assert (station.signal_dbm, station.noise_floor_dbm, station.ccq_pct) == (-64, -101, 99)
    assert station.tx_rate_bps == 162_000_000
    assert station.distance_m == 630


@pytest.mark.parametrize(
    ("community", "freq", "signal", "ccq", "noise", "stations", "firmware"),
    [
        ("airos", 5745, -69, 92, -103, 22, "XC.qca955x.v8.5.1.37185.180307.0931"),
        ("airos_airos8", 5780, -70, 33, -91, 1, "WA.ar934x.v8.7.4.45112.210415.1103"),
    ],
)
async def test_airos_librenms(
    polled: dict[str, SnmpObservation],
    community: str,
    freq: int,
    signal: int,
    ccq: int,
    noise: int,
    stations: int,
    firmware: str,
) -> None:
    obs = polled[community]
    assert obs.firmware == firmware
    [radio] = obs.radios
    assert radio.family == "airmax"
    assert (radio.frequency_mhz, radio.signal_dbm, radio.ccq_pct) == (freq, signal, ccq)
    assert (radio.noise_floor_dbm, radio.station_count) == (noise, stations)


async def test_airfiber(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["airos-af"]
    assert obs.firmware == "v4.0.3"
    [radio] = obs.radios
    assert radio.family == "airfiber"
    assert radio.frequency_mhz == 11485  # answered in kHz: 11485000
    assert radio.signal_dbm == -42
    assert (radio.rx_capacity_bps, radio.tx_capacity_bps) == (686400640, 684856960)


async def test_ltu(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["airos-af-ltu"]
    assert obs.firmware == ".v1.1.1-BETA2.00015.180314.0503"
    assert obs.uptime_source == "hrSystemUptime"
    assert obs.uptime_s == 99254.73
    [radio] = obs.radios
    assert (radio.family, radio.mode, radio.frequency_mhz) == ("ltu", "ap", 5840)
    [station] = radio.stations
    assert station.mac == "18:e8:29:1e:30:de"
    assert station.signal_dbm == -47  # strongest of the two chains (-47, -48)
    assert station.distance_m == 10955
    assert (station.tx_rate_bps, station.rx_rate_bps) == (63_488_000, 161_280_000)


async def test_af60(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["airos-af60_airos-af60"]
    assert obs.uptime_s is None  # this agent answers no sysUpTime at all
    assert obs.firmware == "GP.ipq806x.v2.6.0-RC.46590.211230.1238"
    [radio] = obs.radios
    assert (radio.family, radio.mode, radio.frequency_mhz) == ("af60", "ap", 69120)
    [station] = radio.stations
    assert station.mac == "f4:92:bf:e2:9e:8d"
    assert (station.signal_dbm, station.snr_db, station.distance_m) == (-55, 19, 4076)
    assert station.tx_rate_bps == 1_951_000_000


async def test_routeros_registration_table_and_60ghz(
    polled: dict[str, SnmpObservation], real_recordings: dict[str, Path]
) -> None:
    obs = polled["routeros"]
    assert obs.firmware == "6.40.5"
    ap, sixty = obs.radios
    assert (ap.family, ap.mode, ap.frequency_mhz, ap.ssid) == (
        "mikrotik",
        "ap",
        2412,
        "WARKOP-KOPIBOSS-B",
    )
    assert ap.noise_floor_dbm == -117
    strengths = values(real_recordings["routeros"], "1.3.6.1.4.1.14988.1.1.1.2.1.3")
    expected = {}
    for oid, value in strengths.items():
        index = [int(x) for x in oid.split(".")[-7:]]
        expected[":".join(f"{b:02x}" for b in index[:6])] = (int(value), index[6])
    assert {s.mac: (s.signal_dbm, s.interface_index) for s in ap.stations} == expected
    assert (sixty.family, sixty.mode, sixty.frequency_mhz, sixty.signal_dbm) == (
        "mikrotik-60g",
        "stationBridge",
        58320,
        -55,
    )
    [peer] = sixty.stations
    assert (peer.mac, peer.signal_dbm, peer.distance_m) == ("04:d6:aa:a8:0f:89", -54, 2570)
    assert peer.tx_rate_bps == 2_310_000_000


async def test_routeros_station_and_wifi(polled: dict[str, SnmpObservation]) -> None:
    [station] = polled["routeros_station"].radios
    assert (station.mode, station.ssid, station.frequency_mhz) == ("station", "pikjo88", 5745)
    assert (station.signal_dbm, station.channel_width_mhz) == (-47, 20)
    wifi = polled["routeros_wifi"]
    assert wifi.firmware == "6.44"
    [sixty] = wifi.radios
    assert (sixty.mode, sixty.frequency_mhz, sixty.signal_dbm) == ("bridge", 58320, -54)
    [peer] = sixty.stations
    assert (peer.mac, peer.distance_m) == ("b8:69:f4:7f:41:70", 18545)


@pytest.mark.parametrize(
    ("community", "firmware"),
    [
        ("routeros_rb750gr3", "7.20beta2"),
        ("routeros_rb760igs", "7.1.1"),
        ("routeros_rblhgr", "6.45.7"),
    ],
)
async def test_routeros_wired_have_version_and_no_radio(
    polled: dict[str, SnmpObservation], community: str, firmware: str
) -> None:
    obs = polled[community]
    assert obs.firmware == firmware
    assert obs.radios == ()


async def test_linux_hosts_uptime(polled: dict[str, SnmpObservation]) -> None:
    netsnmp = polled["netsnmp-linux-full-walk"]
    assert netsnmp.uptime_source == "hrSystemUptime"
    assert netsnmp.uptime_s == 2335121.42
    openwrt = polled["openwrt"]
    assert openwrt.uptime_s == 38347746.01  # 443 days: close to, not past, the 497-day wrap
    assert openwrt.radios == ()
