"""the command outbox toward Temporal (signals_command): collusion triages to start

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

from alembic import op

from services.common.migrations import create_command_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_command_table("signals")


def downgrade() -> None:
    op.drop_table("signals_command")
