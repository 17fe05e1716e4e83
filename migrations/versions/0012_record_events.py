"""An index on the events of record changes, so cached record answers ignore status events.

Revision ID: record_events_1
Revises: pollers_1
"""

from collections.abc import Sequence

from alembic import op

revision: str = "record_events_1"
down_revision: str | None = "pollers_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ipam/models.py's RECORD_EVENTS word for word (a migration keeps its own copy, as it was):
# PostgreSQL uses a partial index only for a query whose condition implies the index's.
PREDICATE = (
    "resource <> 'incidents' "
    "AND (type LIKE '%.created' OR type LIKE '%.updated' OR type LIKE '%.deleted')"
)


def upgrade() -> None:
    """ix_event_record_changes: event ids of record changes only."""
    op.execute(f"CREATE INDEX ix_event_record_changes ON event (id) WHERE {PREDICATE}")


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_event_record_changes", table_name="event")
