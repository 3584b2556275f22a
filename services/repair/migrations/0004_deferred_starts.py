"""repair workflow starts deferred until the window opens (issue 19): a partial index on the
deferred rows of repair_command, so the relay finds those due without reading the others

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_repair_command_deferred",
        "repair_command",
        ["not_before"],
        unique=False,
        postgresql_where=sa.text("state = 'deferred'"),
        sqlite_where=sa.text("state = 'deferred'"),
    )


def downgrade() -> None:
    # Deferred starts become ordinary pending ones (sent with a start delay, as before).
    op.execute("UPDATE repair_command SET state = 'pending' WHERE state = 'deferred'")
    op.drop_index("ix_repair_command_deferred", table_name="repair_command")
