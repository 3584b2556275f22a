"""Applying a consumed batch so that one bad message cannot block a partition: if the batch's
transaction fails on the data itself (a constraint, a value the schema refuses), each message is
applied alone and the one that still fails is dead-lettered with reason `processing_failed`.
Failures of the database itself (connection, timeout) are raised, so the batch is consumed again."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from sqlalchemy import Table
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.deadletter import rejected_event
from services.common.inbound import Inbound
from services.common.messaging import MessagingTables, mark_processed, write_outbox
from services.common.metrics import BATCH_SECONDS
from services.common.outages import while_database_down
from services.common.runtime import Runtime

log = structlog.get_logger(__name__)
T = TypeVar("T")
DATA_ERRORS = (DataError, IntegrityError, ProgrammingError)


async def apply_batch(
    engine: AsyncEngine,
    items: list[Inbound],
    apply: Callable[[AsyncConnection, list[Inbound]], Awaitable[T]],
    *,
    processed: Table,
    outbox: Table,
    source: str,
    now: datetime,
) -> list[T]:
    try:
        async with engine.begin() as conn:
            return [await apply(conn, items)]
    except DATA_ERRORS as exc:
        log.warning("batch refused by the database, applying one by one", error=str(exc)[:300])
    results = []
    for item in items:
        try:
            async with engine.begin() as conn:
                results.append(await apply(conn, [item]))
        except DATA_ERRORS as exc:
            log.error("message refused by the database, dead-lettered", identity=item.identity, error=str(exc)[:300])
            async with engine.begin() as conn:
                await mark_processed(conn, processed, [(*item.identity, "rejected")])
                await write_outbox(
                    conn,
                    outbox,
                    [rejected_event(item, reason="processing_failed", message=str(exc)[:500], source=source, now=now)],
                )
    return results


async def consume(
    rt: Runtime,
    items: list[Inbound],
    apply: Callable[..., Awaitable[T]],
    *,
    messaging: MessagingTables,
    source: str,
    service: str,
) -> list[T]:
    """How every consumer applies what it read: `apply(conn, batch, now=…)` by `apply_batch`, under
    the process's writer lock (its HTTP calls touch the same rows), timed per service; then the
    relay is woken for what the batch wrote to the outbox."""
    now = datetime.now(UTC)

    async def attempt() -> list[T]:
        async with rt.intake_lock:
            return await apply_batch(
                rt.engine,
                items,
                lambda conn, batch: apply(conn, batch, now=now),
                processed=messaging.processed,
                outbox=messaging.outbox,
                source=source,
                now=now,
            )

    with BATCH_SECONDS.labels(service).time():
        # A database outage: hold the batch and retry with backoff (outside the writer lock, so HTTP
        # calls answer 503 meanwhile) instead of a NACK and an immediate re-read (issue 21).
        results = await while_database_down(f"{service} consumer", attempt)
    rt.relay.wake()
    return results
