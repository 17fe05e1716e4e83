"""This daemon's share of the targets: heartbeats, and claiming its share at each cycle.

Several daemons on one database each poll about 1/N of the targets (ipam/pollers/): at each
cycle a sharded collector keeps the targets this poller owns among the live pollers allowed
to poll them, and of those the ones it can lease. The share reaches the collector through a
context variable the scheduler sets around the run, so a collector's signature stays
(sessions, settings) and a run without one (`meshkeeper poll --once`, tests) polls everything.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from ipam.db import transaction
from ipam.pollers import leases
from ipam.pollers.shares import PollerSpec, owner_of
from ipam.settings import Settings

T = TypeVar("T")
# Collectors that shard (per-target work); the others run on one daemon at a time.
SHARDED = frozenset({"icmp", "snmp"})


def poller_name(settings: Settings) -> str:
    """MESHKEEPER_POLLER_NAME, else host:pid and a random tail (unique per process)."""
    return settings.poller_name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Shard:
    """One poller's identity and its leases."""

    spec: PollerSpec
    sessions: sessionmaker[Session]
    heartbeat_s: float
    # A takeover run polls only what it leases anew: a dead poller's targets, at once.
    takeover: bool = False
    # The other pollers alive at the last look, to see one stop beating.
    others: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings, sessions: sessionmaker[Session]) -> Shard:
        """This process as a poller, from MESHKEEPER_POLLER_*."""
        spec = PollerSpec(
            poller_name(settings), settings.poller_group, tuple(settings.poller_networks)
        )
        return cls(spec, sessions, settings.poller_heartbeat_s)

    def stale_before(self, now: datetime) -> datetime:
        """Heartbeats older than this are a dead poller's."""
        return leases.stale_before(now, self.heartbeat_s)

    def beat(self, now: datetime) -> None:
        """Say this poller is alive."""
        with transaction(self.sessions) as session:
            leases.heartbeat(session, self.spec, now)

    def beat_and_count(self, now: datetime) -> frozenset[str]:
        """Say this poller is alive; the pollers that stopped beating since the last call."""
        with transaction(self.sessions) as session:
            leases.heartbeat(session, self.spec, now)
            alive = frozenset(p.name for p in leases.live(session, self.stale_before(now)))
        others = alive - {self.spec.name}
        gone, self.others = self.others - others, others
        return gone

    def take(
        self,
        collector: str,
        targets: Sequence[T],
        describe: Callable[[T], tuple[uuid.UUID, str, str | None, str | None]],
        now: datetime,
        interval_s: float,
    ) -> list[T]:
        """The targets this poller polls this cycle: owned by it, and leased to it now.

        describe(target) gives (device id, shard key, poller group, address).
        """
        stale = self.stale_before(now)
        with transaction(self.sessions) as session:
            leases.heartbeat(session, self.spec, now)
            pollers = leases.live(session, stale)
            mine = []
            for target in targets:
                device_id, key, group, address = describe(target)
                if owner_of(key, group, address, pollers) == self.spec.name:
                    mine.append((device_id, target))
            had = (
                leases.held_by(session, collector, self.spec.name, now) if self.takeover else set()
            )
            held = leases.claim(
                session, collector, self.spec.name, [d for d, _ in mine], now, interval_s, stale
            )
        return [target for device_id, target in mine if device_id in held - had]

    def cycle_done(self, at: datetime, took_s: float, targets: int) -> None:
        """Record this poller's last cycle (GET /api/v1/pollers/ shows it)."""
        with transaction(self.sessions) as session:
            leases.cycle_done(session, self.spec.name, at, took_s, targets)


CURRENT: ContextVar[Shard | None] = ContextVar("meshkeeper_shard", default=None)
