"""One cycle of each collector: read targets, collect (no database held), apply in one batch."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from collectors import icmp
from collectors.guard import NOT_ALLOWED, ProbeGuard
from daemon import sharding
from daemon.observe import DeviceResult, Outcome, apply_ping_results
from ipam import models as m
from ipam.db import transaction
from ipam.enums import DeviceStatus
from ipam.enums import ObservedStatus as S
from ipam.incidents.store import Watch
from ipam.numbering import addressing
from ipam.observed.rules import Thresholds, classify
from ipam.settings import Settings


@dataclass(frozen=True)
class Target:
    """A device to probe and the address chosen for it."""

    device_id: uuid.UUID
    name: str | None
    address: str | None
    seen_elsewhere: bool
    node_id: uuid.UUID | None = None  # the shard key: one node's devices stay together
    group: str | None = None  # the device's poller group, else its node's


def probe_address(device: m.Device, observation: m.DeviceObservation | None) -> str | None:
    """Management address if set, else UISP's address, else the node's router address."""
    if device.management_address is not None:
        return str(device.management_address)
    if observation is not None and observation.uisp_address is not None:
        return str(observation.uisp_address)
    nn = device.node.network_number
    return None if nn is None else str(addressing.addresses_for(nn).router)


def _seen_elsewhere(row: m.DeviceObservation | None, now: datetime, settings: Settings) -> bool:
    """UISP or SNMP saw the device recently (within two of their cycles)."""
    if row is None:
        return False
    uisp_fresh = row.uisp_at is not None and now - row.uisp_at <= timedelta(
        seconds=2 * settings.uisp_interval_s
    )
    snmp_fresh = row.snmp_at is not None and now - row.snmp_at <= timedelta(
        seconds=2 * settings.snmp_interval_s
    )
    return (uisp_fresh and (row.uisp_status or "").lower() == "active") or (
        snmp_fresh and row.uptime_s is not None
    )


def icmp_targets(session: Session, now: datetime, settings: Settings) -> list[Target]:
    """Every recorded Active device, with the address it will be probed at."""
    rows = session.execute(
        select(m.Device, m.DeviceObservation)
        .outerjoin(m.DeviceObservation, m.DeviceObservation.device_id == m.Device.id)
        .where(m.Device.status == DeviceStatus.ACTIVE)
        .options(joinedload(m.Device.node))
        .order_by(m.Device.id)
    ).unique()
    return [
        Target(
            device.id,
            device.name,
            probe_address(device, obs),
            _seen_elsewhere(obs, now, settings),
            device.node_id,
            device.poller_group or device.node.poller_group,
        )
        for device, obs in rows
    ]


def _shard_terms(target: Target) -> tuple[uuid.UUID, str, str | None, str | None]:
    return target.device_id, str(target.node_id), target.group, target.address


async def my_share(
    collector: str, targets: list[Target], now: datetime, interval_s: float
) -> list[Target]:
    """This daemon's leased share when it is one of several (daemon/sharding.py), else all."""
    shard = sharding.CURRENT.get()
    if shard is None:
        return targets
    return await asyncio.to_thread(shard.take, collector, targets, _shard_terms, now, interval_s)


def _verdict(target: Target, observation: icmp.PingObservation | None) -> DeviceResult:
    if target.address is None or observation is None:
        return DeviceResult(target.device_id, S.UNKNOWN, error="no address to probe")
    if observation.error == NOT_ALLOWED:
        return DeviceResult(target.device_id, S.UNKNOWN, target.address, error=NOT_ALLOWED)
    status = classify(
        answered=observation.received > 0,
        duplicates=observation.duplicates,
        seen_elsewhere=target.seen_elsewhere,
        monitored=True,
    )
    return DeviceResult(
        target.device_id,
        status,
        target.address,
        observation.rtt_min_ms,
        observation.rtt_avg_ms,
        observation.rtt_max_ms,
        observation.loss,
        observation.duplicates,
        observation.error,
    )


async def poll_icmp(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> Outcome:
    """Ping every monitored device once and apply the verdicts in one transaction."""
    now = now or datetime.now(UTC)

    def read() -> list[Target]:
        with transaction(sessions) as session:
            return icmp_targets(session, now, settings)

    # Database work runs in a thread: the event loop stays free for the probes and the API.
    targets = await asyncio.to_thread(read)
    targets = await my_share("icmp", targets, now, settings.icmp_interval_s)
    probed = [t for t in targets if t.address is not None]
    observations = await icmp.collect(
        [t.address for t in probed if t.address is not None],
        guard=ProbeGuard.from_cidrs(settings.probe_networks),
        count=settings.icmp_count,
        timeout=settings.icmp_timeout_s,
        rate=settings.icmp_rate or None,
    )
    # collect() answers one observation per target, in the order given.
    seen = {t.device_id: o for t, o in zip(probed, observations, strict=True)}
    results = [_verdict(t, seen.get(t.device_id)) for t in targets]
    limits = Thresholds(down_after=settings.down_after, up_after=settings.up_after)
    watch = Watch(frozenset(settings.exit_types), settings.flap_transitions)

    def apply() -> Outcome:
        with transaction(sessions) as session:
            return apply_ping_results(
                session, results, now, limits, watch, history=settings.history_enabled
            )

    return await asyncio.to_thread(apply)
