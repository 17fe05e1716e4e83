"""Outages, incidents, monitoring starts, silences and notification channels (issue 15).

Revision ID: incidents_1
Revises: routing_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "incidents_1"
down_revision: str | None = "routing_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "monitored",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("since", _TS, nullable=False),
        sa.Column("flapping_since", _TS, nullable=True),
        sa.Column("last_transition", _TS, nullable=True),
        sa.PrimaryKeyConstraint("kind", "subject_id", name=op.f("pk_monitored")),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("cause_kind", sa.String(length=10), nullable=False),
        sa.Column("cause_id", sa.UUID(), nullable=False),
        sa.Column("cause_label", sa.String(length=200), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=False),
        sa.Column("network_number", sa.Integer(), nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column(
            "affected_node_ids",
            postgresql.ARRAY(sa.UUID()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "affected_nns", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column("peak_nodes", sa.Integer(), nullable=False),
        sa.Column("installs", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("flapping", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    op.create_index("ix_incident_open", "incident", ["ended_at"], unique=False)
    op.create_index("ix_incident_cause", "incident", ["cause_kind", "cause_id"], unique=False)
    op.create_table(
        "outage",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column(
            "network_numbers", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_outage_incident_id_incident"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage")),
    )
    op.create_index(op.f("ix_outage_incident_id"), "outage", ["incident_id"], unique=False)
    op.create_index(
        "ix_outage_subject", "outage", ["kind", "subject_id", "started_at"], unique=False
    )
    op.create_index(
        "ix_outage_network_numbers",
        "outage",
        ["network_numbers"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "uq_outage_open",
        "outage",
        ["kind", "subject_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "silence",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("until", _TS, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created", _TS, server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silence")),
    )
    op.create_index("ix_silence_subject", "silence", ["scope", "subject_id", "until"], unique=False)
    op.create_table(
        "notification_channel",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "event_types",
            postgresql.ARRAY(sa.String(length=60)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "network_numbers", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column("incidents_only", sa.Boolean(), nullable=False),
        sa.Column("min_size", sa.Integer(), nullable=False),
        sa.Column("daily_summary", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("created", _TS, server_default=_now(), nullable=False),
        sa.Column("updated", _TS, server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_channel_name")),
    )
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _TS, server_default=_now(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channel.id"],
            name=op.f("fk_notification_delivery_channel_id_notification_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
    )
    op.create_index(
        op.f("ix_notification_delivery_channel_id"),
        "notification_delivery",
        ["channel_id"],
        unique=False,
    )


def downgrade() -> None:
    """Drop them, dependents first."""
    op.drop_table("notification_delivery")
    op.drop_table("notification_channel")
    op.drop_table("silence")
    op.drop_table("outage")
    op.drop_table("incident")
    op.drop_table("monitored")
