"""the command outbox toward Temporal (watch_command): the clock starts, stops, re-plans and
interceptions watch_dispatch still owed are moved over in order; watch_dispatch keeps the supplier
checks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 16:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations import command_table_of, create_command_table, pending_command

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kind of watch_dispatch -> (purpose, action, workflow type or signal, workflow id prefix)
KINDS = {
    "start": ("watch.clock_start", "start", "DeadlineClockWorkflow", "clock:"),
    "stop": ("watch.clock_stop", "signal", "stop", "clock:"),
    "replan": ("watch.clock_replan", "signal", "replan", "clock:"),
    "intercept": ("watch.intercept", "start", "InterceptionWorkflow", "interception:"),
}


def upgrade() -> None:
    create_command_table("watch")
    old = sa.table(
        "watch_dispatch",
        sa.column("seq"),
        sa.column("clock_id"),
        sa.column("kind"),
        sa.column("payload", sa.JSON()),
    )
    rows = []
    moved = old.c.kind.in_(list(KINDS))
    for r in op.get_bind().execute(sa.select(old).where(moved).order_by(old.c.seq)):
        purpose, action, name, prefix = KINDS[r.kind]
        fields = {"workflow": name, "start_arg": r.payload} if action == "start" else {"name": name, "arg": r.payload}
        rows.append(pending_command(purpose, r.clock_id, action, f"{prefix}{r.clock_id}", **fields))
    if rows:
        op.bulk_insert(command_table_of("watch"), rows)
    op.execute(sa.delete(old).where(moved))


def downgrade() -> None:
    op.drop_table("watch_command")
