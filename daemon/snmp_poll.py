"""One SNMP cycle: devices that answer (or have not yet failed) ping, polled and kept beside."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from collectors import snmp
from collectors.guard import ProbeGuard
from daemon.observe import observations_for
from daemon.polling import Target, icmp_targets, my_share
from ipam import models as m
from ipam.db import transaction
from ipam.enums import ObservedStatus as S
from ipam.observed.history import record_snmp
from ipam.observed.snmp_counters import with_rates
from ipam.records.changes import write_event
from ipam.records.versions import bump_observed
from ipam.settings import Settings


@dataclasses.dataclass
class SnmpOutcome:
    """How one SNMP cycle went."""

    devices: int = 0
    answered: int = 0
    skipped_down: int = 0

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"{self.devices} devices polled, {self.answered} answered, "
            f"{self.skipped_down} skipped (down on ping)"
        )


def snmp_targets(session: Session, now: datetime, settings: Settings) -> tuple[list[Target], int]:
    """Monitored devices with an address, except those ping last found down."""
    targets = [t for t in icmp_targets(session, now, settings) if t.address is not None]
    down = set(
        session.scalars(
            select(m.DeviceObservation.device_id).where(m.DeviceObservation.status == S.DOWN)
        )
    )
    # A device that failed ICMP is not asked: its timeouts would only slow the cycle.
    return [t for t in targets if t.device_id not in down], len(
        [t for t in targets if t.device_id in down]
    )


def snmp_json(
    observation: snmp.SnmpObservation, before: dict[str, Any] | None, seconds: float | None
) -> dict[str, Any]:
    """What SNMP read, as plain JSON for the observation row: system, interfaces, radios, LTE.

    Interface rows carry in_bps/out_bps since the previous poll (None after a restart).
    """
    previous = before or {}
    system = {
        "sys_descr": observation.sys_descr,
        "sys_object_id": observation.sys_object_id,
        "sys_name": observation.sys_name,
        "model": observation.model,
        "model_source": observation.model_source,
        "serial": observation.serial,
        "licence": observation.licence,
        "firmware": observation.firmware,
        "uptime_source": observation.uptime_source,
    }
    interfaces = [dataclasses.asdict(i) for i in observation.interfaces]
    return {
        "system": system,
        "interfaces": with_rates(previous.get("interfaces") or [], interfaces, seconds),
        "radios": [dataclasses.asdict(r) for r in observation.radios],
        "lte": [dataclasses.asdict(modem) for modem in observation.lte],
    }


def _since_last(
    row: m.DeviceObservation, seen: snmp.SnmpObservation, now: datetime
) -> float | None:
    """Seconds since the previous SNMP poll, or None when the device restarted in between."""
    if row.snmp_at is None:
        return None
    seconds = (now - row.snmp_at).total_seconds()
    # A device up for less time than has passed restarted and counted again from 0.
    if seen.uptime_s is not None and seen.uptime_s < seconds:
        return None
    return seconds


def _model_changes(session: Session, changes: list[tuple[uuid.UUID, str | None, str, str]]) -> None:
    """One device.model_changed event per device whose SNMP model is not what it was."""
    if not changes:
        return
    table = m.Device.__table__
    rows = session.execute(
        select(table.c.id, m.Node.network_number)
        .join(m.Node, m.Node.id == table.c.node_id)
        .where(table.c.id.in_([device_id for device_id, *_ in changes]))
    )
    numbers: dict[uuid.UUID, int | None] = {device_id: nn for device_id, nn in rows}
    for device_id, name, before, after in changes:
        write_event(
            session,
            "device.model_changed",
            "devices",
            str(device_id),
            {"from": before, "to": after, "source": "snmp", "name": name},
            network_number=numbers.get(device_id),
        )


def apply_snmp(
    session: Session,
    targets: list[Target],
    observations: list[snmp.SnmpObservation],
    now: datetime,
    history: bool = True,
) -> int:
    """Keep uptime and what SNMP read beside each device's record.

    The model and firmware SNMP reads are kept in their own place (the snmp block, the model
    with the MIB object it came from), never over what UISP reported; a device whose SNMP
    model changes (hardware swapped behind the same address) gets a device.model_changed event.
    """
    rows = observations_for(session, (t.device_id for t in targets))
    answered = 0
    changes: list[tuple[uuid.UUID, str | None, str, str]] = []
    for target, seen in zip(targets, observations, strict=True):
        row = rows[target.device_id]
        if not seen.ok:
            row.last_error = f"snmp: {seen.error}"
            continue
        answered += 1
        before = row.radio or {}
        block = snmp_json(seen, before, _since_last(row, seen, now))
        was = (before.get("system") or {}).get("model")
        if was and seen.model and was != seen.model:
            changes.append((target.device_id, target.name, was, seen.model))
        row.snmp_at = now
        row.uptime_s = None if seen.uptime_s is None else int(seen.uptime_s)
        row.radio = block
    _model_changes(session, changes)
    if history:
        record_snmp(session, rows.values(), now)
    session.flush()
    bump_observed(session)
    return answered


async def poll_snmp(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> SnmpOutcome:
    """Poll every eligible device once; apply in one transaction."""
    now = now or datetime.now(UTC)

    def read() -> tuple[list[Target], int]:
        with transaction(sessions) as session:
            return snmp_targets(session, now, settings)

    targets, skipped = await asyncio.to_thread(read)
    targets = await my_share("snmp", targets, now, settings.snmp_interval_s)
    observations = await snmp.collect(
        [
            snmp.SnmpTarget(
                t.address or "", port=settings.snmp_port, community=settings.snmp_community
            )
            for t in targets
        ],
        guard=ProbeGuard.from_cidrs(settings.probe_networks),
        timeout=settings.snmp_timeout_s,
        retries=settings.snmp_retries,
        concurrency=settings.snmp_concurrency,
    )

    def apply() -> int:
        with transaction(sessions) as session:
            return apply_snmp(session, targets, observations, now, settings.history_enabled)

    answered = await asyncio.to_thread(apply)
    return SnmpOutcome(devices=len(targets), answered=answered, skipped_down=skipped)
