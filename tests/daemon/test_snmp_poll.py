"""The SNMP job end to end: a real snmpsim agent on loopback, results kept beside the records."""

import asyncio

import pytest
from sqlalchemy import select

from daemon.snmp_poll import poll_snmp
from ipam import models as m
from ipam.db import transaction
from tests.collectors.snmpsim_agent import SnmpsimAgent, own_recordings


@pytest.fixture(scope="module")
def agent():
    """snmpsim serving the project's airMAX recording as community 'airmax-ap'."""
    recordings = {"airmax-ap": own_recordings()["airmax-ap"]}
    with SnmpsimAgent(recordings, addresses=("127.0.0.1", "127.0.0.5")) as running:
        yield running


def _device(sessions, nn, name, address, observed=None):
    with transaction(sessions) as session:
        node = m.Node(network_number=nn, status="Active", type="Standard", placement="None")
        device = m.Device(node=node, name=name, status="Active", management_address=address)
        session.add(device)
        session.flush()
        if observed:
            session.add(
                m.DeviceObservation(device_id=device.id, status=observed, failures=2, successes=0)
            )
        return device.id


def test_polls_devices_and_skips_those_down_on_ping(db, sessions, settings, agent):
    up = _device(sessions, 10, "nycmesh-10-ap", "127.0.0.1")
    down = _device(sessions, 20, "nycmesh-20-ap", "127.0.0.5", observed="down")
    refused = _device(sessions, 30, "nycmesh-30-ap", None)  # router 10.69.0.30: not allowed
    settings = settings.model_copy(update={"snmp_port": agent.port, "snmp_community": "airmax-ap"})
    outcome = asyncio.run(poll_snmp(sessions, settings))
    assert outcome.skipped_down == 1
    assert outcome.devices == 2 and outcome.answered == 1
    with transaction(sessions) as session:
        row = session.get(m.DeviceObservation, up)
        assert row.snmp_at is not None and row.uptime_s and row.uptime_s > 0
        assert row.radio and row.radio["radios"][0]["family"]
        assert session.get(m.DeviceObservation, down).snmp_at is None
        assert "not allowed" in session.get(m.DeviceObservation, refused).last_error
        assert session.scalars(select(m.Event).where(m.Event.type.like("device.%"))).all() == []
