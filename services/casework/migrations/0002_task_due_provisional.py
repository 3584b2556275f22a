"""task due_provisional

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tasks opened before the provisional calendar were all counted on official data.
    op.add_column(
        "casework_task", sa.Column("due_provisional", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("casework_task", "due_provisional")
