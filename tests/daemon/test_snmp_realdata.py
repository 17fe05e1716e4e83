"""The 13 LibreNMS recordings polled as an operator would: devices made over the API, each
at its own loopback address, one community, one daemon SNMP cycle, read back from the device
health answers and /metrics. Expected values were read from the recordings by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.snmp_poll import poll_snmp
from tests.api import builders as b
from tests.api.test_metrics import scrape, value
from tests.collectors.snmpsim_agent import CommunityRelay, SnmpsimAgent

pytestmark = [pytest.mark.realdata, pytest.mark.timeout(180)]
pytest.importorskip("snmpsim")

COMMUNITY = "public"


@pytest.fixture(scope="module")
def recordings(shared_data: Path) -> dict[str, Path]:
    """The LibreNMS recordings by name, in name order."""
    found = {
        path.stem: path
        for path in sorted((shared_data / "snmprec-librenms" / "snmpsim").glob("*.snmprec"))
    }
    if len(found) != 13:
        pytest.fail(f"expected the 13 LibreNMS recordings, found {sorted(found)}")
    return found


@pytest.fixture(scope="module")
def addresses(recordings: dict[str, Path]) -> dict[str, str]:
    """Recording name -> the loopback address its device answers on."""
    return {name: f"127.0.2.{n}" for n, name in enumerate(recordings, start=1)}


@pytest.fixture(scope="module")
def agent(recordings: dict[str, Path], addresses: dict[str, str]) -> Iterator[CommunityRelay]:
    """snmpsim serving every recording, reached as one community at 13 addresses."""
    with (
        SnmpsimAgent(recordings) as running,
        CommunityRelay(running, COMMUNITY, {a: name for name, a in addresses.items()}) as relay,
    ):
        yield relay


@pytest.fixture()
def answers(api, sessions, settings, agent, addresses) -> dict[str, dict]:
    """Every recording's device health answer after one SNMP cycle, by recording name."""
    ids = {}
    for n, (name, address) in enumerate(addresses.items(), start=1):
        node = b.node(api, 400 + n)
        ids[name] = b.device(api, node, f"nycmesh-{400 + n}-{name}", management_address=address)[
            "id"
        ]
    settings = settings.model_copy(update={"snmp_port": agent.port, "snmp_community": COMMUNITY})
    outcome = asyncio.run(poll_snmp(sessions, settings))
    assert (outcome.devices, outcome.answered) == (13, 13)
    found = {}
    for name, device_id in ids.items():
        response = api.get(f"/api/v1/devices/{device_id}/health/")
        assert response.status_code == 200, response.text
        found[name] = response.json()
        assert found[name]["last_error"] is None, (name, found[name]["last_error"])
    return found


def radio(answer: dict, position: int = 0) -> dict:
    return answer["radio"]["radios"][position]


def test_models_never_sys_descr(answers: dict[str, dict]) -> None:
    models = {name: (a["model"], a["model_source"]) for name, a in answers.items()}
    assert models == {
        "airos": ("Rocket Prism 5AC Gen2", "snmp"),
        "airos-af": (None, None),
        "airos-af-ltu": ("airFiber 5XHD", "snmp"),
        "airos-af60_airos-af60": ("AF60-LR", "snmp"),
        "airos_airos8": ("LiteBeam 5AC Gen2", "snmp"),
        "linux": (None, None),
        "openwrt": ("Linksys WRT1200AC", "snmp"),
        "routeros": (None, None),
        "routeros_rb750gr3": ("RB750Gr3", "snmp"),
        "routeros_rb760igs": ("RB760iGS", "snmp"),
        "routeros_rblhgr": ("RBLHGR", "snmp"),
        "routeros_station": ("RBDynaDishG-5HacD", "snmp"),
        "routeros_wifi": ("RBLHGG-60ad", "snmp"),
    }
    assert answers["airos"]["sys_descr"] == "Linux 2.6.32.68 #1 Fri Dec 16 15:44:21 EET 2016 mips"
    assert answers["airos"]["sys_object_id"] == "1.3.6.1.4.1.10002.1"
    assert answers["routeros"]["sys_descr"] == "router"
    assert answers["routeros_rb750gr3"]["models"]["snmp_object"] == "MIKROTIK-MIB::mtxrBoardName"
    assert answers["routeros_rb760igs"]["models"]["snmp_object"] == "SNMPv2-MIB::sysDescr"
    serials = {name: (a["serial"], a["licence"]) for name, a in answers.items() if a["serial"]}
    assert serials == {
        "routeros": ("71B1060EE89D", "Level 1"),
        "routeros_rb750gr3": ("6F3A071688EA", "Level 4"),
        "routeros_rb760igs": ("E1F10E90A6E9", "Level 4"),
        "routeros_rblhgr": ("A33309596248", "Level 3"),
        "routeros_wifi": ("90C709063CC4", "Level 3"),
    }


def test_interfaces_shown(answers: dict[str, dict]) -> None:
    ports = {i["name"]: i for i in answers["routeros"]["interfaces"]}
    assert len(ports) == 12
    assert [ports[n]["index"] for n in ("wlan1", "wlan2", "wlan3", "wlan4")] == [1, 2, 8, 9]
    assert set(answers["routeros"]["interfaces"][0]) >= {
        "oper_status",
        "speed_bps",
        "in_octets",
        "out_octets",
        "counter_bits",
        "in_bps",
        "out_bps",
    }
    assert len(answers["openwrt"]["interfaces"]) == 18
    assert answers["linux"]["interfaces"] == []  # the recording has no IF-MIB


def test_ubiquiti_figures(answers: dict[str, dict]) -> None:
    prism = radio(answers["airos"])
    assert (prism["tx_power_dbm"], prism["chain_rssi"], prism["rssi"]) == (27, [48, 50], 27)
    assert (prism["airmax_quality_pct"], prism["airmax_capacity_pct"]) == (53, 50)
    assert (prism["tx_rate_bps"], prism["rx_rate_bps"]) == (59_999_000, 37_338_600)
    assert radio(answers["airos_airos8"])["airtime_pct"] == 69.9
    af = radio(answers["airos-af"])
    assert (af["frequency_mhz"], af["rx_frequency_mhz"], af["tx_power_dbm"]) == (11485, 10995, 58)
    assert af["chain_signal_dbm"] == [-42, -42]
    assert (af["rx_octets"], af["tx_octets"]) == (23669076995688, 1844894475537)
    [ltu] = radio(answers["airos-af-ltu"])["stations"]
    assert (ltu["chain_signal_dbm"], ltu["chain_ideal_dbm"]) == ([-47, -48], [-51, -51])
    assert radio(answers["airos-af-ltu"])["tx_power_dbm"] == 28
    [af60] = radio(answers["airos-af60_airos-af60"])["stations"]
    assert (af60["signal_dbm"], af60["snr_db"]) == (-55, 19)
    assert (af60["remote_signal_dbm"], af60["remote_snr_db"]) == (-56, 19)


def test_mikrotik_figures(answers: dict[str, dict]) -> None:
    radios = answers["routeros"]["radio"]["radios"]
    assert [(r["name"], r["station_count"], len(r["stations"])) for r in radios[:4]] == [
        ("wlan1", 7, 7),
        ("wlan2", 0, 0),
        ("wlan3", 0, 0),
        ("wlan4", 4, 4),
    ]
    [peer] = radios[4]["stations"]
    assert peer["distance_m"] == 25.7  # 2570 cm
    [peer] = radio(answers["routeros_wifi"])["stations"]
    assert peer["distance_m"] == 185.45
    assert radio(answers["routeros_wifi"])["signal_quality_pct"] == 80
    dish = radio(answers["routeros_station"])
    assert (dish["ccq_pct"], dish["rx_ccq_pct"]) == (100, 80)
    assert (dish["tx_rate_bps"], dish["rx_rate_bps"]) == (150_000_000, 90_000_000)
    [lte] = answers["routeros_rblhgr"]["lte"]
    assert (lte["name"], lte["rsrp_dbm"], lte["rsrq_db"], lte["sinr_db"]) == ("lte1", -97, -8, 23)


def test_openwrt_figures(answers: dict[str, dict]) -> None:
    five, two = answers["openwrt"]["radio"]["radios"]
    assert (five["name"], five["station_count"], five["frequency_mhz"]) == ("wl-5G", 2, 5180)
    assert (two["name"], two["station_count"], two["noise_floor_dbm"]) == ("wl-2.4G", 1, -65)
    assert (five["snr_db"], five["spread"]["snr_db"]) == (20, {"min": 15, "max": 25})


def test_metrics_carry_the_radio_figures(api, answers: dict[str, dict]) -> None:
    _, samples = scrape(api)
    lte, prism = answers["routeros_rblhgr"]["id"], answers["airos"]["id"]
    assert value(samples, "meshkeeper_lte_rsrp_dbm", device_id=lte) == -97
    assert value(samples, "meshkeeper_lte_sinr_db", device_id=lte) == 23
    assert value(samples, "meshkeeper_radio_tx_power_dbm", device_id=prism) == 27
    assert value(samples, "meshkeeper_radio_chain_rssi", device_id=prism, chain="1") == 50
    assert value(samples, "meshkeeper_station_remote_snr_db", mac="f4:92:bf:e2:9e:8d") == 19
    assert value(samples, "meshkeeper_station_distance_meters", mac="b8:69:f4:7f:41:70") == 185.45
    assert value(samples, "meshkeeper_radio_stations", radio="wl-5G") == 2
    link = answers["airos-af"]["id"]
    assert value(samples, "meshkeeper_radio_rx_octets_total", device_id=link) == 23669076995688
