"""device_observation.model is UISP's model only: drop the sysDescr copies SNMP polls left there.

Before this revision the SNMP poll wrote sysDescr into device_observation.model, over what
UISP had written. SNMP's figures (sysDescr, sysObjectID, its own model with the MIB object it
came from, serial, licence, interfaces, radios, LTE) now live in the observed JSON of the
same row (device_observation.radio), so model holds what UISP reports and nothing else. A
row UISP never wrote (uisp_at is NULL) can only hold such a copy: it is cleared, and the next
SNMP poll fills the SNMP side. No column changes.

Downgrade puts SNMP's model back into model where that is empty, as the old code kept one
model per device; the sysDescr copies themselves are not worth restoring.

Revision ID: snmp_1
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "snmp_1"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Clear the models no UISP sync wrote."""
    op.execute("UPDATE device_observation SET model = NULL WHERE uisp_at IS NULL")


def downgrade() -> None:
    """Give model back SNMP's model where it is empty."""
    op.execute(
        "UPDATE device_observation SET model = left(radio -> 'system' ->> 'model', 200) "
        "WHERE model IS NULL AND radio -> 'system' ->> 'model' IS NOT NULL"
    )
