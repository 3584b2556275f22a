"""The two tables every event-handling service owns: its transactional outbox and its record of
processed inbound events (idempotency on CloudEvents `source` + `id`)."""

import hashlib
import zlib
from collections.abc import Sequence
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
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from services.common.inbound import Inbound
from services.common.sql import _driver_in_transaction, existing_pairs, insert_rows


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
        # SHA-256 of what the event asked for (`payload_hash`): the same id with another payload is
        # a conflict, not a duplicate. NULL for rows written before it was kept.
        Column("payload_hash", String(64), nullable=True),
    )
    return MessagingTables(outbox=outbox, processed=processed, cursor=cursor)


def writer_lock_key(table: Table) -> int:
    return zlib.crc32(table.name.encode()) & 0x7FFFFFFF


async def lock_writer(conn: AsyncConnection, table: Table) -> None:
    """Until the end of the transaction, be the only writer appending to `table` (and to anything
    else ordered under the same key, e.g. the ledger). Re-entrant within a transaction."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": writer_lock_key(table)})


async def notify_at_commit(conn: AsyncConnection, table: Table) -> None:
    """Wake the relay leading `table` (channel: the table's name) when the transaction commits, in
    whichever replica it runs, so it need not poll while idle; repeated notifications within a
    transaction are folded into one (PostgreSQL; elsewhere writers call the relay's wake())."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": table.name})


async def write_outbox(
    conn: AsyncConnection,
    table: Table,
    events: list[OutboundEvent],
    *,
    in_commit_order: Sequence[tuple[Table, list[dict]]] = (),
) -> None:
    """Append events to the outbox inside the caller's transaction.

    The relay publishes in `seq` order and remembers only the last seq it published, so a seq must
    never become visible after a higher one. In PostgreSQL, sequence values are taken in call order
    but transactions commit in any order; a transaction-scoped advisory lock held from the insert to
    the commit makes writers of this outbox take their seqs in commit order. (SQLite has one writer
    at a time anyway.)

    `in_commit_order`: other rows numbered in commit order under the same lock (the evaluation
    ledger's leaves), inserted just before the outbox's. Everything is built before the lock is
    taken, so two replicas' transactions wait on each other only for these inserts and the commit."""
    if not events and not any(rows for _, rows in in_commit_order):
        return
    now = datetime.now(UTC)
    outbox_rows = [
        {
            "topic": e.topic,
            "key": e.key,
            "event_id": e.event["id"],
            "payload": orjson.dumps(e.event),
            "created_at": now,
        }
        for e in events
    ]
    await lock_writer(conn, table)
    for other, rows in in_commit_order:
        if rows:
            await insert_rows(conn, other, rows)
    if outbox_rows:
        await notify_at_commit(conn, table)
        await insert_rows(conn, table, outbox_rows)


async def already_processed(conn: AsyncConnection, table: Table, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, id) pairs this service has already handled."""
    return await existing_pairs(conn, table, ("source", "event_id"), keys)


async def mark_processed(conn: AsyncConnection, table: Table, rows: Sequence[tuple]) -> None:
    """Insert (source, id, outcome) or (source, id, outcome, payload hash) rows. The primary key
    makes a concurrent twin fail its transaction, so a duplicate can never be applied twice even
    between two replicas."""
    if not rows:
        return
    now = datetime.now(UTC)
    await insert_rows(
        conn,
        table,
        [
            {"source": r[0], "event_id": r[1], "outcome": r[2], "processed_at": now, "payload_hash": _hash_of(r)}
            for r in rows
        ],
    )


def _hash_of(row: tuple) -> str | None:
    return row[3] if len(row) > 3 else None


def payload_hash(item: Inbound) -> str | None:
    """SHA-256 of what an inbound event asks for: its type, subject and data, canonically encoded.
    Not its `time`, which a producer may stamp again when it retries. None for a message that did
    not parse (it is identified by a hash of its content already)."""
    env = item.envelope
    if env is None:
        return None
    body = {"type": env.type, "subject": env.subject, "data": env.data}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def processed_hashes(
    conn: AsyncConnection, table: Table, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """For the (source, id) pairs this service has already handled, the payload hash it kept."""
    if not keys:
        return {}
    if conn.dialect.name == "postgresql":
        driver = await _driver_in_transaction(conn)
        # One primary-key lookup per key (LIMIT 1 keeps the planner from flattening the lateral
        # subquery into a join, which it ran as a hash join over the whole table: 66 ms a batch
        # for the statistics consumer, whose table holds every event it has read).
        rows = await driver.fetch(
            "SELECT k.a AS source, k.b AS event_id, h.payload_hash FROM unnest($1::text[], $2::text[]) AS k(a, b) "
            f'CROSS JOIN LATERAL (SELECT t.payload_hash FROM "{table.name}" t '
            "WHERE t.source = k.a AND t.event_id = k.b LIMIT 1) AS h",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        return {(r["source"], r["event_id"]): r["payload_hash"] for r in rows}
    wanted = set(keys)
    result = await conn.execute(
        select(table.c.source, table.c.event_id, table.c.payload_hash).where(
            table.c.source.in_({k[0] for k in keys}), table.c.event_id.in_({k[1] for k in keys})
        )
    )
    return {(r[0], r[1]): r[2] for r in result if (r[0], r[1]) in wanted}


# The same id with another payload: the dead-letter reason, and the HTTP problem code of an
# Idempotency-Key reused for another request body.
DUPLICATE_ID_CONFLICT = "duplicate_id_conflict"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"
CONFLICT_MESSAGE = "this id was used before for another payload; nothing was changed"


def http_code(reason: str | None) -> str:
    """The problem code of a refusal answered over HTTP: the dead-letter reason, but for a conflict."""
    return IDEMPOTENCY_CONFLICT if reason == DUPLICATE_ID_CONFLICT else reason or "rejected"


def conflicts(kept: str | None, item: Inbound) -> bool:
    """True when `item` reuses the id of an event handled before with another payload."""
    return kept is not None and kept != payload_hash(item)
