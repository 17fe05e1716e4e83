"""What a cached answer depends on: the latest record change, the latest event, observations.

Every record change writes a `<kind>.created|updated|deleted` event (ipam/records/changes.py),
the daemon writes others (status changes, incidents, outages, routing), and every application
of observations bumps a counter in the same transaction (daemon/observe.py, daemon/snmp_poll.py,
daemon/uisp_sync.py). A record answer follows the first alone: a device going down changes no
record, and dropping every cached record on each status event cost the API a 700 ms stall at
200 req/s (issue 16). Answers that read what the daemon writes follow the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from ipam.models import RECORD_EVENTS

_BUMP = text(
    "INSERT INTO observed_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = observed_version.version + 1"
)
# The three numbers as scalar subqueries, for statements that read them beside other columns.
# ix_event_record_changes has RECORD_EVENTS as its predicate, so the newest record change is one
# index probe however many status events came after it.
RECORDS = f"(SELECT coalesce(max(id), 0) FROM event WHERE {RECORD_EVENTS})"
COLUMNS = (
    f"{RECORDS}, "
    "(SELECT coalesce(max(id), 0) FROM event), "
    "(SELECT coalesce(max(version), 0) FROM observed_version)"
)
_CURRENT = text(f"SELECT {COLUMNS}")


def bump_observed(session: Session) -> None:
    """Say, in the caller's transaction, that observed state changed."""
    session.execute(_BUMP)


class Versions(NamedTuple):
    """Where the database stands: newest record-change event, newest event, observed counter."""

    records: int
    events: int
    observed: int


def from_row(row: Sequence[Any]) -> Versions:
    """The three COLUMNS of a row, as Versions."""
    return Versions(int(row[0]), int(row[1]), int(row[2]))


def current(session: Session) -> Versions:
    """The three versions, in one round trip."""
    return from_row(session.execute(_CURRENT).one())
