"""Pollers sharing targets by lease (issue 16): who polls, their groups, what each holds.

Revision ID: pollers_1
Revises: meshdb_move_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "pollers_1"
down_revision: str | None = "meshdb_move_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The poller and poll_lease tables; a poller group on nodes and devices."""
    op.create_table(
        "poller",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("poller_group", sa.String(100), nullable=True),
        sa.Column("networks", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_cycle_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_cycle_s", sa.Float(), nullable=True),
        sa.Column("last_cycle_targets", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_poller")),
    )
    op.create_table(
        "poll_lease",
        sa.Column("collector", sa.String(30), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("poller", sa.String(200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_poll_lease_device_id_device"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collector", "device_id", name=op.f("pk_poll_lease")),
    )
    op.create_index(op.f("ix_poll_lease_poller"), "poll_lease", ["poller"])
    op.add_column("node", sa.Column("poller_group", sa.String(100), nullable=True))
    op.add_column("device", sa.Column("poller_group", sa.String(100), nullable=True))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("device", "poller_group")
    op.drop_column("node", "poller_group")
    op.drop_index(op.f("ix_poll_lease_poller"), table_name="poll_lease")
    op.drop_table("poll_lease")
    op.drop_table("poller")
