"""append-only audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Who read what is evidence too: the database refuses to rewrite it, as it does the ledger.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION evaluation_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'evaluation_audit is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER evaluation_audit_no_change BEFORE UPDATE OR DELETE ON evaluation_audit "
            "FOR EACH ROW EXECUTE FUNCTION evaluation_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER evaluation_audit_no_truncate BEFORE TRUNCATE ON evaluation_audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION evaluation_audit_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER evaluation_audit_no_{action.lower()} BEFORE {action} ON evaluation_audit "
                f"BEGIN SELECT RAISE(ABORT, 'evaluation_audit is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evaluation_audit_no_change ON evaluation_audit")
        op.execute("DROP TRIGGER IF EXISTS evaluation_audit_no_truncate ON evaluation_audit")
        op.execute("DROP FUNCTION IF EXISTS evaluation_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS evaluation_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS evaluation_audit_no_delete")
