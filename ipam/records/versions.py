"""What a cached answer depends on: the latest event id and the observed-state counter.

Every record change writes an event (ipam/records.py) and every application of observations
bumps the counter in the same transaction (daemon/observe.py, daemon/snmp_poll.py,
daemon/uisp_sync.py). An answer computed after reading both is valid while both stand.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_BUMP = text(
    "INSERT INTO observed_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = observed_version.version + 1"
)
# Both numbers as scalar subqueries, for statements that read them beside other columns.
COLUMNS = (
    "(SELECT coalesce(max(id), 0) FROM event), "
    "(SELECT coalesce(max(version), 0) FROM observed_version)"
)
_CURRENT = text(f"SELECT {COLUMNS}")


def bump_observed(session: Session) -> None:
    """Say, in the caller's transaction, that observed state changed."""
    session.execute(_BUMP)


def current(session: Session) -> tuple[int, int]:
    """(latest event id, observed counter), in one round trip."""
    row = session.execute(_CURRENT).one()
    return int(row[0]), int(row[1])
