"""the command outbox toward Temporal (publication_command): pushes whose workflow was not started
get their start command (the dispatcher that looked for them is retired)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations import command_table_of, create_command_table, pending_command

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_command_table("publication")
    pushes = sa.table(
        "publication_push", sa.column("idempotency_key"), sa.column("created_at"), sa.column("started_at")
    )
    waiting = sa.select(pushes.c.idempotency_key).where(pushes.c.started_at.is_(None)).order_by(pushes.c.created_at)
    rows = [
        pending_command(
            "publication.push", r.idempotency_key, "start", f"push:{r.idempotency_key}", workflow="PushWorkflow"
        )
        for r in op.get_bind().execute(waiting)
    ]
    if rows:
        op.bulk_insert(command_table_of("publication"), rows)


def downgrade() -> None:
    op.drop_table("publication_command")
