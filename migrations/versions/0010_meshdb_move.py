"""Webhook subscriptions get a payload format (meshkeeper or MeshDB's); meshdb_1 added headers.

Revision ID: meshdb_move_1
Revises: meshdb_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "meshdb_move_1"
down_revision: str | None = "meshdb_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add webhook.format (existing subscriptions keep meshkeeper's)."""
    op.add_column(
        "webhook",
        sa.Column("format", sa.String(20), nullable=False, server_default="meshkeeper"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_column("webhook", "format")
