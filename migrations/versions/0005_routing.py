"""The routing table as a witness: routers, adjacencies, subnet states, drift findings.

Revision ID: routing_1
Revises: console_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "routing_1"
down_revision: str | None = "console_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Five tables, and routing columns on node and link observations."""
    op.add_column("node_observation", sa.Column("routing_visible", sa.Boolean(), nullable=True))
    op.add_column("node_observation", sa.Column("routing_since", TZ, nullable=True))
    op.add_column("link_observation", sa.Column("routing_state", sa.String(20), nullable=True))
    op.add_column("link_observation", sa.Column("routing_since", TZ, nullable=True))
    op.create_table(
        "routing_router",
        sa.Column("router_id", pg.INET(), nullable=False),
        sa.Column("network_number", sa.Integer(), nullable=True),
        sa.Column("mapped_by", sa.String(20), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("since", TZ, nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
        sa.PrimaryKeyConstraint("router_id", name=op.f("pk_routing_router")),
    )
    op.create_index(op.f("ix_routing_router_network_number"), "routing_router", ["network_number"])
    op.create_table(
        "routing_adjacency",
        sa.Column("nn_a", sa.Integer(), nullable=False),
        sa.Column("nn_b", sa.Integer(), nullable=False),
        sa.Column("cost_ab", sa.Integer(), nullable=False),
        sa.Column("cost_ba", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("since", TZ, nullable=False),
        sa.PrimaryKeyConstraint("nn_a", "nn_b", name=op.f("pk_routing_adjacency")),
    )
    op.create_table(
        "routing_hop",
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("target", sa.String(24), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "target", name=op.f("pk_routing_hop")),
    )
    op.create_table(
        "subnet_state",
        sa.Column("prefix", pg.CIDR(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("network_number", sa.Integer(), nullable=True),
        sa.Column("announced_by", pg.ARRAY(sa.Integer()), nullable=False),
        sa.Column("routers", pg.ARRAY(sa.String(15)), nullable=False),
        sa.Column("since", TZ, nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_subnet_state")),
    )
    op.create_index(op.f("ix_subnet_state_status"), "subnet_state", ["status"])
    op.create_index(op.f("ix_subnet_state_network_number"), "subnet_state", ["network_number"])
    op.create_table(
        "drift_finding",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("network_number", sa.Integer(), nullable=True),
        sa.Column("data", pg.JSONB(), nullable=False),
        sa.Column("since", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_finding")),
    )
    op.create_index(
        "uq_drift_finding_kind_subject", "drift_finding", ["kind", "subject"], unique=True
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("drift_finding")
    op.drop_table("subnet_state")
    op.drop_table("routing_hop")
    op.drop_table("routing_adjacency")
    op.drop_table("routing_router")
    op.drop_column("link_observation", "routing_since")
    op.drop_column("link_observation", "routing_state")
    op.drop_column("node_observation", "routing_since")
    op.drop_column("node_observation", "routing_visible")
