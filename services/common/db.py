"""Database engine and sessions. Each service owns its tables (prefixed by the service name) and
creates only those; in PostgreSQL they share one database, in SQLite each service has its own file."""

from collections.abc import Iterable

import orjson
from sqlalchemy import Table, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel


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
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_timeout=pool_timeout,
        connect_args=connect_args or {},
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
