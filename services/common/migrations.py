"""Schema migrations with Alembic, one migration history per service (its own version table), run
at start-up by the service itself. Replicas starting together take turns under an advisory lock."""

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import TableClause

ENV_DIR = Path(__file__).parent / "alembic_env"


def alembic_config(service: str, versions: Path, tables: list[Table]) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    cfg.set_main_option("version_locations", str(versions))
    cfg.set_main_option("path_separator", "os")
    metadata = MetaData()
    for t in tables:
        t.to_metadata(metadata)
    cfg.attributes["service"] = service
    cfg.attributes["target_metadata"] = metadata
    return cfg


async def migrate(engine: AsyncEngine, service: str, versions: Path, tables: list[Table]) -> None:
    """Bring this service's tables to the latest revision."""
    cfg = alembic_config(service, versions, tables)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, cfg)


def _upgrade(conn: Connection, cfg: Config) -> None:
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"migrate:{cfg.attributes['service']}".encode()) & 0x7FFFFFFF
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def create_command_table(service: str) -> None:
    """In a revision: `{service}_command`, the command outbox toward Temporal
    (services.common.commands), as it was first made — one schema for every service."""
    import sqlalchemy as sa
    from alembic import op

    name = f"{service}_command"
    op.create_table(
        name,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("workflow", sa.String(length=100), nullable=True),
        sa.Column("start_arg", sa.JSON(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("arg", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(f"ix_{name}_state_seq", name, ["state", "seq"], unique=False)
    op.create_index(f"ix_{name}_next_attempt_at", name, ["next_attempt_at"], unique=False)


def pending_command(purpose: str, ref: str, action: str, workflow_id: str, **fields: object) -> dict:
    """A row of `{service}_command` for a data migration moving what an older table still owed."""
    from datetime import UTC, datetime

    row: dict = dict.fromkeys(("workflow", "start_arg", "not_before", "name", "arg", "next_attempt_at", "last_error"))
    row |= {"purpose": purpose, "ref": ref, "action": action, "workflow_id": workflow_id, "state": "pending"}
    return row | {"attempts": 0, "created_at": datetime.now(UTC)} | fields


def command_table_of(service: str) -> TableClause:
    """The table object for inserting migrated rows (the revision's own schema, not the model's)."""
    import sqlalchemy as sa

    columns = pending_command("", "", "", "")
    return sa.table(f"{service}_command", *(sa.column(c, sa.JSON() if c.endswith("arg") else None) for c in columns))
