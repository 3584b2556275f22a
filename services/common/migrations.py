"""Schema migrations with Alembic, one migration history per service (its own version table), run
at start-up by the service itself. Replicas starting together take turns under an advisory lock."""

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

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
