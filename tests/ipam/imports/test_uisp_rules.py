"""UISP reconciliation rules: link types, sectors and the sync planner, on literal cases."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.uisp import NYCMESH_ALIASES, UispDevice, UispLink, UispRaw, UispSnapshot, parse
from ipam.enums import DeviceStatus, LinkStatus, LinkType
from ipam.imports import uisp_rules as rules
from ipam.imports.uisp_rules import (
    GONE,
    OFFLINE,
    Deactivation,
    DeviceCreate,
    DeviceReport,
    DeviceUpdate,
    LinkCreate,
    LinkUpdate,
    Reactivation,
    RecordedDevice,
    RecordedLink,
    SkippedLink,
    SyncPlan,
    plan_sync,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NODES = {227, 713, 1234, 1417, 5678}


# --- link types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uisp_type", "mhz", "expected"),
    [
        ("wireless", 2412, "5 GHz"),  # everything under 7 GHz that is not 6 GHz
        ("wireless", 5320, "5 GHz"),
        ("wireless", 5924, "5 GHz"),
        ("wireless", 5925, "6 GHz"),
        ("wireless", 6525, "6 GHz"),
        ("wireless", 6999, "6 GHz"),
        ("wireless", 7000, "6 GHz"),
        ("wireless", 7125, "6 GHz"),
        ("wireless", 7126, "24 GHz"),
        ("wireless", 24100, "24 GHz"),
        ("wireless", 39999, "24 GHz"),
        ("wireless", 40000, "60 GHz"),
        ("wireless", 58320, "60 GHz"),
        ("wireless", 69999, "60 GHz"),
        ("wireless", 70000, "70-80 GHz"),
        ("wireless", 80000, "70-80 GHz"),
        ("wireless", None, "5 GHz"),  # MeshDB's guess when UISP gives no frequency
        ("ethernet", None, "Ethernet"),
        ("ethernet", 5500, "Ethernet"),
        ("pon", None, "Fiber"),
        ("vpn", None, None),
        (None, 5500, None),
    ],
)
def test_link_type(uisp_type: str | None, mhz: float | None, expected: str | None) -> None:
    assert rules.link_type(uisp_type, mhz) == expected


# --- sectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_type", "mode", "model", "sector"),
    [
        ("airMax", "ap-ptmp", "LAP-120", True),
        ("airMax", "ap-ptmp-airmax-mixed", "LAP-120", True),
        ("airMax", "ap-ptmp-airmax-ac", "LAP-GPS", True),
        ("airMax", "ap-ptmp-airmax", "PS-5AC", True),
        ("airMax", "ap-ptmp-airmax-mixed", "RP-5AC-Gen2", True),
        ("airMax", "ap-ptmp", None, True),
        ("airMax", "ap-ptmp-airmax-mixed", "LBE-5AC-LR", False),  # a dish in PtMP mode
        ("airMax", "ap-ptmp", "NBE-5AC-Gen2", False),
        ("airMax", "ap-ptp", "LBE-5AC-Gen2", False),
        ("airMax", "ap-ptp", "GBE-LR", False),
        ("airMax", "sta-ptmp", "LBE-5AC-Gen2", False),
        ("airMax", None, "LAP-120", False),
        ("airFiber", "ap-ptp", "AF60-LR", False),
        ("wave", "ap-ptmp", "WaveAP", False),  # airMax only, as MeshDB
        (None, "ap-ptmp", "LAP-120", False),
    ],
)
def test_is_sector(
    device_type: str | None, mode: str | None, model: str | None, sector: bool
) -> None:
    assert rules.is_sector(device_type, mode, model) is sector


@pytest.mark.realdata
def test_sectors_in_the_real_answer(shared_data: Path) -> None:
    body = (shared_data / "nycmesh-uisp-2023" / "access_points.json").read_bytes()
    snapshot = parse(UispRaw(body, b"[]", NOW), aliases=NYCMESH_ALIASES)
    sectors = {
        d.name for d in snapshot.devices if rules.is_sector(d.type, d.wireless_mode, d.model)
    }
    assert {"nycmesh-511-west", "nycmesh-1933-east-s3", "nycmesh-sn1-northeast"} <= sectors
    assert "nycmesh-1933-lbelr-1084" not in sectors
    assert "nycmesh-1340-gbelr-5014" not in sectors
    assert "nycmesh-5916-waveap-south" not in sectors
    # 107 airMax radios in an ap-ptmp* mode, less the 3 LiteBeam LR dishes among them.
    assert len(sectors) == 104


@pytest.mark.parametrize(
    ("status", "expected"),
    [("active", "Active"), (None, "Active"), ("disconnected", "Inactive"), ("unknown", "Inactive")],
)
def test_device_status(status: str | None, expected: str) -> None:
    assert rules.device_status(status) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("active", "Active"),
        ("disconnected", "Inactive"),
        ("proposed", "Inactive"),
        (None, "Inactive"),
    ],
)
def test_link_status(state: str | None, expected: str) -> None:
    assert rules.link_status(state) == expected


# --- the planner: devices ------------------------------------------------------------------


def dev(
    uisp_id: str,
    name: str | None,
    nn: int | None,
    *,
    status: str | None = "active",
    last_seen: datetime | None = NOW,
    **more: Any,
) -> UispDevice:
    """A UISP device as the collector would parse it (a LiteAP sector unless told)."""
    base = UispDevice(
        id=uisp_id,
        name=name,
        network_number=nn,
        status=status,
        last_seen=last_seen,
        type="airMax",
        category="wireless",
        model="LAP-120",
        wireless_mode="ap-ptmp-airmax-mixed",
        frequency_mhz=5500,
        created_at=datetime(2023, 6, 10, 16, 7, tzinfo=UTC),
    )
    return dataclasses.replace(base, **more)


def rec(
    record_id: int,
    uisp_id: str | None,
    name: str,
    nn: int | None,
    status: str = "Active",
    last_seen: datetime | None = None,
) -> RecordedDevice:
    """A device as the database holds it."""
    return RecordedDevice(
        id=record_id,
        uisp_id=uisp_id,
        name=name,
        network_number=nn,
        status=status,
        last_seen_in_uisp=last_seen,
    )


def snap(devices: list[UispDevice], links: list[UispLink] | None = None) -> UispSnapshot:
    """A snapshot fetched at NOW."""
    return UispSnapshot(tuple(devices), tuple(links or ()), NOW)


def plan(
    devices: list[RecordedDevice],
    snapshot: UispSnapshot,
    links: list[RecordedLink] | None = None,
) -> SyncPlan:
    """plan_sync at NOW over NODES."""
    return plan_sync(devices, links or [], snapshot, NOW, node_numbers=NODES)


def test_new_device_on_a_known_node_is_created() -> None:
    result = plan([], snap([dev("u1", "nycmesh-1234-west", 1234)]))
    assert result == SyncPlan(
        devices_to_create=(
            DeviceCreate(
                uisp_id="u1",
                name="nycmesh-1234-west",
                network_number=1234,
                is_sector=True,
                status=DeviceStatus.ACTIVE,
                install_date=date(2023, 6, 10),
                abandon_date=None,
                last_seen=NOW,
                model="LAP-120",
            ),
        )
    )


def test_new_disconnected_device_is_created_inactive_with_its_abandon_date() -> None:
    seen = NOW - timedelta(days=3)
    device = dev("u1", "nycmesh-lbe-1417", 1417, status="disconnected", last_seen=seen)
    device = dataclasses.replace(device, wireless_mode="ap-ptp", model="LBE-5AC-Gen2")
    (created,) = plan([], snap([device])).devices_to_create
    assert (created.status, created.abandon_date, created.is_sector) == (
        "Inactive",
        seen.date(),
        False,
    )


def test_nn_without_node_is_reported_never_invented() -> None:
    result = plan([], snap([dev("u1", "nycmesh-4321-east", 4321)]))
    assert result.devices_to_create == ()
    assert result.devices_without_node == (
        DeviceReport(uisp_id="u1", name="nycmesh-4321-east", network_number=4321, recorded_id=None),
    )


def test_name_without_nn_is_reported() -> None:
    result = plan([], snap([dev("u1", "nycmesh-supernode1-a3", None)]))
    assert result.devices_to_create == ()
    assert result.devices_without_nn == (
        DeviceReport(
            uisp_id="u1", name="nycmesh-supernode1-a3", network_number=None, recorded_id=None
        ),
    )


def test_optical_devices_are_not_mesh_devices() -> None:
    result = plan([], snap([dev("u1", "nycmesh-1234-onu", 1234, category="optical")]))
    assert result == SyncPlan()


def test_device_already_recorded_and_active_needs_nothing() -> None:
    result = plan(
        [rec(1, "u1", "nycmesh-1234-west", 1234)], snap([dev("u1", "nycmesh-1234-west", 1234)])
    )
    assert result == SyncPlan()


@pytest.mark.parametrize("recorded_status", ["Inactive", "Potential"])
def test_reappearing_device_is_reactivated(recorded_status: str) -> None:
    recorded = [rec(7, "u1", "nycmesh-1234-west", 1234, recorded_status)]
    result = plan(recorded, snap([dev("u1", "nycmesh-1234-west", 1234)]))
    assert result == SyncPlan(devices_to_reactivate=(Reactivation(id=7, uisp_id="u1"),))


@pytest.mark.parametrize(
    ("days", "deactivated"),
    [(1, False), (29, False), (30, False), (31, True), (400, True)],
)
def test_unseen_device_goes_inactive_after_30_days(days: int, deactivated: bool) -> None:
    seen = NOW - timedelta(days=days)
    recorded = [rec(7, "u1", "nycmesh-1234-west", 1234)]
    device = dev("u1", "nycmesh-1234-west", 1234, status="disconnected", last_seen=seen)
    result = plan(recorded, snap([device]))
    expected = (
        (
            Deactivation(
                id=7, uisp_id="u1", abandon_date=seen.date(), last_seen=seen, reason=OFFLINE
            ),
        )
        if deactivated
        else ()
    )
    assert result.devices_to_deactivate == expected
    assert result.devices_to_reactivate == ()


def test_unseen_device_falls_back_to_the_recorded_last_seen() -> None:
    ten_days = NOW - timedelta(days=10)
    device = dev("u1", "nycmesh-1234-west", 1234, status="disconnected", last_seen=None)
    result = plan([rec(7, "u1", "nycmesh-1234-west", 1234, last_seen=ten_days)], snap([device]))
    assert result.devices_to_deactivate == ()
    # Never seen anywhere: MeshDB deactivates at once, with no abandon date to give.
    result = plan([rec(7, "u1", "nycmesh-1234-west", 1234)], snap([device]))
    assert result.devices_to_deactivate == (
        Deactivation(id=7, uisp_id="u1", abandon_date=None, last_seen=None, reason=OFFLINE),
    )


def test_inactive_device_still_offline_needs_nothing() -> None:
    device = dev(
        "u1", "nycmesh-1234-west", 1234, status="disconnected", last_seen=NOW - timedelta(days=90)
    )
    result = plan([rec(7, "u1", "nycmesh-1234-west", 1234, "Inactive")], snap([device]))
    assert result == SyncPlan()


def test_device_gone_from_uisp_goes_inactive_at_once() -> None:
    yesterday = NOW - timedelta(days=1)
    recorded = [
        rec(1, "gone-active", "nycmesh-1234-west", 1234, "Active", yesterday),
        rec(2, "gone-potential", "nycmesh-1234-east", 1234, "Potential"),
        rec(3, "gone-inactive", "nycmesh-1234-north", 1234, "Inactive", yesterday),
        rec(4, None, "hand-made switch", 1234, "Active"),  # not a UISP device: left alone
    ]
    result = plan(recorded, snap([]))
    assert result.devices_to_deactivate == (
        Deactivation(
            id=1,
            uisp_id="gone-active",
            abandon_date=yesterday.date(),
            last_seen=yesterday,
            reason=GONE,
        ),
        Deactivation(
            id=2, uisp_id="gone-potential", abandon_date=None, last_seen=None, reason=GONE
        ),
    )


def test_renamed_device_moves_to_the_node_its_new_name_names() -> None:
    recorded = [rec(7, "u1", "nycmesh-1234-west", 1234)]
    result = plan(recorded, snap([dev("u1", "nycmesh-5678-west", 5678)]))
    assert result == SyncPlan(
        devices_to_update=(
            DeviceUpdate(
                id=7,
                uisp_id="u1",
                name="nycmesh-5678-west",
                network_number=5678,
                old_name="nycmesh-1234-west",
                old_network_number=1234,
            ),
        )
    )


def test_renamed_to_an_nn_without_node_keeps_its_node_and_is_reported() -> None:
    recorded = [rec(7, "u1", "nycmesh-1234-west", 1234)]
    result = plan(recorded, snap([dev("u1", "nycmesh-4321-west", 4321)]))
    assert result.devices_to_update == (
        DeviceUpdate(
            id=7,
            uisp_id="u1",
            name="nycmesh-4321-west",
            network_number=1234,
            old_name="nycmesh-1234-west",
            old_network_number=1234,
        ),
    )
    assert result.devices_without_node == (
        DeviceReport(uisp_id="u1", name="nycmesh-4321-west", network_number=4321, recorded_id=7),
    )


def test_duplicate_records_are_reported_and_planned_alike() -> None:
    recorded = [
        rec(1, "u1", "nycmesh-1234-a", 1234, "Inactive"),
        rec(2, "u1", "nycmesh-1234-a", 1234, "Inactive"),
    ]
    result = plan(recorded, snap([dev("u1", "nycmesh-1234-a", 1234)]))
    assert result.duplicate_uisp_ids == ("u1",)
    assert [r.id for r in result.devices_to_reactivate] == [1, 2]


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_sync([], [], snap([]), datetime(2024, 6, 1), node_numbers=NODES)


# --- the planner: links --------------------------------------------------------------------


def link(
    uisp_id: str,
    a: str | None,
    b: str | None,
    *,
    state: str = "active",
    kind: str = "wireless",
    mhz: float | None = 5500,
) -> UispLink:
    """A UISP data-link between two device ids."""
    return UispLink(
        id=uisp_id, from_device_id=a, to_device_id=b, state=state, type=kind, frequency_mhz=mhz
    )


def rlink(
    record_id: int, uisp_id: str | None, a: str, b: str, status: str = "Active"
) -> RecordedLink:
    """A link as the database holds it."""
    return RecordedLink(
        id=record_id, uisp_id=uisp_id, from_device_uisp_id=a, to_device_uisp_id=b, status=status
    )


A = rec(1, "A", "nycmesh-1234-west", 1234)
B = rec(2, "B", "nycmesh-1417-lbe-1234", 1417)


def test_links_are_created_between_known_devices() -> None:
    devices = [
        dev("A", "nycmesh-1234-west", 1234),
        dev("B", "nycmesh-1417-lbe-1234", 1417),
        dev("C", "nycmesh-713-af60-1417", 713, frequency_mhz=64800),  # created in the same plan
    ]
    links = [
        link("ab", "A", "B"),
        link("bc", "B", "C", mhz=64800),
        link("ca", "C", "A", kind="ethernet", mhz=None, state="disconnected"),
        link("cb", "C", "B", mhz=None),  # no frequency on the link: the from-device's is used
    ]
    result = plan([A, B], snap(devices, links))
    assert [d.uisp_id for d in result.devices_to_create] == ["C"]
    assert result.links_to_create == (
        LinkCreate(
            uisp_id="ab",
            from_device_uisp_id="A",
            to_device_uisp_id="B",
            type=LinkType.FIVE_GHZ,
            status=LinkStatus.ACTIVE,
            frequency_mhz=5500,
        ),
        LinkCreate(
            uisp_id="bc",
            from_device_uisp_id="B",
            to_device_uisp_id="C",
            type=LinkType.SIXTY_GHZ,
            status=LinkStatus.ACTIVE,
            frequency_mhz=64800,
        ),
        LinkCreate(
            uisp_id="ca",
            from_device_uisp_id="C",
            to_device_uisp_id="A",
            type=LinkType.ETHERNET,
            status=LinkStatus.INACTIVE,
            frequency_mhz=None,
        ),
        LinkCreate(
            uisp_id="cb",
            from_device_uisp_id="C",
            to_device_uisp_id="B",
            type=LinkType.SIXTY_GHZ,
            status=LinkStatus.ACTIVE,
            frequency_mhz=64800,
        ),
    )


def test_links_to_unplaced_or_unmanaged_devices_are_skipped() -> None:
    devices = [dev("A", "nycmesh-1234-west", 1234), dev("X", "nycmesh-4321-east", 4321)]
    links = [link("ax", "A", "X"), link("a-", "A", None), link("-a", None, "A")]
    result = plan([A], snap(devices, links))
    assert result.links_to_create == ()
    assert result.links_skipped == (
        SkippedLink(uisp_id="ax", reason="device X is not recorded"),
        SkippedLink(uisp_id="a-", reason="its to end is not a device UISP manages"),
        SkippedLink(uisp_id="-a", reason="its from end is not a device UISP manages"),
    )


def test_reappearing_link_is_reactivated() -> None:
    devices = [dev("A", A.name, 1234), dev("B", B.name, 1417)]
    result = plan(
        [A, B], snap(devices, [link("ab", "A", "B")]), [rlink(9, "ab", "A", "B", "Inactive")]
    )
    assert result == SyncPlan(links_to_reactivate=(Reactivation(id=9, uisp_id="ab"),))


@pytest.mark.parametrize(("days", "deactivated"), [(29, False), (30, False), (31, True)])
def test_down_link_goes_inactive_after_30_days(days: int, deactivated: bool) -> None:
    # The link's last seen is the older of its two devices' lastSeen: B went quiet first.
    seen = NOW - timedelta(days=days)
    devices = [
        dev("A", A.name, 1234),
        dev("B", B.name, 1417, status="disconnected", last_seen=seen),
    ]
    recorded_b = dataclasses.replace(B, status="Inactive")
    snapshot = snap(devices, [link("ab", "A", "B", state="disconnected")])
    result = plan([A, recorded_b], snapshot, [rlink(9, "ab", "A", "B")])
    expected = (
        (
            Deactivation(
                id=9, uisp_id="ab", abandon_date=seen.date(), last_seen=seen, reason=OFFLINE
            ),
        )
        if deactivated
        else ()
    )
    assert result.links_to_deactivate == expected


def test_link_gone_from_uisp_goes_inactive_at_once() -> None:
    devices = [dev("A", A.name, 1234), dev("B", B.name, 1417)]
    recorded = [
        rlink(9, "gone", "A", "B"),
        rlink(10, "gone-inactive", "A", "B", "Inactive"),
        rlink(11, None, "A", "B"),  # recorded by hand, UISP knows nothing of it
    ]
    result = plan([A, B], snap(devices), recorded)
    assert result.links_to_deactivate == (
        Deactivation(id=9, uisp_id="gone", abandon_date=None, last_seen=None, reason=GONE),
    )


def test_link_with_a_new_uisp_id_between_the_same_devices_is_the_same_link() -> None:
    # UISP re-ids ethernet links now and then (MeshDB #691); either direction is the same pair.
    devices = [dev("A", A.name, 1234), dev("B", B.name, 1417)]
    snapshot = snap(devices, [link("new-id", "B", "A", kind="ethernet", mhz=None)])
    result = plan([A, B], snapshot, [rlink(9, "old-id", "A", "B")])
    assert result == SyncPlan(
        links_to_update=(
            LinkUpdate(
                id=9,
                uisp_id="new-id",
                old_uisp_id="old-id",
                from_device_uisp_id="B",
                to_device_uisp_id="A",
            ),
        )
    )


def test_plan_is_plain_frozen_data() -> None:
    result = plan([], snap([dev("u1", "nycmesh-1234-west", 1234)]))
    assert result.counts()["devices_to_create"] == 1
    assert sum(result.counts().values()) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.devices_to_create = ()  # type: ignore[misc]
    assert json.dumps(dataclasses.asdict(result), default=str)


def test_rules_module_imports_no_database_and_no_http() -> None:
    code = (
        "import sys, ipam.imports.uisp_rules; heavy = {'httpx', 'sqlalchemy', 'psycopg'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
