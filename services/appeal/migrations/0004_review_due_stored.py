"""the review's due date is stored on the appeal (review_due_on, review_working_days,
review_due_provisional), so a holiday arrangement installed later re-plans it never earlier and
announces it; NULL for appeals filed before (their date is counted on read, as it was)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("appeal_appeal", sa.Column("review_due_on", sa.Date(), nullable=True))
    op.add_column("appeal_appeal", sa.Column("review_working_days", sa.Integer(), nullable=True))
    op.add_column("appeal_appeal", sa.Column("review_due_provisional", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("appeal_appeal", "review_due_provisional")
    op.drop_column("appeal_appeal", "review_working_days")
    op.drop_column("appeal_appeal", "review_due_on")
