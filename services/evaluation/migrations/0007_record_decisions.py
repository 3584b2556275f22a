"""record decisions: recorder, objection and resolution of records; outcome of determinations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation_record") as batch:
        batch.add_column(sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column("appeal", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.JSON(), nullable=True))
    with op.batch_alter_table("evaluation_determination_task") as batch:
        batch.add_column(sa.Column("decision", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluation_determination_task") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("record_id")
        batch.drop_column("decision")
    with op.batch_alter_table("evaluation_record") as batch:
        batch.drop_column("resolution")
        batch.drop_column("appeal")
        batch.drop_column("recorded_by")
