"""Outage rows, opened and closed in the transaction of the transition that causes them.

A node's outage is the time it spends observed down (not visible: a visible node is alive,
only unreachable by ping); a device's or a link's is the time it spends down or visible.
Each subject also remembers when its monitoring began (availability counts no time before)
and whether it flaps: at least `flap_transitions` transitions in 24 hours (NYC Mesh's Slack
bot flags twelve a day), which lasts until it has been quiet for `FLAP_SETTLE`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import ObservedStatus as S
from ipam.enums import Subject
from ipam.records.changes import write_event

FLAP_WINDOW = timedelta(hours=24)
# Quiet this long after its last transition and a flapping subject has settled.
FLAP_SETTLE = timedelta(hours=1)
DEFAULT_FLAP_TRANSITIONS = 12

# Statuses that mean "not being watched": they open no outage and start no monitoring.
UNWATCHED = frozenset({S.PENDING, S.UNKNOWN})


def is_out(kind: Subject, status: S) -> bool:
    """Whether a subject in this observed status is in an outage."""
    if kind == Subject.NODE:
        return status == S.DOWN
    return status in (S.DOWN, S.VISIBLE)


@dataclass(frozen=True)
class Change:
    """What one transition did to a subject's outages and flapping."""

    opened: m.Outage | None
    closed: m.Outage | None
    started_flapping: bool


def record_transition(
    session: Session,
    kind: Subject,
    subject_id: uuid.UUID,
    network_numbers: Sequence[int | None],
    before: S,
    after: S,
    at: datetime,
    flap_transitions: int = DEFAULT_FLAP_TRANSITIONS,
) -> Change:
    """Open or close this subject's outage for one transition; note monitoring and flapping."""
    watch = _monitored(session, kind, subject_id, after, at)
    closed = opened = None
    if is_out(kind, before) and not is_out(kind, after):
        closed = session.scalars(
            select(m.Outage).where(
                m.Outage.kind == kind,
                m.Outage.subject_id == subject_id,
                m.Outage.ended_at.is_(None),
            )
        ).first()
        if closed is not None:
            closed.ended_at = at
    if is_out(kind, after) and not is_out(kind, before):
        nns = sorted({nn for nn in network_numbers if nn is not None})
        opened = m.Outage(
            kind=kind, subject_id=subject_id, network_numbers=nns, status=after, started_at=at
        )
        session.add(opened)
    started = False
    if watch is not None and (opened is not None or closed is not None):
        watch.last_transition = at
        session.flush()
        if watch.flapping_since is None and transitions(session, kind, subject_id, at) >= (
            flap_transitions
        ):
            watch.flapping_since = at
            started = True
            write_event(
                session,
                f"{kind}.flapping",
                f"{kind}s",
                str(subject_id),
                {"since": at.isoformat(), "transitions_24h": flap_transitions},
                network_number=next((nn for nn in network_numbers if nn is not None), None),
            )
    return Change(opened, closed, started)


def _monitored(
    session: Session, kind: Subject, subject_id: uuid.UUID, status: S, at: datetime
) -> m.Monitored | None:
    """The subject's monitoring row, begun at its first watched status."""
    row = session.get(m.Monitored, (str(kind), subject_id))
    if row is None and status not in UNWATCHED:
        row = m.Monitored(kind=str(kind), subject_id=subject_id, since=at)
        session.add(row)
    return row


def transitions(session: Session, kind: Subject, subject_id: uuid.UUID, at: datetime) -> int:
    """Transitions into and out of outages in the 24 hours before `at`."""
    start = at - FLAP_WINDOW
    rows = session.execute(
        select(
            func.count().filter(m.Outage.started_at > start),
            func.count().filter(m.Outage.ended_at > start),
        ).where(
            m.Outage.kind == kind,
            m.Outage.subject_id == subject_id,
            or_(m.Outage.ended_at.is_(None), m.Outage.ended_at > start),
        )
    ).one()
    return int(rows[0]) + int(rows[1])


def settle_flapping(session: Session, at: datetime) -> list[m.Monitored]:
    """Subjects whose flapping has settled (quiet for FLAP_SETTLE): cleared, and returned."""
    rows = list(
        session.scalars(
            select(m.Monitored)
            .where(
                m.Monitored.flapping_since.is_not(None),
                m.Monitored.last_transition <= at - FLAP_SETTLE,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.flapping_since = None
        write_event(
            session,
            f"{row.kind}.flapping_ended",
            f"{row.kind}s",
            str(row.subject_id),
            {"at": at.isoformat()},
        )
    return rows
