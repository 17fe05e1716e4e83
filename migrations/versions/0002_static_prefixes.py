"""Seed the static prefixes from ipam/data/nycmesh-static-prefixes.json (the operator edits them).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

prefix = sa.table(
    "prefix",
    sa.column("id", sa.UUID()),
    sa.column("cidr", postgresql.CIDR()),
    sa.column("role", sa.String()),
    sa.column("description", sa.String()),
    sa.column("status", sa.String()),
    sa.column("allocate_prefixlen", sa.Integer()),
)


def upgrade() -> None:
    """Insert the seed once; later edits are the operator's and never overwritten."""
    from ipam.numbering.allocations import seed_rows

    op.bulk_insert(prefix, seed_rows())


def downgrade() -> None:
    """Remove the seeded prefixes that nothing was allocated from."""
    op.execute("DELETE FROM prefix WHERE id NOT IN (SELECT DISTINCT prefix_id FROM ip_allocation)")
