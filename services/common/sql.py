"""Dialect-aware bulk statements the services share (PostgreSQL in production, SQLite on a laptop).

Rows go in as multi-row `INSERT … VALUES (…), (…)` statements: an executemany runs one statement
per row in PostgreSQL (measured: 2,500 executes for 2,500 records), a multi-row insert one per
chunk. Chunks keep under the protocol's 32,767 bind parameters."""

from collections.abc import Iterator, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

MAX_PARAMS = 30_000


def _dialect(conn: AsyncConnection):  # type: ignore[no-untyped-def]
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def _chunks(rows: Sequence[dict]) -> Iterator[Sequence[dict]]:
    if not rows:
        return
    size = max(1, MAX_PARAMS // max(1, len(rows[0])))
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict]) -> None:
    for chunk in _chunks(rows):
        await conn.execute(table.insert().values(list(chunk)))


async def insert_rows_ignoring_conflicts(conn: AsyncConnection, table: Table, rows: Sequence[dict]) -> None:
    for chunk in _chunks(rows):
        await conn.execute(_dialect(conn).insert(table).values(list(chunk)).on_conflict_do_nothing())


async def upsert_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict],
    *,
    key: list[str],
    update: list[str] | None = None,
    only_if_newer: str | None = None,
) -> None:
    """Insert or update on `key`; with `only_if_newer`, an existing row changes only when the new
    value of that column is greater (e.g. a version). Keys must be unique within `rows`."""
    for chunk in _chunks(rows):
        stmt = _dialect(conn).insert(table).values(list(chunk))
        columns = update if update is not None else [c.name for c in table.columns if c.name not in key]
        where = table.c[only_if_newer] < stmt.excluded[only_if_newer] if only_if_newer else None
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in columns}, where=where)
        )
