"""append-only record history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Issue 21 (6): a version of a record, once stored, is evidence; the database refuses to rewrite
    # or remove it, as it does the ledger and the audit (only the owner role, or a superuser, could
    # switch the trigger off: the services' roles own nothing — services/dbsetup.py).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION evaluation_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'evaluation_record_history is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER evaluation_history_no_change BEFORE UPDATE OR DELETE ON evaluation_record_history "
            "FOR EACH ROW EXECUTE FUNCTION evaluation_history_append_only()"
        )
        op.execute(
            "CREATE TRIGGER evaluation_history_no_truncate BEFORE TRUNCATE ON evaluation_record_history "
            "FOR EACH STATEMENT EXECUTE FUNCTION evaluation_history_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER evaluation_history_no_{action.lower()} BEFORE {action} ON evaluation_record_history "
                f"BEGIN SELECT RAISE(ABORT, 'evaluation_record_history is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evaluation_history_no_change ON evaluation_record_history")
        op.execute("DROP TRIGGER IF EXISTS evaluation_history_no_truncate ON evaluation_record_history")
        op.execute("DROP FUNCTION IF EXISTS evaluation_history_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS evaluation_history_no_update")
        op.execute("DROP TRIGGER IF EXISTS evaluation_history_no_delete")
