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


async def test_airos_model_power_chains_and_airmax(polled: dict[str, SnmpObservation]) -> None:
    # dot11manufacturerProductName.10 / .7, never sysDescr ("Linux 2.6.32.68 ...").
    prism, litebeam = polled["airos"], polled["airos_airos8"]
    assert (prism.model, litebeam.model) == ("Rocket Prism 5AC Gen2", "LiteBeam 5AC Gen2")
    assert prism.model_source == "IEEE802dot11-MIB::dot11manufacturerProductName"
    assert prism.sys_object_id == "1.3.6.1.4.1.10002.1"
    [radio] = prism.radios
    # ubntRadioTxPower 27 dBm, ubntRadioDistance 14400 m, ubntWlStatRssi 27, chains 48/50.
    assert (radio.tx_power_dbm, radio.distance_m, radio.rssi) == (27, 14400.0, 27)
    assert radio.chain_rssi == (48, 50)
    # ubntWlStatTxRate/RxRate in bit/s on airOS 8; ubntAirMaxQuality/Capacity in percent.
    assert (radio.tx_rate_bps, radio.rx_rate_bps) == (59_999_000, 37_338_600)
    assert (radio.airmax_quality_pct, radio.airmax_capacity_pct) == (53, 50)
    assert radio.airtime_pct is None  # this firmware has no ubntAirMaxAirtime
    [radio] = litebeam.radios
    assert (radio.tx_power_dbm, radio.chain_rssi, radio.rssi) == (24, (19, 24), 26)
    assert (radio.tx_rate_bps, radio.rx_rate_bps) == (39_000_000, 52_000_000)
    assert radio.airtime_pct == 69.9  # ubntAirMaxAirtime 699, tenths of a percent
    assert radio.airmax_capacity_pct == 0


async def test_airfiber(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["airos-af"]
    assert obs.firmware == "v4.0.3"
    [radio] = obs.radios
    assert radio.family == "airfiber"
    assert radio.frequency_mhz == 11485  # answered in kHz: 11485000
    assert radio.signal_dbm == -42
    assert (radio.rx_capacity_bps, radio.tx_capacity_bps) == (686400640, 684856960)
    assert radio.rx_frequency_mhz == 10995  # rxFrequency 10995000, kHz like txFrequency
    assert radio.tx_power_dbm == 58
    assert radio.chain_signal_dbm == (-42, -42)
    assert radio.distance_m == 11450.0  # airFiberStatusRemoteDistance, metres
    # airFiberStatistics rxOctetsOK / txOctetsOK, while ifTable answers 0 for eth0.
    assert (radio.rx_octets, radio.tx_octets) == (23669076995688, 1844894475537)
    # airFiber classic names no model: the empty dot11 product name is not one either.
    assert (obs.model, obs.model_source) == (None, None)


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
    assert station.chain_signal_dbm == (-47, -48)
    assert station.chain_ideal_dbm == (-51, -51)
    assert station.chain_level_pct == (100, 100)
    assert radio.tx_power_dbm == 28  # afLTUTxEIRP
    assert (obs.model, obs.model_source) == ("airFiber 5XHD", "UBNT-AFLTU-MIB::afLTUDevModel")


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
    assert (station.remote_signal_dbm, station.remote_snr_db) == (-56, 19)
    assert (radio.signal_dbm, radio.snr_db) == (-55, 19)
    assert (obs.model, obs.model_source) == ("AF60-LR", "UI-AF60-MIB::af60DevModel")


async def test_routeros_every_radio_with_its_own_stations(
    polled: dict[str, SnmpObservation], real_recordings: dict[str, Path]
) -> None:
    obs = polled["routeros"]
    assert obs.firmware == "6.40.5"
    assert (obs.serial, obs.licence) == ("71B1060EE89D", "Level 1")
    assert obs.model is None  # sysDescr is "router", and no mtxrBoardName
    *aps, sixty = obs.radios
    # mtxrWlApTable has four rows (ifIndex 1, 2, 8, 9): four radios, named from ifName.
    assert [(r.interface_index, r.name, r.ssid) for r in aps] == [
        (1, "wlan1", "WARKOP-KOPIBOSS-B"),
        (2, "wlan2", "WARKOP-KOPIBOSS-A"),
        (8, "wlan3", "WARKOP-KOPIBOSS"),
        (9, "wlan4", "WARKOP-KOPIBOSS"),
    ]
    assert [(r.frequency_mhz, r.noise_floor_dbm, r.ccq_pct) for r in aps] == [
        (2412, -117, 70),
        (5805, -112, 75),
        (None, None, 0),  # virtual APs answer 0 for frequency and noise floor
        (None, None, 0),
    ]
    assert [r.station_count for r in aps] == [7, 0, 0, 4]
    # Each registration sits on the radio its mtxrWlRtabIface names, none on another.
    strengths = values(real_recordings["routeros"], "1.3.6.1.4.1.14988.1.1.1.2.1.3")
    expected: dict[int, dict[str, int]] = {}
    for oid, value in strengths.items():
        index = [int(x) for x in oid.split(".")[-7:]]
        mac = ":".join(f"{b:02x}" for b in index[:6])
        expected.setdefault(index[6], {})[mac] = int(value)
    assert {iface: len(macs) for iface, macs in expected.items()} == {1: 7, 9: 4}
    for radio in aps:
        got = {s.mac: s.signal_dbm for s in radio.stations}
        assert got == expected.get(radio.interface_index, {}), radio.name
        assert all(s.interface_index == radio.interface_index for s in radio.stations)
    assert (sixty.family, sixty.mode, sixty.frequency_mhz, sixty.signal_dbm) == (
        "mikrotik-60g",
        "stationBridge",
        58320,
        -55,
    )
    assert (sixty.signal_quality_pct, sixty.tx_rate_bps) == (80, 2_310_000_000)
    [peer] = sixty.stations
    # mtxrWl60GStaDistance 2570 is centimetres (see collectors/snmp_mikrotik.py): 25.7 m.
    assert (peer.mac, peer.signal_dbm, peer.distance_m) == ("04:d6:aa:a8:0f:89", -54, 25.7)
    assert (peer.tx_rate_bps, peer.signal_quality_pct) == (2_310_000_000, 80)


async def test_routeros_station_and_wifi(polled: dict[str, SnmpObservation]) -> None:
    dish = polled["routeros_station"]
    [station] = dish.radios
    assert (station.mode, station.ssid, station.frequency_mhz) == ("station", "pikjo88", 5745)
    assert (station.signal_dbm, station.channel_width_mhz) == (-47, 20)
    # mtxrWlStatTxCCQ / RxCCQ and TxRate / RxRate (bit/s).
    assert (station.ccq_pct, station.rx_ccq_pct) == (100, 80)
    assert (station.tx_rate_bps, station.rx_rate_bps) == (150_000_000, 90_000_000)
    assert station.interface_index == 23
    assert (dish.model, dish.model_source) == ("RBDynaDishG-5HacD", "SNMPv2-MIB::sysDescr")
    wifi = polled["routeros_wifi"]
    assert wifi.firmware == "6.44"
    assert (wifi.model, wifi.serial, wifi.licence) == ("RBLHGG-60ad", "90C709063CC4", "Level 3")
    [sixty] = wifi.radios
    assert (sixty.mode, sixty.frequency_mhz, sixty.signal_dbm) == ("bridge", 58320, -54)
    [peer] = sixty.stations
    assert (peer.mac, peer.distance_m) == ("b8:69:f4:7f:41:70", 185.45)


async def test_routeros_lte_modem(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["routeros_rblhgr"]
    [modem] = obs.lte
    # mtxrLTEModemSignalRSRP (dBm), RSRQ (dB), SINR (dB) of ifIndex 1, named from ifName.
    assert (modem.interface_index, modem.name) == (1, "lte1")
    assert (modem.rsrp_dbm, modem.rsrq_db, modem.sinr_db) == (-97, -8, 23)
    assert modem.rssi_dbm is None  # not in this recording
    assert (obs.model, obs.serial, obs.licence) == ("RBLHGR", "A33309596248", "Level 3")


async def test_routeros_board_name_beats_sys_descr(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["routeros_rb750gr3"]
    assert (obs.model, obs.model_source) == ("RB750Gr3", "MIKROTIK-MIB::mtxrBoardName")
    assert (obs.serial, obs.licence) == ("6F3A071688EA", "Level 4")


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


async def test_openwrt_extend_wireless(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["openwrt"]
    assert (obs.model, obs.firmware) == ("Linksys WRT1200AC", "OpenWrt 21.02.0-rc4")
    assert obs.model_source == 'NET-SNMP-EXTEND-MIB::nsExtendOutput1Line."hardware"'
    five, two = obs.radios
    # Labels from the "interfaces" extend ("wlan0,wl-5G" / "wlan1,wl-2.4G").
    assert (five.family, five.name, two.name) == ("openwrt", "wl-5G", "wl-2.4G")
    assert (five.station_count, five.frequency_mhz, five.noise_floor_dbm) == (2, 5180, -90)
    assert (two.station_count, two.frequency_mhz, two.noise_floor_dbm) == (1, 2462, -65)
    assert (five.snr_db, five.spread["snr_db"]) == (20, {"min": 15, "max": 25})
    assert (two.snr_db, two.spread["snr_db"]) == (16, {"min": 15, "max": 18})
    assert (five.tx_rate_bps, five.rx_rate_bps) == (54_000_000, 36_000_000)
    assert five.spread["rx_rate_bps"] == {"min": 24_000_000, "max": 48_000_000}
    assert (two.tx_rate_bps, two.rx_rate_bps) == (72_200_000, 48_000_000)


async def test_plain_linux_has_no_model(polled: dict[str, SnmpObservation]) -> None:
    obs = polled["linux"]
    assert obs.sys_object_id == "1.3.6.1.4.1.8072.3.2.10"
    assert (obs.model, obs.radios, obs.lte) == (None, (), ())
