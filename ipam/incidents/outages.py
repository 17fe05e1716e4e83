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

from sqlalchemy import func, or_, select, tuple_, update
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
class Transition:
    """One subject's transition, as the outage bookkeeping needs it."""

    kind: Subject
    subject_id: uuid.UUID
    network_numbers: Sequence[int | None]
    before: S
    after: S


def record_transitions(
    session: Session,
    changes: Sequence[Transition],
    at: datetime,
    flap_transitions: int = DEFAULT_FLAP_TRANSITIONS,
) -> None:
    """Open and close the outages of a batch of transitions; note monitoring and flapping.

    A handful of statements for the whole batch, whatever its size: a hub failing moves
    hundreds of nodes, devices and links in one cycle.
    """
    if not changes:
        return
    keys = {(str(c.kind), c.subject_id) for c in changes}
    watched = {
        (row.kind, row.subject_id): row
        for row in session.scalars(
            select(m.Monitored).where(
                tuple_(m.Monitored.kind, m.Monitored.subject_id).in_(list(keys))
            )
        )
    }
    closing = [c for c in changes if is_out(c.kind, c.before) and not is_out(c.kind, c.after)]
    if closing:
        session.execute(
            update(m.Outage)
            .where(
                tuple_(m.Outage.kind, m.Outage.subject_id).in_(
                    [(str(c.kind), c.subject_id) for c in closing]
                ),
                m.Outage.ended_at.is_(None),
            )
            .values(ended_at=at)
            .execution_options(synchronize_session=False)
        )
    opening = [c for c in changes if is_out(c.kind, c.after) and not is_out(c.kind, c.before)]
    session.add_all(
        m.Outage(
            kind=c.kind,
            subject_id=c.subject_id,
            network_numbers=sorted({nn for nn in c.network_numbers if nn is not None}),
            status=c.after,
            started_at=at,
        )
        for c in opening
    )
    moved: list[Transition] = []
    for change in changes:
        key = (str(change.kind), change.subject_id)
        row = watched.get(key)
        if row is None and change.after not in UNWATCHED:
            row = watched[key] = m.Monitored(kind=key[0], subject_id=change.subject_id, since=at)
            session.add(row)
        if row is not None and (
            is_out(change.kind, change.before) != is_out(change.kind, change.after)
        ):
            row.last_transition = at
            moved.append(change)
    session.flush()
    counts = transitions(session, [(str(c.kind), c.subject_id) for c in moved], at)
    for change in moved:
        row = watched[(str(change.kind), change.subject_id)]
        if row.flapping_since is None and counts.get((str(change.kind), change.subject_id), 0) >= (
            flap_transitions
        ):
            row.flapping_since = at
            write_event(
                session,
                f"{change.kind}.flapping",
                f"{change.kind}s",
                str(change.subject_id),
                {"since": at.isoformat(), "transitions_24h": flap_transitions},
                network_number=next((nn for nn in change.network_numbers if nn is not None), None),
            )


def transitions(
    session: Session, subjects: Sequence[tuple[str, uuid.UUID]], at: datetime
) -> dict[tuple[str, uuid.UUID], int]:
    """Transitions into and out of outages in the 24 hours before `at`, per subject."""
    if not subjects:
        return {}
    start = at - FLAP_WINDOW
    rows = session.execute(
        select(
            m.Outage.kind,
            m.Outage.subject_id,
            func.count().filter(m.Outage.started_at > start),
            func.count().filter(m.Outage.ended_at > start),
        )
        .where(
            tuple_(m.Outage.kind, m.Outage.subject_id).in_(list(subjects)),
            or_(m.Outage.ended_at.is_(None), m.Outage.ended_at > start),
        )
        .group_by(m.Outage.kind, m.Outage.subject_id)
    )
    return {(kind, sid): int(opened) + int(closed) for kind, sid, opened, closed in rows}


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
