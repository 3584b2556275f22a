"""console forms kept for post/redirect/get in the database (any replica shows them)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "casework_console_form"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("officer", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.create_index(op.f("ix_casework_console_form_expires_at"), TABLE, ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_casework_console_form_expires_at"), table_name=TABLE)
    op.drop_table(TABLE)
