"""MeshDB's values (issue 12): node placement, address truth sources, payment preference.

MeshDB serves node placement lowercase, with the string "None" for unknown (its migration
0013 and its serializer tests); address truth sources are its AddressTruthSource names,
plain (MeshDB itself writes "AddressTruthSource.NYCPlanningLabs"; the prefix is dropped, and
the join form's old "ReportedOnJoinForm" is MeshDB's "HumanEntry"); payment preferences are
its "cash" and "stripe".

Revision ID: meshdb_1
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "meshdb_1"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rewrite the stored values in MeshDB's spelling."""
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
    """Placement back to its capitalised words ("Unknown" for "None").

    Truth sources and payment preferences stay as they are: the old spellings were free text,
    and the new ones are valid values of it.
    """
    op.execute(
        "UPDATE node SET placement = CASE WHEN placement = 'None' THEN 'Unknown'"
        " ELSE initcap(placement) END"
    )
