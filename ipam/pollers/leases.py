"""The pollers' table and their leases: heartbeats, who is alive, claiming a share per cycle.

A lease says that one poller polls one target for one collector until a time, an interval
and a half after its claim; the holder renews it each cycle. A claim takes a target only when it is
free: never leased, expired, or held by a poller whose heartbeat went stale (it died). One
statement per claim, row by row under PostgreSQL's own locks (INSERT ... ON CONFLICT DO
UPDATE ... WHERE), so two pollers can never hold the same target: nothing is polled twice
in a cycle, and a dead poller's share is free once its heartbeat is stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.pollers.shares import PollerSpec

# A poller is dead when this many of its heartbeats in a row are missing.
STALE_BEATS = 2.5
# A lease lasts this many intervals from its claim.
LEASE_INTERVALS = 1.5


def stale_before(now: datetime, heartbeat_s: float) -> datetime:
    """Heartbeats older than this are a dead poller's."""
    return now - timedelta(seconds=heartbeat_s * STALE_BEATS)


_CLAIM = text(
    "INSERT INTO poll_lease (collector, device_id, poller, until) "
    "SELECT :collector, id, :me, :until FROM unnest(CAST(:ids AS uuid[])) AS id "
    "ON CONFLICT (collector, device_id) DO UPDATE SET poller = excluded.poller, "
    "until = excluded.until "
    "WHERE poll_lease.poller = excluded.poller OR poll_lease.until <= :now "
    "OR NOT EXISTS (SELECT 1 FROM poller p WHERE p.name = poll_lease.poller "
    "AND p.heartbeat_at > :stale) "
    "RETURNING device_id"
)


def heartbeat(session: Session, spec: PollerSpec, now: datetime) -> None:
    """Say this poller is alive (registering it on its first beat)."""
    stmt = insert(m.Poller).values(
        name=spec.name,
        poller_group=spec.group,
        networks=list(spec.networks),
        started_at=now,
        heartbeat_at=now,
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[m.Poller.name],
            set_={
                "heartbeat_at": now,
                "poller_group": spec.group,
                "networks": list(spec.networks),
            },
        )
    )


def live(session: Session, stale_before: datetime) -> list[PollerSpec]:
    """The pollers whose heartbeat is newer than stale_before, by name."""
    rows = session.scalars(
        select(m.Poller).where(m.Poller.heartbeat_at > stale_before).order_by(m.Poller.name)
    )
    return [PollerSpec(p.name, p.poller_group, tuple(p.networks or ())) for p in rows]


def claim(
    session: Session,
    collector: str,
    me: str,
    device_ids: Sequence[uuid.UUID],
    now: datetime,
    interval_s: float,
    stale_before: datetime,
) -> set[uuid.UUID]:
    """Take (or renew) the leases of these targets that are free; the ones now held."""
    if not device_ids:
        return set()
    params = {
        "collector": collector,
        "me": me,
        "ids": list(device_ids),
        # Half an interval more than a cycle: the holder renews before it lapses, however
        # late its next cycle starts (jitter, a slow read); a dead holder's lease is free
        # sooner anyway, once its heartbeat is stale.
        "until": now + timedelta(seconds=interval_s * LEASE_INTERVALS),
        "now": now,
        "stale": stale_before,
    }
    return {row[0] for row in session.execute(_CLAIM, params)}


def held_by(session: Session, collector: str, me: str, now: datetime) -> set[uuid.UUID]:
    """The targets this poller holds a live lease on."""
    return set(
        session.scalars(
            select(m.PollLease.device_id).where(
                m.PollLease.collector == collector,
                m.PollLease.poller == me,
                m.PollLease.until > now,
            )
        )
    )


def cycle_done(session: Session, me: str, at: datetime, took_s: float, targets: int) -> None:
    """Record the poller's last cycle."""
    poller = session.get(m.Poller, me, with_for_update=True)
    if poller is not None:
        poller.last_cycle_at, poller.last_cycle_s = at, took_s
        poller.last_cycle_targets = targets


def listing(session: Session, now: datetime, stale_before: datetime) -> list[dict[str, Any]]:
    """Every poller with its group, networks, last cycle, liveness and what it holds now."""
    held: dict[str, int] = {
        poller: int(count)
        for poller, count in session.execute(
            select(m.PollLease.poller, func.count())
            .where(m.PollLease.until > now)
            .group_by(m.PollLease.poller)
        )
    }
    return [
        {
            "name": p.name,
            "poller_group": p.poller_group,
            "networks": list(p.networks or ()),
            "alive": p.heartbeat_at > stale_before,
            "started_at": p.started_at,
            "heartbeat_at": p.heartbeat_at,
            "last_cycle_at": p.last_cycle_at,
            "last_cycle_s": p.last_cycle_s,
            "last_cycle_targets": p.last_cycle_targets,
            "holds": int(held.get(p.name, 0)),
        }
        for p in session.scalars(select(m.Poller).order_by(m.Poller.name))
    ]
