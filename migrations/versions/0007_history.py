"""Measurement history: raw samples per device per poll, 5-minute and hourly rollups.

BRIN on time beside a (device_id, time) btree: why, in ipam/observed/history.py.

Revision ID: history_1
Revises: incidents_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "history_1"
down_revision: str | None = "incidents_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The metrics as this revision knows them (a later metric is a later migration).
METRICS = (
    "rtt_min_ms",
    "rtt_avg_ms",
    "rtt_max_ms",
    "packet_loss",
    "uptime_s",
    "signal_dbm",
    "noise_floor_dbm",
    "snr_db",
    "ccq_pct",
    "tx_rate_bps",
    "rx_rate_bps",
    "tx_capacity_bps",
    "rx_capacity_bps",
)


def _rollup(name: str) -> None:
    columns: list[sa.Column] = []
    for metric in METRICS:
        wide = postgresql.DOUBLE_PRECISION() if metric == "uptime_s" else sa.REAL()
        columns += [
            sa.Column(f"{metric}_min", wide),
            sa.Column(f"{metric}_avg", wide),
            sa.Column(f"{metric}_max", wide),
            sa.Column(f"{metric}_n", sa.Integer()),
        ]
    op.create_table(
        name,
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("device_id", "bucket", name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_bucket_brin", name, ["bucket"], postgresql_using="brin")


def upgrade() -> None:
    """Create the sample table, the two rollup tables and the rollup watermarks."""
    op.create_table(
        "device_sample",
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.Column(metric, sa.BigInteger() if metric == "uptime_s" else sa.REAL())
            for metric in METRICS
        ),
    )
    op.create_index("ix_device_sample_device_id_at", "device_sample", ["device_id", "at"])
    op.create_index("ix_device_sample_at_brin", "device_sample", ["at"], postgresql_using="brin")
    _rollup("device_rollup_5m")
    _rollup("device_rollup_1h")
    op.create_table(
        "history_rollup",
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("done_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tier", name=op.f("pk_history_rollup")),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("history_rollup")
    op.drop_table("device_rollup_1h")
    op.drop_table("device_rollup_5m")
    op.drop_table("device_sample")
