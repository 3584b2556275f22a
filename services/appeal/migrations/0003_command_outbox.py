"""the command outbox toward Temporal (appeal_command): appeals filed and not started yet get their
start command (the starter that looked for them is retired)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations import command_table_of, create_command_table, pending_command

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_command_table("appeal")
    appeals = sa.table(
        "appeal_appeal", sa.column("id"), sa.column("state"), sa.column("filed_at"), sa.column("workflow_started_at")
    )
    waiting = sa.select(appeals.c.id).where(appeals.c.workflow_started_at.is_(None), appeals.c.state == "filed")
    rows = [
        pending_command("appeal.review", r.id, "start", f"appeal:{r.id}", workflow="AppealReviewWorkflow")
        for r in op.get_bind().execute(waiting.order_by(appeals.c.filed_at))
    ]
    if rows:
        op.bulk_insert(command_table_of("appeal"), rows)


def downgrade() -> None:
    op.drop_table("appeal_command")
