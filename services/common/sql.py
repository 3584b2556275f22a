"""Bulk statements the services share (PostgreSQL in production, SQLite on a laptop).

In PostgreSQL, rows go in as one `INSERT … SELECT * FROM unnest($1::text[], …)` per chunk on the
asyncpg connection of the caller's transaction: the statement text is the same for every batch
(prepared once), and PostgreSQL runs one statement, not one per row. An executemany was measured
here at 2,500 executes for 2,500 records; SQLAlchemy's multi-row VALUES at a new compile and parse
per batch size. SQLite takes the executemany."""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import asyncpg
import orjson
from sqlalchemy import ARRAY, JSON, Column, ColumnElement, Table, any_, bindparam, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

MAX_ROWS = 5_000
_PG = postgresql.dialect()


def _array_type(column: Column[Any]) -> str:
    compiled = column.type.compile(dialect=_PG)
    base = compiled.split("(", 1)[0].strip()
    return {"VARCHAR": "text", "TIMESTAMP WITH TIME ZONE": "timestamptz"}.get(base, base.lower())


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, default=_default).decode()


def _default(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@lru_cache(maxsize=256)
def _plan(table: Table, columns: tuple[str, ...], conflict: tuple | None) -> tuple[str, list[Callable]]:
    cols = [table.c[name] for name in columns]
    args = ", ".join(f"${i + 1}::{_array_type(c)}[]" for i, c in enumerate(cols))
    names = ", ".join(f'"{c.name}"' for c in cols)
    sql = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({args})'
    if conflict is not None:
        key, update, only_if_newer = conflict
        if update:
            sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update)
            sql += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
            if only_if_newer:
                sql += f' WHERE "{table.name}"."{only_if_newer}" < EXCLUDED."{only_if_newer}"'
        else:
            sql += f" ON CONFLICT ({', '.join(key)}) DO NOTHING"
    converters = [_json_text if isinstance(c.type, JSON) else (lambda v: v) for c in cols]
    return sql, converters


async def _driver_in_transaction(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `conn`, inside the caller's transaction. That transaction
    begins lazily with its first statement: begin it first, so what is done on the driver commits
    or rolls back with everything else the caller does. On an AUTOCOMMIT connection (a relay's
    single statements) there is no transaction to begin."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    autocommit = conn.sync_connection is not None and (
        conn.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    )
    if not driver.is_in_transaction() and not autocommit:
        await conn.execute(text("SELECT 1"))
    return driver


async def _pg_unnest(conn: AsyncConnection, table: Table, rows: Sequence[dict], conflict: tuple | None) -> None:
    columns = tuple(rows[0])
    sql, converters = _plan(table, columns, conflict)
    driver = await _driver_in_transaction(conn)
    for i in range(0, len(rows), MAX_ROWS):
        chunk = rows[i : i + MAX_ROWS]
        arrays = [[convert(r[name]) for r in chunk] for name, convert in zip(columns, converters, strict=True)]
        await driver.execute(sql, *arrays)


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        await _pg_unnest(conn, table, rows, None)
    else:
        await conn.execute(table.insert(), list(rows))


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
    if not rows:
        return
    columns = update if update is not None else [c for c in rows[0] if c not in key]
    if conn.dialect.name == "postgresql":
        await _pg_unnest(conn, table, rows, (tuple(key), tuple(columns), only_if_newer))
        return
    stmt = sqlite.insert(table)
    where = table.c[only_if_newer] < stmt.excluded[only_if_newer] if only_if_newer else None
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in columns}, where=where),
        list(rows),
    )


def key_in(conn: AsyncConnection, column: ColumnElement[Any], keys: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN keys` that stays an index lookup as tables grow: in PostgreSQL one array
    parameter (`= ANY($1)`), whose plan does not depend on how many keys a batch has, instead of
    an IN list of hundreds of literals (seen choosing sequential scans here: 100 ms a batch)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))
    return column.in_(list(keys))


def pairs_in(
    conn: AsyncConnection, columns: tuple[ColumnElement[Any], ColumnElement[Any]], pairs: Sequence[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """`(a, b) IN pairs` that stays a primary-key lookup: in PostgreSQL the pairs are two array
    parameters unnested side by side. Written as an IN list of row values, the planner read every
    row of the leading column's value (`subject_type = 'supplier'`: all of them) and tested each
    against hundreds of ORs: 300-470 ms a batch for the statistics consumer after a burst."""
    a, b = columns
    if conn.dialect.name == "postgresql":
        keys = select(
            func.unnest(bindparam(None, [p[0] for p in pairs], type_=ARRAY(a.type))),
            func.unnest(bindparam(None, [p[1] for p in pairs], type_=ARRAY(b.type))),
        )
        return tuple_(a, b).in_(keys)
    return tuple_(a, b).in_(list(pairs))


async def existing_pairs(
    conn: AsyncConnection, table: Table, columns: tuple[str, str], pairs: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (a, b) pairs exist in `table`, by its primary key, one statement for the batch."""
    if not pairs:
        return set()
    a, b = columns
    if conn.dialect.name == "postgresql":
        driver = await _driver_in_transaction(conn)
        rows = await driver.fetch(
            f"SELECT k.a, k.b FROM unnest($1::text[], $2::text[]) AS k(a, b) WHERE EXISTS "
            f'(SELECT 1 FROM "{table.name}" t WHERE t."{a}" = k.a AND t."{b}" = k.b)',
            [p[0] for p in pairs],
            [p[1] for p in pairs],
        )
        return {(r["a"], r["b"]) for r in rows}
    wanted = set(pairs)
    result = await conn.execute(
        select(table.c[a], table.c[b]).where(
            table.c[a].in_({p[0] for p in pairs}), table.c[b].in_({p[1] for p in pairs})
        )
    )
    return {(r[0], r[1]) for r in result if (r[0], r[1]) in wanted}


async def lock_keys(conn: AsyncConnection, keys: Sequence[str]) -> None:
    """Serialise writers per business key until the end of the transaction (PostgreSQL advisory
    locks, taken in sorted order so two batches cannot deadlock on each other). Covers keys that
    have no row yet, which SELECT … FOR UPDATE cannot; SQLite has one writer anyway."""
    if not keys or conn.dialect.name != "postgresql":
        return
    await conn.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
            "FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS ordered"
        ),
        {"keys": sorted(keys)},
    )
