"""device_observation.model and .firmware are UISP's only: drop what SNMP polls left there.

Before this revision the SNMP poll wrote sysDescr into device_observation.model and its
firmware into .firmware, over what UISP had written. SNMP's figures (sysDescr, sysObjectID,
its own model with the MIB object it came from, firmware, serial, licence, interfaces,
radios, LTE) now live in the observed JSON of the same row (device_observation.radio), so
model and firmware hold what UISP reports and nothing else. A row UISP never wrote (uisp_at
is NULL) can only hold SNMP's: those are cleared, and the next SNMP poll fills the SNMP side.
No column changes.

Downgrade puts SNMP's model and firmware back where they are empty, as the old code kept one
of each per device; the sysDescr copies themselves are not worth restoring.

Revision ID: snmp_1
Revises: history_1
"""

from collections.abc import Sequence

from alembic import op

revision: str = "snmp_1"
down_revision: str | None = "history_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Clear the models and firmware no UISP sync wrote."""
    op.execute("UPDATE device_observation SET model = NULL, firmware = NULL WHERE uisp_at IS NULL")


def downgrade() -> None:
    """Give model and firmware back SNMP's where they are empty."""
    for column in ("model", "firmware"):
        op.execute(
            f"UPDATE device_observation SET {column} = left(radio -> 'system' ->> '{column}', 200) "
            f"WHERE {column} IS NULL AND radio -> 'system' ->> '{column}' IS NOT NULL"
        )
