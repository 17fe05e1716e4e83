"""Reading the event outbox: the event shape, cursor reads and type filters.

Event ids are a cursor: `write_event` takes one advisory lock per transaction, so an id
only becomes visible once every smaller id has committed (or rolled back). A reader that
has seen id N can therefore ask for "after N" and never miss an event that commits late.

Type filters: a pattern matches a type that equals it, or that starts with it as a whole
dotted segment: "device." and "device" both match "device.status_changed", "device"
matches "device" itself, and neither matches "devices.x".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, text, true
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.records.changes import jsonable

# A type or a prefix of one: dotted words, optionally ending with a dot ("node.", "node").
TYPE_PATTERN = r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\.?$"
TYPE_MAX_LENGTH = 60
_TYPE_RE = re.compile(TYPE_PATTERN)

Patterns = str | Sequence[str] | None


def valid_pattern(pattern: str) -> bool:
    """Whether a string is a well-formed event type or type prefix."""
    return len(pattern) <= TYPE_MAX_LENGTH and bool(_TYPE_RE.match(pattern))


def _prefix(pattern: str) -> str:
    return pattern if pattern.endswith(".") else pattern + "."


def _as_list(patterns: Patterns) -> list[str]:
    if patterns is None:
        return []
    if isinstance(patterns, str):
        return [patterns] if patterns else []
    return [p for p in patterns if p]


def matches(event_type: str, patterns: Patterns) -> bool:
    """Whether a type passes a filter (no patterns: everything passes)."""
    wanted = _as_list(patterns)
    if not wanted:
        return True
    return any(event_type == p or event_type.startswith(_prefix(p)) for p in wanted)


def type_clause(patterns: Patterns) -> ColumnElement[bool]:
    """The SQL form of `matches` over event.type."""
    wanted = _as_list(patterns)
    if not wanted:
        return true()
    clauses = []
    for p in wanted:
        clauses.append(m.Event.type == p)
        # starts_with, not LIKE: "_" in "status_changed" is a LIKE wildcard.
        clauses.append(func.starts_with(m.Event.type, _prefix(p)))
    return or_(false(), *clauses)


def to_dict(event: m.Event) -> dict[str, Any]:
    """An event as clients see it; subject.network_number only where the subject has one.

    data is {"before", "after"} for record changes and {"from", "to"} for status changes,
    as the writer stored it.
    """
    subject: dict[str, Any] = {"resource": event.resource, "id": event.subject_id}
    if event.network_number is not None:
        subject["network_number"] = event.network_number
    return {
        "id": event.id,
        "type": event.type,
        "time": jsonable(event.time),
        "subject": subject,
        "data": event.data,
    }


def events_after(
    session: Session, cursor: int, type_prefix: Patterns = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Up to `limit` events with id > cursor whose type matches, oldest first, as dicts."""
    stmt = (
        select(m.Event)
        .where(m.Event.id > cursor, type_clause(type_prefix))
        .order_by(m.Event.id)
        .limit(limit)
    )
    return [to_dict(e) for e in session.scalars(stmt)]


def latest_id(session: Session) -> int:
    """The largest visible event id (0 for an empty outbox)."""
    return session.scalar(select(func.coalesce(func.max(m.Event.id), 0))) or 0


def backlog(session: Session, cursor: int, patterns: Patterns = None) -> int:
    """How many events after `cursor` match the patterns."""
    stmt = select(func.count()).where(m.Event.id > cursor, type_clause(patterns))
    return session.scalar(stmt) or 0


# The same matching rule as `matches`, per webhook row, so one query serves every webhook.
_BACKLOGS = text(
    """
    SELECT w.id, (
        SELECT count(*) FROM event e
        WHERE e.id > w.cursor
          AND (cardinality(w.event_types) = 0 OR EXISTS (
                SELECT 1 FROM unnest(w.event_types) AS p(t)
                WHERE e.type = p.t
                   OR starts_with(e.type, CASE WHEN right(p.t, 1) = '.' THEN p.t
                                               ELSE p.t || '.' END)))
    ) AS backlog
    FROM webhook w
    """
)


def backlogs(session: Session, ids: Sequence[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """Each webhook's backlog (events after its cursor that match), in one query."""
    stmt = _BACKLOGS
    params: dict[str, Any] = {}
    if ids is not None:
        if not ids:
            return {}
        stmt = text(_BACKLOGS.text + " WHERE w.id = ANY(:ids)")
        params["ids"] = list(ids)
    return {row.id: int(row.backlog) for row in session.execute(stmt, params)}
