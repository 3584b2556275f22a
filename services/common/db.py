"""Database engine and sessions. Each service owns its tables (prefixed by the service name) and
creates only those; in PostgreSQL they share one database, in SQLite each service has its own file."""

from collections.abc import Iterable

import orjson
from sqlalchemy import Table, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel

# Every statement is planned for its own parameters. asyncpg prepares each statement, and after five
# executions PostgreSQL may keep one generic plan for it, costed on the table as it was then; no
# ANALYZE had run yet when a burst grew the tables from hundreds of rows to 20,000, so key lookups
# (`record_id = ANY($1)`) kept sequential-scan plans made on the small tables: 0.4-2 s a batch,
# the whole database at a core during the paced run (bench/README.md "Issue 19: plans that a burst
# spoils"). Planning a statement costs tens of microseconds.
SERVER_SETTINGS: dict[str, str] = {"plan_cache_mode": "force_custom_plan"}


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
    connect_args: dict | None = None,
) -> AsyncEngine:
    """`connect_args`: asyncpg's, e.g. `ssl` (Settings.database_connect_args)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # WAL lets the HTTP readers run beside the intake writer.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pre-ping: it is a round trip on every checkout of the hot read path; a dead connection
    # fails its statement and the pool replaces it.
    args = dict(connect_args or {})
    args["server_settings"] = {**SERVER_SETTINGS, **args.get("server_settings", {})}
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_timeout=pool_timeout,
        connect_args=args,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
    )


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


async def create_tables(engine: AsyncEngine, tables: Iterable[Table]) -> None:
    """Create tables straight from the models: for tests on throwaway databases. Services migrate
    with Alembic at start (services.common.migrations)."""
    tables = list(tables)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=tables))
