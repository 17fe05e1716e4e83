"""Silences: a node's, a device's or an incident's changes still recorded, notified to nobody."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import SilenceScope
from ipam.errors import Invalid, NotFound
from ipam.records.changes import write_event


def resolve(session: Session, scope: SilenceScope, reference: str | int) -> tuple[str, int | None]:
    """The stored subject id (and NN) of a silence's reference: an NN, a device id, an incident."""
    if scope == SilenceScope.NODE:
        node = session.scalars(select(m.Node).where(m.Node.network_number == reference)).first()
        if node is None:
            raise NotFound(f"no node with network_number {reference}", field="node")
        return str(node.id), node.network_number
    if scope == SilenceScope.DEVICE:
        try:
            device_id = uuid.UUID(str(reference))
        except ValueError:
            raise Invalid("a device is referenced by its id (a UUID)", field="device") from None
        found = session.execute(
            select(m.Device.__table__.c.id, m.Node.network_number)
            .join(m.Node, m.Node.id == m.Device.__table__.c.node_id)
            .where(m.Device.__table__.c.id == device_id)
        ).first()
        if found is None:
            raise NotFound(f"no device with id {device_id}", field="device")
        return str(device_id), found[1]
    incident = session.get(m.Incident, int(reference))
    if incident is None:
        raise NotFound(f"no incident with id {reference}", field="incident")
    return str(incident.id), incident.network_number


def create(
    session: Session,
    scope: SilenceScope,
    reference: str | int,
    until: datetime,
    reason: str,
    actor: str,
    now: datetime,
) -> m.Silence:
    """Silence a subject until a time in the future; the setter is the caller's token."""
    if until.tzinfo is None:
        raise Invalid("until needs a time zone (e.g. 2026-12-05T08:00:00Z)", field="until")
    if until <= now:
        raise Invalid("until must be in the future", field="until")
    subject_id, nn = resolve(session, scope, reference)
    row = m.Silence(
        scope=scope, subject_id=subject_id, until=until, reason=reason, created_by=actor
    )
    session.add(row)
    session.flush()
    write_event(session, "silence.created", "silences", str(row.id), shape(row), nn)
    return row


def delete(session: Session, silence_id: uuid.UUID, actor: str) -> None:
    """End a silence at once."""
    row = session.get(m.Silence, silence_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no silence with id {silence_id}", field="id")
    write_event(session, "silence.deleted", "silences", str(row.id), {**shape(row), "by": actor})
    session.delete(row)


def shape(row: m.Silence) -> dict[str, Any]:
    """A silence as an answer and as event data."""
    return {
        "id": str(row.id),
        "scope": row.scope,
        "subject_id": row.subject_id,
        "until": row.until.isoformat(),
        "reason": row.reason,
        "created_by": row.created_by,
    }


def silenced(session: Session, subjects: Iterable[tuple[str, str]], at: datetime) -> bool:
    """Whether any of these (scope, subject id) pairs was silenced at `at`."""
    pairs = list(subjects)
    if not pairs:
        return False
    clauses = [(m.Silence.scope == scope) & (m.Silence.subject_id == sid) for scope, sid in pairs]
    found = session.scalar(select(m.Silence.id).where(or_(*clauses), m.Silence.until > at))
    return found is not None
