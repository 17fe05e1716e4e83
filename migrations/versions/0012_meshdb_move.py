"""Webhook subscriptions get a payload format (meshkeeper or MeshDB's) and custom headers.

Revision ID: meshdb_move_1
Revises: snmp_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "meshdb_move_1"
down_revision: str | None = "snmp_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add webhook.format (existing subscriptions keep meshkeeper's) and webhook.headers."""
    op.add_column(
        "webhook",
        sa.Column("format", sa.String(20), nullable=False, server_default="meshkeeper"),
    )
    op.add_column(
        "webhook",
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_column("webhook", "headers")
    op.drop_column("webhook", "format")
