"""One SNMP cycle: devices that answer (or have not yet failed) ping, polled and kept beside."""

from __future__ import annotations

import asyncio
import dataclasses
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


def radio_json(observation: snmp.SnmpObservation) -> dict[str, Any] | None:
    """The radios as plain JSON for the observation row."""
    if not observation.radios:
        return None
    return {"radios": [dataclasses.asdict(r) for r in observation.radios]}


def apply_snmp(
    session: Session,
    targets: list[Target],
    observations: list[snmp.SnmpObservation],
    now: datetime,
) -> int:
    """Keep uptime, firmware, model and radio data beside each device's record."""
    rows = observations_for(session, (t.device_id for t in targets))
    answered = 0
    for target, seen in zip(targets, observations, strict=True):
        row = rows[target.device_id]
        if not seen.ok:
            row.last_error = f"snmp: {seen.error}"
            continue
        answered += 1
        row.snmp_at = now
        row.uptime_s = None if seen.uptime_s is None else int(seen.uptime_s)
        row.firmware = (seen.firmware or row.firmware or "")[:200] or None
        row.model = (seen.sys_descr or row.model or "")[:200] or None
        row.radio = radio_json(seen)
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
            return apply_snmp(session, targets, observations, now)

    answered = await asyncio.to_thread(apply)
    return SnmpOutcome(devices=len(targets), answered=answered, skipped_down=skipped)
