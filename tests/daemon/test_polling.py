"""poll_icmp end to end: records -> real ICMP on loopback -> observed state and events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from collectors.errors import CollectorError
from collectors.guard import NOT_ALLOWED
from collectors.icmp_sockets import decide_mode
from daemon.polling import poll_icmp
from ipam import models as m
from ipam.db import transaction
from ipam.enums import DeviceStatus
from ipam.enums import ObservedStatus as S
from ipam.numbering import addressing
from tests.daemon.helpers import (
    SILENT_BASE,
    add_device,
    add_node,
    check_transitions,
    event_counts,
    event_rows,
    nft_table,
    tripwire_packets,
)


def _can_ping() -> bool:
    try:
        decide_mode()
    except CollectorError:
        return False
    return True


pytestmark = [
    pytest.mark.peer,  # nft and fping when present; those tests skip without them
    pytest.mark.skipif(
        not _can_ping(), reason="this process may open neither raw nor datagram ICMP sockets"
    ),
]

ROUTER_ONLY_NN = 402  # no management address: probed at its router address, 10.69.x.y
ROUTER = str(addressing.addresses_for(ROUTER_ONLY_NN).router)
SILENT = f"{SILENT_BASE}.7"
SILENT_SEEN = f"{SILENT_BASE}.8"


@pytest.fixture()
def fast(settings):
    """One probe per device, a short wait: a cycle of silent hosts takes a third of a second."""
    return settings.model_copy(update={"icmp_count": 1, "icmp_timeout_s": 0.3})


@pytest.fixture()
def table() -> Iterator[str]:
    """Silent loopback hosts, and a counter of every packet towards the router address."""
    assert not ROUTER.startswith("127."), ROUTER
    with nft_table([ROUTER]) as name:
        yield name


@pytest.fixture()
def devices(sessions) -> dict[str, m.Device]:
    """Devices that answer, one the guard refuses, silent ones, and some never polled."""
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        home = add_node(session, 401)
        found = {
            "up-1": add_device(session, home, "up-1", "127.0.0.11"),
            "up-2": add_device(session, home, "up-2", "127.0.0.12"),
            "router-only": add_device(session, add_node(session, ROUTER_ONLY_NN), "router-only"),
            "no-address": add_device(session, add_node(session, None), "no-address"),
            "silent": add_device(session, add_node(session, 403), "silent", SILENT),
        }
        seen_node = add_node(session, 404)
        found["silent-seen"] = add_device(session, seen_node, "silent-seen", SILENT_SEEN)
        found["inactive"] = add_device(
            session, seen_node, "inactive", "127.0.0.13", status=DeviceStatus.INACTIVE
        )
        # UISP saw this one a moment ago: not answering ping makes it "visible", not "down".
        session.add(
            m.DeviceObservation(
                device_id=found["silent-seen"].id,
                status=S.PENDING,
                uisp_at=now,
                uisp_status="active",
            )
        )
    return found


def _rows(sessions, devices) -> dict[str, m.DeviceObservation | None]:
    with sessions() as session:
        return {name: session.get(m.DeviceObservation, d.id) for name, d in devices.items()}


async def test_loopback_devices_come_up_and_refused_ones_are_unknown(sessions, db, fast, devices):
    outcome = await poll_icmp(sessions, fast)
    assert outcome.devices == 6  # every Active device; the Inactive one is not polled
    rows = _rows(sessions, devices)
    for name, address in (("up-1", "127.0.0.11"), ("up-2", "127.0.0.12")):
        row = rows[name]
        assert row is not None
        assert (row.status, str(row.address), row.packet_loss, row.last_error) == (
            S.UP,
            address,
            0.0,
            None,
        )
        assert row.rtt_avg_ms is not None and 0 < row.rtt_avg_ms < 1000
    refused = rows["router-only"]
    assert refused is not None
    assert (refused.status, str(refused.address), refused.last_error) == (
        S.UNKNOWN,
        ROUTER,
        NOT_ALLOWED,
    )
    nowhere = rows["no-address"]
    assert nowhere is not None
    assert (nowhere.status, nowhere.address) == (S.UNKNOWN, None)
    assert rows["inactive"] is None
    with sessions() as session:
        home = session.get(m.NodeObservation, devices["up-1"].node_id)
        assert home is not None and home.status == S.UP
    changes = {
        e["data"]["name"]: (e["data"]["from"], e["data"]["to"])
        for e in event_rows(db)
        if e["type"] == "device.status_changed"
    }
    # (Without the nftables table of the next test, the "silent" ones answer too.)
    assert {name: changes[name] for name in ("up-1", "up-2", "router-only", "no-address")} == {
        "up-1": ("pending", "up"),
        "up-2": ("pending", "up"),
        "router-only": ("pending", "unknown"),
        "no-address": ("pending", "unknown"),
    }
    check_transitions(event_rows(db))


async def test_refused_address_gets_no_packet_and_silent_goes_down_after_two_cycles(
    sessions, db, fast, devices, table
):
    before = tripwire_packets(table)
    start = datetime.now(UTC)
    await poll_icmp(sessions, fast, now=start)
    rows = _rows(sessions, devices)
    assert rows["up-1"] is not None and rows["up-1"].status == S.UP
    silent, seen = rows["silent"], rows["silent-seen"]
    assert silent is not None and seen is not None
    # One unanswered poll is not an outage yet.
    assert (silent.status, silent.failures, silent.packet_loss) == (S.PENDING, 1, 1.0)
    assert (seen.status, seen.failures) == (S.PENDING, 1)

    await poll_icmp(sessions, fast, now=start + timedelta(seconds=60))
    rows = _rows(sessions, devices)
    silent, seen = rows["silent"], rows["silent-seen"]
    assert silent is not None and seen is not None
    assert (silent.status, silent.since, silent.last_seen) == (
        S.DOWN,
        start + timedelta(seconds=60),
        None,
    )
    assert seen.status == S.VISIBLE
    assert rows["router-only"] is not None and rows["router-only"].last_error == NOT_ALLOWED
    # The guard refused the router address before any socket: not one packet left for it.
    assert tripwire_packets(table) == before

    changes = {
        (e["subject_id"], e["data"]["from"], e["data"]["to"])
        for e in event_rows(db)
        if e["type"] == "device.status_changed"
    }
    assert (str(devices["silent"].id), "pending", "down") in changes
    assert (str(devices["silent-seen"].id), "pending", "visible") in changes
    with sessions() as session:
        node = session.get(m.NodeObservation, devices["silent"].node_id)
        assert node is not None and node.status == S.DOWN
    check_transitions(event_rows(db))
    counts = event_counts(db)
    # A third cycle changes nothing, so it writes nothing.
    await poll_icmp(sessions, fast, now=start + timedelta(seconds=120))
    assert event_counts(db) == counts


async def test_no_devices_is_an_empty_cycle(sessions, db, fast):
    outcome = await poll_icmp(sessions, fast)
    assert (outcome.devices, outcome.transitions) == (0, [])
    assert event_counts(db) == {}
