"""History from a real SNMP poll: snmpsim's airMAX recording on loopback, its figures in series."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from daemon.snmp_poll import poll_snmp
from ipam import models as m
from ipam.db import transaction
from ipam.observed.history import tiers
from ipam.observed.series import device_series
from ipam.observed.series_rules import radio_figures
from tests.collectors.snmpsim_agent import SnmpsimAgent, own_recordings


@pytest.fixture(scope="module")
def agent():
    """snmpsim serving the project's airMAX recording as community 'airmax-ap'."""
    with SnmpsimAgent({"airmax-ap": own_recordings()["airmax-ap"]}) as running:
        yield running


def test_a_real_poll_is_a_sample_matching_the_health_answer(db, sessions, settings, agent):
    with transaction(sessions) as session:
        node = m.Node(network_number=10, status="Active", type="Standard", placement="None")
        device = m.Device(
            node=node, name="nycmesh-10-ap", status="Active", management_address="127.0.0.1"
        )
        session.add(device)
        session.flush()
        device_id = device.id
    settings = settings.model_copy(update={"snmp_port": agent.port, "snmp_community": "airmax-ap"})
    polled = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert asyncio.run(poll_snmp(sessions, settings, now=polled)).answered == 1
    with sessions() as session:
        row = session.get(m.DeviceObservation, device_id)
        figures = radio_figures(row.radio)
        assert figures["signal_dbm"] is not None  # the recording has a radio with a signal
        for metric, expected in (
            ("uptime_s", row.uptime_s),
            ("signal_dbm", figures["signal_dbm"]),
            ("ccq_pct", figures["ccq_pct"]),
        ):
            answer = device_series(
                session,
                device_id,
                metric,
                since=polled,
                until=None,
                step_s=None,
                now=polled + timedelta(minutes=1),
                kept=tiers(settings),
            )
            assert answer["points"] == [{"at": polled.isoformat(), "value": float(expected)}]
