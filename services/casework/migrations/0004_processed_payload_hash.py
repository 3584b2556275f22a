"""processed events keep the hash of their payload (issue 21: the same id with another payload is
a conflict, not a duplicate)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("casework_processed_event", sa.Column("payload_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("casework_processed_event", "payload_hash")
