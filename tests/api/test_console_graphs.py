"""RTT and radio graphs on the console's node and device pages: pure SVG paths checked by hand,
then real polls (ICMP verdicts through the daemon's code, SNMP from snmpsim) drawn on the pages."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ui.graphs import LOSS, RTT, axis_for, graph, svg_band, svg_path
from daemon.observe import DeviceResult, apply_ping_results
from ipam.db import transaction
from ipam.enums import ObservedStatus as S
from tests.api.builders import device, node
from tests.api.console_helpers import make_person, sign_in

BOX = (100.0, 50.0)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(0, 0), (10, 10)], "M0.0,50.0L100.0,0.0"),
        ([(0, 5), (5, 5), (10, 0)], "M0.0,25.0L50.0,25.0L100.0,50.0"),
        # A gap breaks the line; a point alone between gaps is a dot (zero-length segment).
        (
            [(0, 0), (2, 10), (4, None), (6, 5), (8, None), (10, 0)],
            "M0.0,50.0L20.0,0.0M60.0,25.0h0M100.0,50.0h0",
        ),
        ([(0, None)], ""),
        ([], ""),
    ],
)
def test_svg_path_scales_into_the_box_with_y_upwards(points, expected):
    assert svg_path(points, (0, 10), (0, 10), BOX) == expected


def test_svg_band_goes_along_the_top_and_back_along_the_bottom():
    band = [(0, 0, 10), (10, 5, 5), None, (10, 2, 4)]
    assert svg_band(band, (0, 10), (0, 10), BOX) == (
        "M0.0,0.0L100.0,25.0L100.0,25.0L0.0,50.0ZM100.0,30.0L100.0,40.0Z"
    )


@pytest.mark.parametrize(
    ("low", "high", "from_zero", "axis"),
    [
        (3.0, 38.0, True, (0.0, 40.0)),  # ticks of 10 (38 / 4 -> 9.5 -> 10)
        (0.2, 0.7, True, (0.0, 0.8)),  # ticks of 0.2
        (-71.0, -58.0, False, (-75.0, -55.0)),  # dBm, not from 0: 13 / 4 -> ticks of 5
        (5.0, 5.0, True, (0.0, 6.0)),  # from 0: 5 / 4 -> ticks of 2
        (-60.0, -60.0, False, (-61.0, -59.0)),  # one value: a band around it
    ],
)
def test_axis_has_round_ends(low, high, from_zero, axis):
    assert axis_for(low, high, from_zero) == pytest.approx(axis)


def test_a_series_becomes_a_graph_with_its_figures():
    answer = {
        "since": "2026-03-01T00:00:00+00:00",
        "until": "2026-03-02T00:00:00+00:00",
        "step": 600,
        "points": [
            {"at": "2026-03-01T00:00:00+00:00", "min": 0.0, "avg": 0.0, "max": 0.0, "n": 3},
            {"at": "2026-03-01T00:10:00+00:00", "min": 0.0, "avg": 0.5, "max": 1.0, "n": 1},
            {"at": "2026-03-01T12:00:00+00:00", "min": 0.25, "avg": 0.25, "max": 0.25, "n": 4},
        ],
    }
    g = graph(answer, LOSS)
    assert (g.low, g.high, g.last, g.samples) == (0.0, 100.0, 25.0, 8)
    assert g.mean == pytest.approx((0 * 3 + 50 * 1 + 25 * 4) / 8)
    assert g.axis == (0.0, 100.0)
    # Bucket centres: 5 min and 15 min of 1,440 across 600 units; 12:05 is after a gap.
    assert g.line == "M2.1,100.0L6.2,50.0M302.1,75.0h0"
    assert g.summary().replace("\xa0", " ") == (
        "Packet loss, last 24 hours: min 0.0 %, average 18.8 %, max 100 %, last 25.0 % at 12:00 UTC"
    )
    assert graph({**answer, "points": []}, RTT) is None


@pytest.fixture()
def console(api, db, sessions, settings):
    """A signed-in read-only person's client of the app."""
    make_person(sessions, "rosa", "read_only")
    with TestClient(create_app(settings, db)) as client:
        sign_in(client, "rosa")
        yield client


def _figures(page: str) -> list[str]:
    found = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    return [html.unescape(c).replace("\xa0", " ") for c in found]


def _node_with_device(api, nn=227, name="nycmesh-227-roof", address="127.0.0.2"):
    hub = node(api, nn, name="Hub", type="Hub", latitude=40.70, longitude=-73.95)
    return hub, device(api, hub, name, management_address=address)


def test_pages_say_no_measurements_yet_before_any_poll(console, api):
    _, roof = _node_with_device(api)
    page = console.get(f"/ui/devices/{roof['id']}/").text
    assert "No measurements yet in the last 24 hours." in page and "<svg" not in page
    page = console.get("/ui/nodes/227/").text
    assert "none of this node's devices is monitored" in page


def test_polls_of_the_last_hours_are_drawn_with_their_figures(console, api, sessions):
    _, roof = _node_with_device(api)
    now = datetime.now(UTC)
    # Three ICMP verdicts through the daemon's own code (observation and history together).
    for hours, rtt, loss in ((3, 10.0, 0.0), (2, 20.0, 0.0), (1, 60.0, 0.5)):
        with transaction(sessions) as session:
            result = DeviceResult(
                uuid.UUID(roof["id"]), S.UP, "127.0.0.2", rtt, rtt, rtt, packet_loss=loss
            )
            apply_ping_results(session, [result], now - timedelta(hours=hours))
    page = console.get(f"/ui/devices/{roof['id']}/").text
    last = (now - timedelta(hours=1)).strftime("%H:%M")[:4]  # within its 10-minute bucket
    rtt, loss = _figures(page)
    assert rtt.startswith(
        "RTT, last 24 hours: min 10.0 ms, average 30.0 ms, max 60.0 ms, last 60.0 ms at "
    )
    assert rtt[-len("at 00:00 UTC (3 samples)") :].startswith(f"at {last}")
    assert loss.startswith("Packet loss, last 24 hours: min 0.0 %, average 16.7 %, max 50.0 %")
    assert 'role="img"' in page and "<title" in page
    # Hours apart at a 10-minute step: three dots, no line drawn across the gaps.
    paths = re.findall(r'class="line" d="([^"]+)"', page)
    assert [p.count("M") for p in paths] == [3, 3] and all(p.count("h0") == 3 for p in paths)
    node_page = console.get("/ui/nodes/227/").text
    assert _figures(node_page) == [rtt]
    assert f'href="/ui/devices/{roof["id"]}/">nycmesh-227-roof</a>' in node_page


@pytest.fixture(scope="module")
def agent():
    """snmpsim serving the project's airMAX recording as community 'airmax-ap'."""
    pytest.importorskip("snmpsim")
    from tests.collectors.snmpsim_agent import SnmpsimAgent, own_recordings

    with SnmpsimAgent({"airmax-ap": own_recordings()["airmax-ap"]}) as running:
        yield running


def test_a_radio_polled_over_snmp_gets_its_radio_graphs(console, api, sessions, settings, agent):
    from daemon.snmp_poll import poll_snmp
    from ipam import models as m
    from ipam.observed.series_rules import radio_figures

    _, ap = _node_with_device(api, 10, "nycmesh-10-ap", address=agent.addresses[0])
    polling = settings.model_copy(update={"snmp_port": agent.port, "snmp_community": "airmax-ap"})
    now = datetime.now(UTC)
    for minutes in (40, 20):
        assert (
            asyncio.run(poll_snmp(sessions, polling, now=now - timedelta(minutes=minutes))).answered
            == 1
        )
    with sessions() as session:
        figures = radio_figures(session.get(m.DeviceObservation, uuid.UUID(ap["id"])).radio)
    page = console.get(f"/ui/devices/{ap['id']}/").text
    shown = {c.split(",")[0]: c for c in _figures(page)}
    signal = figures["signal_dbm"]
    same = f"{signal:.1f} dBm"
    assert shown["Signal"].startswith(
        f"Signal, last 24 hours: min {same}, average {same}, max {same}, last {same}"
    )
    expected = {"Signal"} | {
        label
        for label, name in (
            ("Noise floor", "noise_floor_dbm"),
            ("CCQ", "ccq_pct"),
            ("TX rate", "tx_rate_bps"),
            ("RX rate", "rx_rate_bps"),
        )
        if figures[name] is not None
    }
    assert set(shown) == expected  # no ping yet: only what SNMP gave, nothing empty drawn
