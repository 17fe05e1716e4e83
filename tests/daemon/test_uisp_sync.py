"""UISP into the records: a local server replaying UISP JSON, applied with MeshDB's semantics."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from collectors.errors import CollectorError
from daemon.uisp_sync import sync_uisp
from ipam import models as m
from ipam.db import transaction
from tests.collectors.uisp_server import (
    DEVICES,
    LINKS,
    UispServer,
    json_reply,
    make_device,
    make_link,
)

NOW = datetime(2023, 9, 28, tzinfo=UTC)


def _nodes(sessions, *numbers):
    with transaction(sessions) as session:
        for nn in numbers:
            session.add(
                m.Node(network_number=nn, status="Active", type="Standard", placement="None")
            )


def _sync(sessions, settings, url, now=NOW):
    settings = settings.model_copy(update={"uisp_url": url, "uisp_token": "t"})
    return asyncio.run(sync_uisp(sessions, settings, now=now))


def _events(sessions, kind):
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).where(m.Event.type == kind))


def test_creates_devices_sectors_and_links_and_reports_missing_nodes(db, sessions, settings):
    _nodes(sessions, 511, 1934)
    omni = make_device("d1", "nycmesh-511-omni", wireless_mode="sta-ptmp", model="Omni")
    sector = make_device(
        "d2", "nycmesh-1934-east", wireless_mode="ap-ptmp-airmax-ac", model="LAP-120"
    )
    orphan = make_device("d3", "nycmesh-7777-west")
    nameless = make_device("d4", "office-switch")
    link = make_link("l1", omni, sector, frequency=5500)
    replies = {DEVICES: json_reply([omni, sector, orphan, nameless]), LINKS: json_reply([link])}
    with UispServer(replies, token="t") as server:
        outcome = _sync(sessions, settings, server.url)
        assert server.paths() == [DEVICES, LINKS] or sorted(server.paths()) == sorted(
            [DEVICES, LINKS]
        )
    assert outcome.counts["devices_to_create"] == 2
    assert outcome.without_node == ["nycmesh-7777-west (NN 7777)"]
    assert outcome.without_nn == ["office-switch"]
    with transaction(sessions) as session:
        devices = {d.name: d for d in session.scalars(select(m.Device))}
        assert isinstance(devices["nycmesh-1934-east"], m.Sector)
        assert devices["nycmesh-1934-east"].width == 120
        assert not isinstance(devices["nycmesh-511-omni"], m.Sector)
        link_row = session.scalars(select(m.Link)).one()
        assert link_row.type == "5 GHz" and link_row.uisp_id == "l1"
        obs = session.get(m.DeviceObservation, devices["nycmesh-511-omni"].id)
        assert obs.uisp_status == "active" and str(obs.uisp_address) == "10.96.127.246"
        assert obs.firmware == "8.7.11"
        assert session.scalar(select(func.count()).select_from(m.Node)) == 2  # never invented
    assert _events(sessions, "device.created") == 1
    assert _events(sessions, "sector.created") == 1


def test_second_sync_changes_nothing_and_gone_devices_turn_inactive(db, sessions, settings):
    _nodes(sessions, 511)
    omni = make_device("d1", "nycmesh-511-omni", wireless_mode="sta-ptmp")
    with UispServer({DEVICES: json_reply([omni]), LINKS: json_reply([])}, token="t") as server:
        _sync(sessions, settings, server.url)
        again = _sync(sessions, settings, server.url)
    assert not any(again.counts.values())
    with UispServer({DEVICES: json_reply([]), LINKS: json_reply([])}, token="t") as server:
        gone = _sync(sessions, settings, server.url)
    assert gone.counts["devices_to_deactivate"] == 1
    assert _events(sessions, "device.uisp_deactivated") == 1
    with transaction(sessions) as session:
        device = session.scalars(select(m.Device)).one()
        assert device.status == "Inactive" and device.abandon_date is not None


def test_unseen_for_thirty_days_becomes_inactive_then_active_again(db, sessions, settings):
    _nodes(sessions, 511)
    fresh = make_device("d1", "nycmesh-511-omni", last_seen="2023-09-27T20:00:00Z")
    with UispServer({DEVICES: json_reply([fresh]), LINKS: json_reply([])}, token="t") as server:
        _sync(sessions, settings, server.url)
    offline = make_device(
        "d1", "nycmesh-511-omni", status="disconnected", last_seen="2023-09-27T20:00:00Z"
    )
    with UispServer({DEVICES: json_reply([offline]), LINKS: json_reply([])}, token="t") as server:
        early = _sync(sessions, settings, server.url, now=NOW + timedelta(days=29))
        stale = _sync(sessions, settings, server.url, now=NOW + timedelta(days=31))
    assert early.counts["devices_to_deactivate"] == 0
    assert stale.counts["devices_to_deactivate"] == 1
    back = make_device("d1", "nycmesh-511-omni", last_seen="2023-10-30T00:00:00Z")
    with UispServer({DEVICES: json_reply([back]), LINKS: json_reply([])}, token="t") as server:
        revived = _sync(sessions, settings, server.url, now=NOW + timedelta(days=32))
    assert revived.counts["devices_to_reactivate"] == 1


@pytest.mark.parametrize(
    "reply",
    [json_reply({"statusCode": 500}, 500), json_reply([{"identification": {}}])],
    ids=["http-500", "missing-id"],
)
def test_a_failed_fetch_changes_nothing(db, sessions, settings, reply):
    _nodes(sessions, 511)
    server = UispServer({DEVICES: reply, LINKS: json_reply([])}, token="t")
    with server, pytest.raises(CollectorError):
        _sync(sessions, settings, server.url)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(m.Device)) == 0


@pytest.mark.realdata
def test_real_uisp_dump(db, sessions, settings, shared_data):
    devices = json.loads((shared_data / "nycmesh-uisp-2023" / "access_points.json").read_text())
    from collectors.uisp import nn_from_name

    numbers = {nn_from_name(d["identification"]["name"]) for d in devices} - {None}
    _nodes(sessions, *sorted(numbers))
    with UispServer({DEVICES: json_reply(devices), LINKS: json_reply([])}, token="t") as server:
        outcome = _sync(sessions, settings, server.url)
    assert outcome.devices == 154
    created = outcome.counts["devices_to_create"]
    assert created + len(outcome.without_nn) + len(outcome.without_node) >= 150
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(m.Device)) == created
        assert session.scalar(select(func.count()).select_from(m.Sector)) > 50
