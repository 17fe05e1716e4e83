"""The observed-state version counter (one row), for caches of answers that show observations.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table and its one row."""
    op.create_table(
        "observed_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observed_version")),
    )
    op.execute("INSERT INTO observed_version (id, version) VALUES (1, 0)")


def downgrade() -> None:
    """Drop it."""
    op.drop_table("observed_version")
