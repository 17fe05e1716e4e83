"""Pure UISP reconciliation rules: link types, sectors, and the plan that syncs records to UISP.

No database and no network here: ``plan_sync`` reads plain frozen records and one
``UispSnapshot`` and says what should change. The database side applies the plan (in one
transaction, with its events). The rules follow MeshDB's UISP import
(meshapi/util/uisp_import), except where a docstring below says otherwise and why.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import TypeVar

from ipam.enums import DeviceStatus, LinkStatus, LinkType
from ipam.imports.uisp_inventory import UispDevice, UispLink, UispSnapshot

STALE_AFTER = timedelta(days=30)  # MeshDB: UISP_OFFLINE_DURATION_BEFORE_MARKING_INACTIVE
EXCLUDED_CATEGORIES = frozenset({"optical"})  # MeshDB: UFiber ONUs are not mesh devices
SIX_GHZ_MHZ = (5925, 7125)  # U-NII-5..8, both ends inclusive
SECTOR_MODES_PREFIX = "ap-ptmp"
# Narrow-beam dishes. In the 2023 NYC Mesh dump three LBE-5AC-LR run ap-ptmp-airmax-* modes
# but are named for their far end (nycmesh-1933-lbelr-1084): links, not coverage wedges.
DISH_MODEL_PREFIXES = ("NBE-", "PBE-", "GBE", "LBE-5AC-23", "LBE-5AC-Gen2", "LBE-5AC-LR")

OFFLINE = "offline in UISP"  # Deactivation.reason: UISP lists it, not seen for too long
GONE = "gone from UISP"  # Deactivation.reason: UISP no longer lists it at all


def link_type(uisp_type: str | None, frequency_mhz: float | None) -> LinkType | None:
    """The link type for a UISP data-link type and frequency in MHz; None for unknown types.

    wireless: 5925-7125 MHz -> 6 GHz, else < 7000 -> 5 GHz, < 40000 -> 24 GHz,
    < 70000 -> 60 GHz, otherwise 70-80 GHz; a wireless link with no frequency -> 5 GHz
    (MeshDB's guess, most of the mesh is 5 GHz). ethernet -> Ethernet, pon -> Fiber.
    """
    if uisp_type == "wireless":
        if frequency_mhz is None:
            return LinkType.FIVE_GHZ
        if SIX_GHZ_MHZ[0] <= frequency_mhz <= SIX_GHZ_MHZ[1]:
            return LinkType.SIX_GHZ
        if frequency_mhz < 7_000:
            return LinkType.FIVE_GHZ
        if frequency_mhz < 40_000:
            return LinkType.TWENTYFOUR_GHZ
        if frequency_mhz < 70_000:
            return LinkType.SIXTY_GHZ
        return LinkType.SEVENTY_EIGHTY_GHZ
    if uisp_type == "ethernet":
        return LinkType.ETHERNET
    if uisp_type == "pon":
        return LinkType.FIBER
    return None


def is_sector(device_type: str | None, wireless_mode: str | None, model: str | None = None) -> bool:
    """True for an airMax access point serving many stations (a Sector), false otherwise.

    MeshDB asks for wirelessMode == "ap-ptmp" exactly, but the real data has most LiteAP
    sectors in "ap-ptmp-airmax-mixed" or "ap-ptmp-airmax-ac", so every ap-ptmp* mode counts;
    narrow-beam dishes (DISH_MODEL_PREFIXES) in a PtMP mode stay plain devices.
    """
    if device_type != "airMax" or not wireless_mode:
        return False
    if not wireless_mode.startswith(SECTOR_MODES_PREFIX):
        return False
    return not (model and model.startswith(DISH_MODEL_PREFIXES))


def device_status(uisp_status: str | None) -> DeviceStatus:
    """Active when UISP says active or says nothing (MeshDB), Inactive for anything else."""
    return DeviceStatus.ACTIVE if uisp_status in (None, "active") else DeviceStatus.INACTIVE


def link_status(uisp_state: str | None) -> LinkStatus:
    """Active when the data-link's state is active, Inactive for anything else (MeshDB)."""
    return LinkStatus.ACTIVE if uisp_state == "active" else LinkStatus.INACTIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedDevice:
    """What the database holds for a device (only what the plan needs)."""

    id: uuid.UUID
    uisp_id: str | None
    name: str
    network_number: int | None  # the NN of the device's node
    status: str  # DeviceStatus value
    last_seen_in_uisp: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedLink:
    """What the database holds for a link; its ends are named by their devices' UISP ids."""

    id: uuid.UUID
    uisp_id: str | None
    from_device_uisp_id: str | None
    to_device_uisp_id: str | None
    status: str  # LinkStatus value
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceCreate:
    """A UISP device to record on the node its name names (a Sector when is_sector)."""

    uisp_id: str
    name: str
    network_number: int
    is_sector: bool
    status: DeviceStatus
    install_date: date | None  # UISP's createdAt
    abandon_date: date | None  # last seen, when created Inactive
    last_seen: datetime | None
    model: str | None  # lets the database side guess a sector's beam width


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceUpdate:
    """A recorded device whose UISP name (and so maybe its node) changed."""

    id: uuid.UUID
    uisp_id: str
    name: str
    network_number: int | None
    old_name: str
    old_network_number: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reactivation:
    """A recorded device or link UISP shows active again: Active, abandon_date cleared."""

    id: uuid.UUID
    uisp_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Deactivation:
    """A recorded device or link to set Inactive with this abandon_date, and why."""

    id: uuid.UUID
    uisp_id: str
    abandon_date: date | None
    last_seen: datetime | None
    reason: str  # OFFLINE or GONE


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkCreate:
    """A UISP data-link between two recorded (or just created) devices."""

    uisp_id: str
    from_device_uisp_id: str
    to_device_uisp_id: str
    type: LinkType | None  # None when UISP's type is not one we know
    status: LinkStatus
    frequency_mhz: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkUpdate:
    """A recorded link whose UISP id or device pair changed (UISP re-ids ethernet links)."""

    id: uuid.UUID
    uisp_id: str
    old_uisp_id: str | None
    from_device_uisp_id: str
    to_device_uisp_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceReport:
    """A UISP device the plan could not place: no NN in its name, or no node for its NN."""

    uisp_id: str
    name: str | None
    network_number: int | None
    recorded_id: uuid.UUID | None  # set when the device is already recorded


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedLink:
    """A UISP data-link left alone, and why."""

    uisp_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncPlan:
    """Everything one UISP cycle should change in the records, plus what to report."""

    devices_to_create: tuple[DeviceCreate, ...] = ()
    devices_to_update: tuple[DeviceUpdate, ...] = ()
    devices_to_reactivate: tuple[Reactivation, ...] = ()
    devices_to_deactivate: tuple[Deactivation, ...] = ()
    links_to_create: tuple[LinkCreate, ...] = ()
    links_to_update: tuple[LinkUpdate, ...] = ()
    links_to_reactivate: tuple[Reactivation, ...] = ()
    links_to_deactivate: tuple[Deactivation, ...] = ()
    devices_without_node: tuple[DeviceReport, ...] = ()
    devices_without_nn: tuple[DeviceReport, ...] = ()
    links_skipped: tuple[SkippedLink, ...] = ()
    duplicate_uisp_ids: tuple[str, ...] = ()  # recorded twice: every copy is planned alike

    def counts(self) -> dict[str, int]:
        """How many entries each part of the plan holds (for logs and benchmarks)."""
        return {f.name: len(getattr(self, f.name)) for f in fields(self)}


def plan_sync(
    recorded_devices: Iterable[RecordedDevice],
    recorded_links: Iterable[RecordedLink],
    snapshot: UispSnapshot,
    now: datetime,
    *,
    node_numbers: Collection[int],
    stale_after: timedelta = STALE_AFTER,
) -> SyncPlan:
    """Plan the record changes one UISP snapshot calls for (rules in the docstrings below).

    ``node_numbers`` are the NNs that have a node: a device is only ever placed on an existing
    node; a missing one is reported, never invented. ``now`` must be timezone-aware.
    Devices: see _plan_devices. Links: see _plan_links.
    """
    if now.tzinfo is None:
        raise ValueError("plan_sync needs a timezone-aware now: UISP times are UTC")
    devices = list(recorded_devices)
    draft = _Draft()
    known = _plan_devices(devices, snapshot, now, set(node_numbers), stale_after, draft)
    _plan_links(list(recorded_links), snapshot, now, known, stale_after, draft)
    return SyncPlan(
        devices_to_create=tuple(draft.devices_to_create),
        devices_to_update=tuple(draft.devices_to_update),
        devices_to_reactivate=tuple(draft.devices_to_reactivate),
        devices_to_deactivate=tuple(draft.devices_to_deactivate),
        links_to_create=tuple(draft.links_to_create),
        links_to_update=tuple(draft.links_to_update),
        links_to_reactivate=tuple(draft.links_to_reactivate),
        links_to_deactivate=tuple(draft.links_to_deactivate),
        devices_without_node=tuple(draft.devices_without_node),
        devices_without_nn=tuple(draft.devices_without_nn),
        links_skipped=tuple(draft.links_skipped),
        duplicate_uisp_ids=tuple(k for k, v in _index(devices).items() if len(v) > 1),
    )


@dataclass
class _Draft:
    """The plan while it is being built: the same parts as SyncPlan, as lists."""

    devices_to_create: list[DeviceCreate] = field(default_factory=list)
    devices_to_update: list[DeviceUpdate] = field(default_factory=list)
    devices_to_reactivate: list[Reactivation] = field(default_factory=list)
    devices_to_deactivate: list[Deactivation] = field(default_factory=list)
    links_to_create: list[LinkCreate] = field(default_factory=list)
    links_to_update: list[LinkUpdate] = field(default_factory=list)
    links_to_reactivate: list[Reactivation] = field(default_factory=list)
    links_to_deactivate: list[Deactivation] = field(default_factory=list)
    devices_without_node: list[DeviceReport] = field(default_factory=list)
    devices_without_nn: list[DeviceReport] = field(default_factory=list)
    links_skipped: list[SkippedLink] = field(default_factory=list)


_Record = TypeVar("_Record", RecordedDevice, RecordedLink)


def _index(records: Iterable[_Record]) -> dict[str, list[_Record]]:
    index: dict[str, list[_Record]] = defaultdict(list)
    for record in records:
        if record.uisp_id:
            index[record.uisp_id].append(record)
    return index


def _deactivation(
    record_id: uuid.UUID, uisp_id: str, last_seen: datetime | None, reason: str
) -> Deactivation:
    # The abandon date is the day it was last seen (MeshDB), unknown when never seen.
    abandon = last_seen.date() if last_seen else None
    return Deactivation(
        id=record_id, uisp_id=uisp_id, abandon_date=abandon, last_seen=last_seen, reason=reason
    )


def _stale(last_seen: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    # MeshDB: strictly more than 30 days, and never seen at all counts as stale.
    return last_seen is None or now - last_seen > stale_after


def _plan_devices(
    recorded: list[RecordedDevice],
    snapshot: UispSnapshot,
    now: datetime,
    nodes: set[int],
    stale_after: timedelta,
    draft: _Draft,
) -> set[str]:
    """Device rules; returns the UISP ids that are recorded or about to be.

    - New UISP device (no record with its uisp_id), category not optical: created on the node
      its name names, with UISP's status; Inactive ones get abandon_date = lastSeen's date.
      No NN in the name -> devices_without_nn; NN without node -> devices_without_node.
    - Recorded device: a new name or NN is an update (it only moves to an NN that has a node);
      UISP active and record not Active -> reactivate; UISP not active and record not
      Inactive -> deactivate only when lastSeen (else the recorded last seen) is more than
      stale_after ago, abandon_date = that date.
    - Recorded device whose uisp_id UISP no longer lists, not yet Inactive -> Inactive at once
      (reason GONE), abandon_date = its recorded last seen date.
    """
    by_uisp = _index(recorded)
    known = set(by_uisp)
    for device in snapshot.devices:
        records = by_uisp.get(device.id, [])
        if device.category in EXCLUDED_CATEGORIES and not records:
            continue
        nn = device.network_number
        placeable = nn is not None and nn in nodes
        if not placeable:
            report = DeviceReport(
                uisp_id=device.id,
                name=device.name,
                network_number=nn,
                recorded_id=records[0].id if records else None,
            )
            (draft.devices_without_nn if nn is None else draft.devices_without_node).append(report)
        status = device_status(device.status)
        if not records:
            if placeable and nn is not None:
                draft.devices_to_create.append(_create(device, nn, status))
                known.add(device.id)
            continue
        for record in records:
            _plan_device(record, device, placeable, status, now, stale_after, draft)
    seen = {device.id for device in snapshot.devices}
    for record in recorded:
        if record.uisp_id and record.uisp_id not in seen and record.status != DeviceStatus.INACTIVE:
            last = record.last_seen_in_uisp
            draft.devices_to_deactivate.append(_deactivation(record.id, record.uisp_id, last, GONE))
    return known


def _create(device: UispDevice, nn: int, status: DeviceStatus) -> DeviceCreate:
    inactive = status == DeviceStatus.INACTIVE
    return DeviceCreate(
        uisp_id=device.id,
        name=device.name or device.id,
        network_number=nn,
        is_sector=is_sector(device.type, device.wireless_mode, device.model),
        status=status,
        install_date=device.created_at.date() if device.created_at else None,
        abandon_date=device.last_seen.date() if inactive and device.last_seen else None,
        last_seen=device.last_seen,
        model=device.model,
    )


def _plan_device(
    record: RecordedDevice,
    device: UispDevice,
    placeable: bool,
    status: DeviceStatus,
    now: datetime,
    stale_after: timedelta,
    draft: _Draft,
) -> None:
    uisp_id = device.id
    name = device.name or record.name
    nn = device.network_number if placeable else record.network_number
    if name != record.name or nn != record.network_number:
        draft.devices_to_update.append(
            DeviceUpdate(
                id=record.id,
                uisp_id=uisp_id,
                name=name,
                network_number=nn,
                old_name=record.name,
                old_network_number=record.network_number,
            )
        )
    if status == DeviceStatus.ACTIVE:
        if record.status != DeviceStatus.ACTIVE:
            draft.devices_to_reactivate.append(Reactivation(id=record.id, uisp_id=uisp_id))
        return
    last = device.last_seen or record.last_seen_in_uisp
    if record.status != DeviceStatus.INACTIVE and _stale(last, now, stale_after):
        draft.devices_to_deactivate.append(_deactivation(record.id, uisp_id, last, OFFLINE))


def _plan_links(
    recorded: list[RecordedLink],
    snapshot: UispSnapshot,
    now: datetime,
    known: set[str],
    stale_after: timedelta,
    draft: _Draft,
) -> None:
    """Link rules.

    - A data-link is planned only when both ends are UISP devices that are recorded or about
      to be created; otherwise it is skipped with the reason (MeshDB).
    - New link id: if a recorded link between the same two devices (either way round) has a
      UISP id UISP no longer lists, it is that link re-identified (UISP re-ids ethernet
      links): update its id. Otherwise create it, type from link_type (a wireless link with
      no frequency takes its from-device's, then its to-device's) and UISP's state.
    - Recorded link: a changed pair is an update; state active and record not Active ->
      reactivate; state not active and record not Inactive -> deactivate once the link's
      last seen (the older of its two devices' lastSeen, else the recorded last seen; no
      request per link) is more than stale_after ago.
    - Recorded Active link whose UISP id UISP no longer lists -> Inactive at once (GONE).
    """
    by_uisp = _index(recorded)
    listed = {link.id for link in snapshot.links}
    orphans: dict[frozenset[str | None], list[RecordedLink]] = defaultdict(list)
    for record in recorded:
        if record.uisp_id and record.uisp_id not in listed:
            orphans[frozenset((record.from_device_uisp_id, record.to_device_uisp_id))].append(
                record
            )
    devices = {device.id: device for device in snapshot.devices}
    adopted: set[uuid.UUID] = set()
    for link in snapshot.links:
        ends = (link.from_device_id, link.to_device_id)
        if ends[0] is None or ends[1] is None:
            side = "from" if ends[0] is None else "to"
            reason = f"its {side} end is not a device UISP manages"
            draft.links_skipped.append(SkippedLink(uisp_id=link.id, reason=reason))
            continue
        missing = [end for end in ends if end not in known]
        if missing:
            reason = f"device {missing[0]} is not recorded"
            draft.links_skipped.append(SkippedLink(uisp_id=link.id, reason=reason))
            continue
        from_id, to_id = ends[0], ends[1]
        records = by_uisp.get(link.id) or orphans.pop(frozenset(ends), [])
        status = link_status(link.state)
        if not records:
            draft.links_to_create.append(_create_link(link, from_id, to_id, status, devices))
            continue
        last = _link_last_seen(devices.get(from_id), devices.get(to_id))
        for record in records:
            adopted.add(record.id)
            pair = {record.from_device_uisp_id, record.to_device_uisp_id}
            if record.uisp_id != link.id or pair != set(ends):
                draft.links_to_update.append(
                    LinkUpdate(
                        id=record.id,
                        uisp_id=link.id,
                        old_uisp_id=record.uisp_id,
                        from_device_uisp_id=from_id,
                        to_device_uisp_id=to_id,
                    )
                )
            _plan_link_status(record, link.id, status, last, now, stale_after, draft)
    for record in recorded:
        if (
            record.uisp_id
            and record.uisp_id not in listed
            and record.id not in adopted
            and record.status == LinkStatus.ACTIVE  # MeshDB: only Active links, unlike devices
        ):
            draft.links_to_deactivate.append(
                _deactivation(record.id, record.uisp_id, record.last_seen, GONE)
            )


def _create_link(
    link: UispLink,
    from_id: str,
    to_id: str,
    status: LinkStatus,
    devices: Mapping[str, UispDevice],
) -> LinkCreate:
    frequency = link.frequency_mhz
    if frequency is None and link.type == "wireless":
        ends = (devices.get(from_id), devices.get(to_id))
        frequency = next((d.frequency_mhz for d in ends if d and d.frequency_mhz), None)
    return LinkCreate(
        uisp_id=link.id,
        from_device_uisp_id=from_id,
        to_device_uisp_id=to_id,
        type=link_type(link.type, frequency),
        status=status,
        frequency_mhz=frequency,
    )


def _link_last_seen(a: UispDevice | None, b: UispDevice | None) -> datetime | None:
    # A link can only have been up while both its ends were: the older lastSeen. MeshDB asks
    # UISP for each device's detail here; the snapshot already holds both.
    if a is None or b is None or a.last_seen is None or b.last_seen is None:
        return None
    return min(a.last_seen, b.last_seen)


def _plan_link_status(
    record: RecordedLink,
    uisp_id: str,
    status: LinkStatus,
    observed_last_seen: datetime | None,
    now: datetime,
    stale_after: timedelta,
    draft: _Draft,
) -> None:
    if status == LinkStatus.ACTIVE:
        if record.status != LinkStatus.ACTIVE:
            draft.links_to_reactivate.append(Reactivation(id=record.id, uisp_id=uisp_id))
        return
    last = observed_last_seen or record.last_seen
    if record.status != LinkStatus.INACTIVE and _stale(last, now, stale_after):
        draft.links_to_deactivate.append(_deactivation(record.id, uisp_id, last, OFFLINE))
