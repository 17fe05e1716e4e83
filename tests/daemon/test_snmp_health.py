"""SNMP end to end on the project's own recordings: devices made over the API, polled by the
daemon's job against snmpsim on loopback, read back from the health answer and /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from daemon.snmp_poll import poll_snmp
from ipam import models as m
from ipam.db import transaction
from tests.api import builders as b
from tests.api.test_metrics import scrape, value
from tests.collectors.snmpsim_agent import SnmpsimAgent, own_recordings

pytestmark = pytest.mark.timeout(120)
pytest.importorskip("snmpsim")

ADDRESS = "127.0.0.1"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def agent() -> Iterator[SnmpsimAgent]:
    """The project's recordings, each under its own community."""
    with SnmpsimAgent(own_recordings()) as running:
        yield running


def poll(sessions, settings, agent: SnmpsimAgent, community: str, now: datetime) -> None:
    """One daemon SNMP cycle with every device read through one community."""
    settings = settings.model_copy(update={"snmp_port": agent.port, "snmp_community": community})
    outcome = asyncio.run(poll_snmp(sessions, settings, now=now))
    assert outcome.answered == outcome.devices == 1


def one_device(api, nn: int, name: str) -> str:
    node = b.node(api, nn)
    return b.device(api, node, name, management_address=ADDRESS)["id"]


def health(api, device_id: str) -> dict:
    response = api.get(f"/api/v1/devices/{device_id}/health/")
    assert response.status_code == 200, response.text
    return response.json()


def test_several_radios_shown_each_with_its_stations(api, sessions, settings, agent) -> None:
    device_id = one_device(api, 301, "nycmesh-301-hub")
    poll(sessions, settings, agent, "mikrotik-radios", T0)
    answer = health(api, device_id)
    assert (answer["model"], answer["model_source"]) == ("RB4011iGS+5HacQ2HnD", "snmp")
    assert answer["models"]["snmp_object"] == "MIKROTIK-MIB::mtxrBoardName"
    assert answer["sys_descr"] == "RouterOS RB4011iGS+5HacQ2HnD"
    assert answer["sys_object_id"] == "1.3.6.1.4.1.14988.1"
    assert (answer["serial"], answer["licence"]) == ("HG1234567AB", "Level 5")
    radios = answer["radio"]["radios"]
    assert [(r["name"], len(r["stations"])) for r in radios] == [
        ("wlan1", 2),
        ("wlan2", 1),
        ("wlan3", 0),
        ("wlan4", 1),
    ]
    assert [s["mac"] for s in radios[1]["stations"]] == ["4c:5e:0c:02:02:01"]
    assert [i["name"] for i in answer["interfaces"]] == ["wlan1", "wlan2", "wlan3", "wlan4"]
    assert answer["interfaces"][2]["in_octets"] == 3000
    _, samples = scrape(api)
    wlan2 = {"device_id": device_id, "radio": "wlan2"}
    assert value(samples, "meshkeeper_radio_frequency_mhz", **wlan2) == 5180
    assert value(samples, "meshkeeper_radio_stations", **wlan2) == 1
    assert value(samples, "meshkeeper_radio_rx_ccq_percent", radio="wlan3") == 84
    assert value(samples, "meshkeeper_station_snr_db", mac="4c:5e:0c:01:01:02") == 35
    assert value(samples, "meshkeeper_interface_up", interface="wlan4") == 1


def test_wrapped_counters_give_the_right_rate(api, sessions, settings, agent) -> None:
    device_id = one_device(api, 302, "nycmesh-302-router")
    poll(sessions, settings, agent, "counters-before", T0)
    first = health(api, device_id)["interfaces"]
    assert [(i["in_bps"], i["out_bps"]) for i in first] == [(None, None), (None, None)]
    # 300 s later (sysUpTime grew by 300 s: no restart in between).
    poll(sessions, settings, agent, "counters-after", T0 + timedelta(seconds=300))
    eth0, eth1 = health(api, device_id)["interfaces"]
    assert (eth0["counter_bits"], eth0["in_octets"]) == (32, 1_000_000)
    # ifInOctets went 4,294,000,000 -> 1,000,000: one wrap, 1,967,296 octets in 300 s.
    assert eth0["in_bps"] == 52461.2
    assert eth0["out_bps"] == 100000.0  # 3,750,000 octets in 300 s, no wrap
    # eth1 is 1 Gbit/s: 300 s could hold several 32-bit wraps, so no rate is claimed.
    assert (eth1["in_bps"], eth1["out_bps"]) == (None, None)
    _, samples = scrape(api)
    assert value(samples, "meshkeeper_interface_in_bps", interface="eth0") == 52461.2
    assert value(samples, "meshkeeper_interface_in_bps", interface="eth1") is None
    assert value(samples, "meshkeeper_interface_in_octets_total", interface="eth0") == 1_000_000
    assert value(samples, "meshkeeper_interface_speed_bps", interface="eth1") == 1e9


def test_model_change_is_an_event_and_uisp_model_stays(api, sessions, settings, agent) -> None:
    device_id = one_device(api, 304, "nycmesh-304-omni")
    with transaction(sessions) as session:
        # As a UISP sync leaves it: UISP's model for this device.
        session.add(
            m.DeviceObservation(
                device_id=device_id, status="up", model="Rocket M5 (UISP)", uisp_at=T0
            )
        )
    poll(sessions, settings, agent, "airmax-ap", T0)
    answer = health(api, device_id)
    assert (answer["model"], answer["model_source"]) == ("Rocket M5 (UISP)", "uisp")
    assert answer["models"] == {
        "uisp": "Rocket M5 (UISP)",
        "snmp": "Rocket M5",
        "snmp_object": "IEEE802dot11-MIB::dot11manufacturerProductName",
    }
    assert answer["sys_descr"].startswith("Linux 2.6.32.71")
    assert (answer["firmware"], answer["firmware_source"]) == (
        "XM.ar7240.v6.3.11.33396.230425.1644",
        "snmp",
    )
    poll(sessions, settings, agent, "airmax-swapped", T0 + timedelta(seconds=300))
    answer = health(api, device_id)
    assert answer["model"] == "Rocket M5 (UISP)"
    assert answer["models"]["snmp"] == "Rocket 5AC Prism"
    with transaction(sessions) as session:
        events = session.scalars(
            select(m.Event).where(m.Event.type == "device.model_changed")
        ).all()
        assert [(e.subject_id, e.network_number, e.data) for e in events] == [
            (
                device_id,
                304,
                {
                    "from": "Rocket M5",
                    "to": "Rocket 5AC Prism",
                    "source": "snmp",
                    "name": "nycmesh-304-omni",
                },
            )
        ]
    # The same model again is no change.
    poll(sessions, settings, agent, "airmax-swapped", T0 + timedelta(seconds=600))
    with transaction(sessions) as session:
        assert (
            len(session.scalars(select(m.Event).where(m.Event.type.like("device.model%"))).all())
            == 1
        )
