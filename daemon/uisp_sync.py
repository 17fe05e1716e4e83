"""UISP into the records with MeshDB's semantics: the planner's plan applied in one transaction."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from collectors import uisp
from collectors.errors import CollectorError
from collectors.guard import ProbeGuard
from ipam import models as m
from ipam.db import transaction
from ipam.enums import DeviceStatus, LinkStatus
from ipam.imports import uisp_rules as rules
from ipam.records import edits
from ipam.records.changes import KINDS, write_event
from ipam.records.versions import bump_observed
from ipam.settings import Settings

ACTOR = "uisp-sync"

# A sector's beam width guessed from its model (UISP does not say); operators correct it.
BEAM_WIDTHS = (("LAP-120", 120), ("LAP-GPS", 90), ("LAP", 90), ("PS-5AC", 90), ("R5AC", 120))
DEFAULT_BEAM = 120


@dataclass
class UispOutcome:
    """What one sync did and what it could not place, for the CLI and the logs."""

    devices: int = 0
    links: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    without_node: list[str] = field(default_factory=list)
    without_nn: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: sizes, changes, and what was reported."""
        changes = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v)
        return (
            f"{self.devices} devices, {self.links} links; {changes or 'no changes'}; "
            f"{len(self.without_node)} named for an NN with no node, "
            f"{len(self.without_nn)} with no NN in their name"
        )


def beam_width(model: str | None) -> int:
    """The beam width to record for a new sector of this model."""
    for prefix, width in BEAM_WIDTHS:
        if model and model.upper().startswith(prefix):
            return width
    return DEFAULT_BEAM


def _address(value: str | None) -> str | None:
    try:
        return None if value is None else str(ipaddress.ip_address(value))
    except ValueError:
        return None


# The device base table, aliased once: a link end needs no sector or access-point columns.
_FROM, _TO = m.Device.__table__.alias("from_device"), m.Device.__table__.alias("to_device")


def recorded(
    session: Session,
) -> tuple[list[rules.RecordedDevice], list[rules.RecordedLink], set[int]]:
    """What the database holds, as the planner's plain values."""
    devices = session.execute(
        select(m.Device, m.DeviceObservation.uisp_last_seen)
        .outerjoin(m.DeviceObservation, m.DeviceObservation.device_id == m.Device.id)
        .options(joinedload(m.Device.node))
    ).unique()
    recorded_devices = [
        rules.RecordedDevice(
            id=d.id,
            uisp_id=d.uisp_id,
            name=d.name or "",
            network_number=d.node.network_number,
            status=d.status,
            last_seen_in_uisp=seen,
        )
        for d, seen in devices
    ]
    a, b = _FROM, _TO
    links = session.execute(
        select(m.Link, a.c.uisp_id, b.c.uisp_id, m.LinkObservation.uisp_last_seen)
        .join(a, a.c.id == m.Link.from_device_id)
        .join(b, b.c.id == m.Link.to_device_id)
        .outerjoin(m.LinkObservation, m.LinkObservation.link_id == m.Link.id)
    )
    recorded_links = [
        rules.RecordedLink(
            id=link.id,
            uisp_id=link.uisp_id,
            from_device_uisp_id=fa,
            to_device_uisp_id=fb,
            status=link.status,
            last_seen=seen,
        )
        for link, fa, fb, seen in links
    ]
    numbered = select(m.Node.network_number).where(m.Node.network_number > 0)
    numbers = {nn for nn in session.scalars(numbered) if nn is not None}
    return recorded_devices, recorded_links, numbers


def apply_plan(
    session: Session, plan: rules.SyncPlan, snapshot: uisp.UispSnapshot, now: datetime
) -> UispOutcome:
    """Apply a plan and the snapshot's observations; the caller's transaction makes it atomic."""
    nodes = {n.network_number: n.id for n in session.scalars(select(m.Node))}
    by_uisp = {
        d.uisp_id: d.id
        for d in session.scalars(select(m.Device).where(m.Device.uisp_id.isnot(None)))
        if d.uisp_id is not None
    }
    devices_kind, sectors_kind, links_kind = KINDS["devices"], KINDS["sectors"], KINDS["links"]
    for new in plan.devices_to_create:
        values: dict[str, Any] = {
            "node": nodes[new.network_number],
            "name": new.name,
            "status": new.status,
            "uisp_id": new.uisp_id,
            "install_date": new.install_date,
            "abandon_date": new.abandon_date,
        }
        if new.is_sector:
            values.update(radius=1.0, azimuth=0, width=beam_width(new.model))
        created = edits.create(
            session, sectors_kind if new.is_sector else devices_kind, values, ACTOR
        )
        by_uisp[new.uisp_id] = created.id
    for change in plan.devices_to_update:
        values = {"name": change.name}
        if change.network_number in nodes and change.network_number != change.old_network_number:
            values["node"] = nodes[change.network_number]
        edits.update(session, devices_kind, change.id, values, ACTOR)
    for back in plan.devices_to_reactivate:
        edits.update(
            session,
            devices_kind,
            back.id,
            {"status": DeviceStatus.ACTIVE, "abandon_date": None},
            ACTOR,
        )
    for gone in plan.devices_to_deactivate:
        values = {"status": DeviceStatus.INACTIVE, "abandon_date": gone.abandon_date}
        device = edits.update(session, devices_kind, gone.id, values, ACTOR)
        write_event(
            session,
            "device.uisp_deactivated",
            "devices",
            str(gone.id),
            {
                "reason": gone.reason,
                "last_seen": gone.last_seen and gone.last_seen.isoformat(),
                "name": device.name,
            },
        )
    for new_link in plan.links_to_create:
        values = {
            "from_device": by_uisp[new_link.from_device_uisp_id],
            "to_device": by_uisp[new_link.to_device_uisp_id],
            "status": new_link.status,
            "type": new_link.type,
            "uisp_id": new_link.uisp_id,
        }
        edits.create(session, links_kind, values, ACTOR)
    for moved in plan.links_to_update:
        values = {
            "uisp_id": moved.uisp_id,
            "from_device": by_uisp[moved.from_device_uisp_id],
            "to_device": by_uisp[moved.to_device_uisp_id],
        }
        edits.update(session, links_kind, moved.id, values, ACTOR)
    for back in plan.links_to_reactivate:
        edits.update(
            session, links_kind, back.id, {"status": LinkStatus.ACTIVE, "abandon_date": None}, ACTOR
        )
    for gone in plan.links_to_deactivate:
        values = {"status": LinkStatus.INACTIVE, "abandon_date": gone.abandon_date}
        edits.update(session, links_kind, gone.id, values, ACTOR)
    _observe(session, snapshot, by_uisp, now)
    return UispOutcome(
        devices=len(snapshot.devices),
        links=len(snapshot.links),
        counts={
            k: v
            for k, v in plan.counts().items()
            if k.endswith(("create", "update", "reactivate", "deactivate"))
        },
        without_node=[f"{r.name} (NN {r.network_number})" for r in plan.devices_without_node],
        without_nn=[r.name or r.uisp_id for r in plan.devices_without_nn],
    )


def _observe(
    session: Session, snapshot: uisp.UispSnapshot, by_uisp: dict[str, uuid.UUID], now: datetime
) -> None:
    """Keep what UISP reports beside the records: status, address, uptime, firmware, model."""
    seen = {d.id: d for d in snapshot.devices if d.id in by_uisp}
    rows = _rows(
        session, m.DeviceObservation, m.DeviceObservation.device_id, [by_uisp[u] for u in seen]
    )
    for uisp_id, device in seen.items():
        device_id = by_uisp[uisp_id]
        row = rows.get(device_id) or m.DeviceObservation(
            device_id=device_id, status="pending", failures=0, successes=0
        )
        session.add(row)
        row.uisp_status = device.status
        row.uisp_at = now
        row.uisp_last_seen = device.last_seen
        row.uisp_address = _address(device.ip_address)
        row.uptime_s = device.uptime_s if device.uptime_s is not None else row.uptime_s
        row.firmware = device.firmware_version or row.firmware
        row.model = device.model or row.model
    links = {
        lk.uisp_id: lk.id
        for lk in session.scalars(select(m.Link).where(m.Link.uisp_id.isnot(None)))
    }
    wanted = {lk.id: lk for lk in snapshot.links if lk.id in links}
    link_rows = _rows(
        session, m.LinkObservation, m.LinkObservation.link_id, [links[u] for u in wanted]
    )
    for uisp_id, link in wanted.items():
        link_id = links[uisp_id]
        row = link_rows.get(link_id) or m.LinkObservation(link_id=link_id, status="pending")
        session.add(row)
        row.uisp_state = link.state
        row.uisp_last_seen = now
    session.flush()
    bump_observed(session)


def _rows(session: Session, model: Any, key: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    ids = list(ids)
    if not ids:
        return {}
    return {
        getattr(r, key.key): r
        for r in session.scalars(select(model).where(key.in_(ids)).with_for_update())
    }


async def sync_uisp(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> UispOutcome:
    """Fetch UISP once (two requests), plan, and apply everything or nothing."""
    if not settings.uisp_url:
        raise CollectorError("uisp", "MESHKEEPER_UISP_URL is not set")
    snapshot = await uisp.collect(
        settings.uisp_url,
        guard=ProbeGuard.from_cidrs(settings.probe_networks),
        token=settings.uisp_token,
        username=settings.uisp_username,
        password=settings.uisp_password,
        aliases=settings.uisp_aliases,
        verify_tls=settings.uisp_verify_tls,
    )
    now = now or datetime.now(UTC)

    def apply() -> UispOutcome:
        with transaction(sessions) as session:
            devices, links, numbers = recorded(session)
            plan = rules.plan_sync(devices, links, snapshot, now, node_numbers=numbers)
            return apply_plan(session, plan, snapshot, now)

    return await asyncio.to_thread(apply)
