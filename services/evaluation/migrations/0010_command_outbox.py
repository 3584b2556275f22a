"""the command outbox toward Temporal (evaluation_command): the expert consumers write the signals
of the expert-standing workflows there instead of calling Temporal themselves

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

from alembic import op

from services.common.migrations import create_command_table

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_command_table("evaluation")


def downgrade() -> None:
    op.drop_table("evaluation_command")
