"""the command outbox toward Temporal (repair_command) replaces repair_dispatch; what it still owed
is moved over in order

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations import command_table_of, create_command_table, pending_command

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kind of repair_dispatch -> (purpose, action, signal) in repair_command (services/repair/commands.py)
KINDS = {
    "start": ("repair.start", "start", None),
    "record_changed": ("repair.record_changed", "start", "record_changed"),
    "apply": ("repair.apply", "signal", "apply"),
}


def upgrade() -> None:
    create_command_table("repair")
    old = sa.table(
        "repair_dispatch",
        sa.column("seq"),
        sa.column("record_id"),
        sa.column("kind"),
        sa.column("payload", sa.JSON()),
    )
    rows = []
    for r in op.get_bind().execute(sa.select(old).order_by(old.c.seq)):
        purpose, action, name = KINDS[r.kind]
        payload = {"start_arg": r.payload} if r.kind == "start" else {"name": name, "arg": r.payload}
        workflow = {"workflow": "RecordRepairWorkflow"} if action == "start" else {}
        rows.append(pending_command(purpose, r.record_id, action, f"repair:{r.record_id}", **payload, **workflow))
    if rows:
        op.bulk_insert(command_table_of("repair"), rows)
    op.drop_table("repair_dispatch")


def downgrade() -> None:
    op.create_table(
        "repair_dispatch",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.drop_table("repair_command")
