"""subjects' credit commitments for the integrity archive (evaluation_commitment, issue 14)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_commitment",
        sa.Column("commitment_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("project", sa.JSON(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=True),
        sa.Column("finding", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("commitment_id"),
    )
    op.create_index(op.f("ix_evaluation_commitment_subject_key"), "evaluation_commitment", ["subject_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evaluation_commitment_subject_key"), table_name="evaluation_commitment")
    op.drop_table("evaluation_commitment")
