"""MeshDB's values and billing data (issue 12).

Node placement, address truth sources and payment preferences in MeshDB's spelling; the
install's Stripe subscription id, and install fee billing data (MeshDB's
`meshapi/models/billing.py`: one row per install billed to another organisation); webhook
subscriptions' extra headers.

MeshDB serves node placement lowercase, with the string "None" for unknown (its migration
0013 and its serializer tests); address truth sources are its AddressTruthSource names,
plain (MeshDB itself writes "AddressTruthSource.NYCPlanningLabs"; the prefix is dropped, and
the join form's old "ReportedOnJoinForm" is MeshDB's "HumanEntry"); payment preferences are
its "cash" and "stripe".

Revision ID: meshdb_1
Revises: snmp_1
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "meshdb_1"
down_revision: str | None = "snmp_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Billing columns and table; the stored values rewritten in MeshDB's spelling."""
    op.add_column("install", sa.Column("stripe_subscription_id", sa.String(260), nullable=True))
    op.add_column(
        "webhook",
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_table(
        "install_fee_billing_datum",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("install_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("billing_date", sa.Date(), nullable=True),
        sa.Column("invoice_number", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["install_id"],
            ["install.id"],
            name=op.f("fk_install_fee_billing_datum_install_id_install"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_install_fee_billing_datum")),
        sa.UniqueConstraint("install_id", name=op.f("uq_install_fee_billing_datum_install_id")),
    )
    op.execute(
        "UPDATE node SET placement = CASE WHEN lower(placement) = 'unknown' THEN 'None'"
        " ELSE lower(placement) END WHERE placement <> 'None'"
    )
    op.execute(
        "UPDATE building SET address_truth_sources = ARRAY("
        " SELECT CASE WHEN s = 'ReportedOnJoinForm' THEN 'HumanEntry'"
        " ELSE regexp_replace(s, '^AddressTruthSource\\.', '') END"
        " FROM unnest(address_truth_sources) WITH ORDINALITY AS t(s, n) ORDER BY n)"
        " WHERE address_truth_sources <> '{}'"
    )
    op.execute(
        "UPDATE member SET payment_preference = lower(payment_preference)"
        " WHERE lower(payment_preference) IN ('cash', 'stripe')"
    )


def downgrade() -> None:
    """Billing gone; placement back to its capitalised words ("Unknown" for "None").

    Truth sources and payment preferences stay as they are: the old spellings were free text,
    and the new ones are valid values of it.
    """
    op.execute(
        "UPDATE node SET placement = CASE WHEN placement = 'None' THEN 'Unknown'"
        " ELSE initcap(placement) END"
    )
    op.drop_table("install_fee_billing_datum")
    op.drop_column("install", "stripe_subscription_id")
    op.drop_column("webhook", "headers")
