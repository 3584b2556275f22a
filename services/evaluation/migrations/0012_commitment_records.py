"""the record of a commitment's determination recorded before the commitment arrived
(evaluation_commitment_record)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_commitment_record",
        sa.Column("commitment_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("commitment_id"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_commitment_record")
