"""the command outbox toward Temporal (casework_command): requests whose workflow was not started
and decisions not yet signalled get their commands (the delivery loop that looked for them is
retired)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations import command_table_of, create_command_table, pending_command

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_command_table("casework")
    conn = op.get_bind()
    requests = sa.table(
        "casework_determination_request",
        sa.column("request_id"),
        sa.column("workflow_input", sa.JSON()),
        sa.column("received_at"),
        sa.column("started_at"),
    )
    tasks = sa.table(
        "casework_task",
        sa.column("id"),
        sa.column("workflow_id"),
        sa.column("decision", sa.JSON()),
        sa.column("completed_at"),
        sa.column("signal_pending"),
    )
    rows = [
        pending_command(
            "casework.determination",
            r.request_id,
            "start",
            f"determination:{r.request_id}",
            workflow="DeterminationWorkflow",
            start_arg=r.workflow_input,
        )
        for r in conn.execute(
            sa.select(requests).where(requests.c.started_at.is_(None)).order_by(requests.c.received_at)
        )
    ]
    rows += [
        pending_command("casework.decide", t.id, "signal", t.workflow_id, name="decide", arg=t.decision)
        for t in conn.execute(sa.select(tasks).where(tasks.c.signal_pending.is_(True)).order_by(tasks.c.completed_at))
    ]
    if rows:
        op.bulk_insert(command_table_of("casework"), rows)


def downgrade() -> None:
    op.drop_table("casework_command")
