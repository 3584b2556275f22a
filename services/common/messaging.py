"""The two tables every event-handling service owns: its transactional outbox and its record of
processed inbound events (idempotency on CloudEvents `source` + `id`)."""

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from services.common.sql import existing_pairs, insert_rows


@dataclass(frozen=True)
class OutboundEvent:
    """An event a service owes the world; written in the same transaction as the change it reports."""

    topic: str
    key: str
    event: dict


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    processed: Table
    cursor: Table

    @property
    def all(self) -> list[Table]:
        return [self.outbox, self.processed, self.cursor]


def messaging_tables(service: str) -> MessagingTables:
    outbox = Table(
        f"{service}_outbox",
        SQLModel.metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("topic", String(100), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_id", String(100), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    # How far the relay has published: one row, moved once per published batch (instead of
    # marking every outbox row, which costs an index update and a dead tuple per event).
    cursor = Table(
        f"{service}_outbox_cursor",
        SQLModel.metadata,
        Column("name", String(40), primary_key=True),
        Column("seq", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    processed = Table(
        f"{service}_processed_event",
        SQLModel.metadata,
        Column("source", String(300), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        Column("outcome", String(40), nullable=False),
    )
    return MessagingTables(outbox=outbox, processed=processed, cursor=cursor)


def writer_lock_key(table: Table) -> int:
    return zlib.crc32(table.name.encode()) & 0x7FFFFFFF


async def lock_writer(conn: AsyncConnection, table: Table) -> None:
    """Until the end of the transaction, be the only writer appending to `table` (and to anything
    else ordered under the same key, e.g. the ledger). Re-entrant within a transaction."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": writer_lock_key(table)})


async def write_outbox(conn: AsyncConnection, table: Table, events: list[OutboundEvent]) -> None:
    """Append events to the outbox inside the caller's transaction.

    The relay publishes in `seq` order and remembers only the last seq it published, so a seq must
    never become visible after a higher one. In PostgreSQL, sequence values are taken in call order
    but transactions commit in any order; a transaction-scoped advisory lock held from the insert to
    the commit makes writers of this outbox take their seqs in commit order. (SQLite has one writer
    at a time anyway.)"""
    if not events:
        return
    await lock_writer(conn, table)
    if conn.dialect.name == "postgresql":
        # Delivered at commit to the relay leading this outbox, in whichever replica it runs, so it
        # need not poll while idle; repeated notifications within a transaction are folded into one.
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": table.name})
    now = datetime.now(UTC)
    await insert_rows(
        conn,
        table,
        [
            {
                "topic": e.topic,
                "key": e.key,
                "event_id": e.event["id"],
                "payload": orjson.dumps(e.event),
                "created_at": now,
            }
            for e in events
        ],
    )


async def already_processed(conn: AsyncConnection, table: Table, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, id) pairs this service has already handled."""
    return await existing_pairs(conn, table, ("source", "event_id"), keys)


async def mark_processed(conn: AsyncConnection, table: Table, rows: list[tuple[str, str, str]]) -> None:
    """Insert (source, id, outcome) rows. The primary key makes a concurrent twin fail its
    transaction, so a duplicate can never be applied twice even between two replicas."""
    if not rows:
        return
    now = datetime.now(UTC)
    await insert_rows(
        conn, table, [{"source": s, "event_id": i, "outcome": o, "processed_at": now} for s, i, o in rows]
    )
