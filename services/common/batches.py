"""Applying a consumed batch so that one bad message cannot block a partition: if the batch's
transaction fails for anything but the database being unavailable, each message is applied alone;
one that still fails is tried again a bounded number of times with backoff (a refusal that depends
on the moment, e.g. a lock timeout, gets its chance) and then dead-lettered with reason
`processing_failed` and its error class, and the partition goes on. Failures of the database itself
(connection, shutdown, serialisation race: `db_errors.is_transient`) are raised, so the batch is
consumed again and nothing is dead-lettered because of an outage.

`consume` runs a consumer's batch (usually `frame.handle_batch`) this way (a handler whose effect is
outside the database writes it to the command outbox, `services.common.commands`, in the same
transaction); `consume_applications` first asks the records' owner for the records an application
names."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog
from aiokafka.structs import ConsumerRecord
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.db_errors import describe, is_transient
from services.common.deadletter import rejected_event
from services.common.frame import Consumer
from services.common.inbound import Inbound, from_kafka
from services.common.messaging import MessagingTables, OutboundEvent, mark_processed, write_outbox
from services.common.metrics import BATCH_SECONDS, EVENTS_RECEIVED
from services.common.outages import while_database_down
from services.common.record_owner import RecordOwner, rows_for_batch
from services.common.runtime import Runtime
from services.common.settings import get_settings

log = structlog.get_logger(__name__)
T = TypeVar("T")


async def apply_batch(
    engine: AsyncEngine,
    items: list[Inbound],
    apply: Callable[[AsyncConnection, list[Inbound]], Awaitable[T]],
    *,
    processed: Table,
    outbox: Table,
    source: str,
    now: datetime,
    attempts: int = 3,
    backoff_seconds: float = 0.2,
) -> list[T]:
    try:
        async with engine.begin() as conn:
            return [await apply(conn, items)]
    except Exception as exc:
        if is_transient(exc):
            raise
        log.warning("batch refused, applying one by one", error=" ".join(describe(exc)))

    async def one(item: Inbound) -> T:
        async with engine.begin() as conn:
            return await apply(conn, [item])

    async def refused(item: Inbound, error_class: str, text: str) -> None:
        async with engine.begin() as conn:
            await mark_processed(conn, processed, [(*item.identity, "rejected")])
            await write_outbox(
                conn, outbox, [processing_failed(item, error_class, text, attempts=attempts, source=source, now=now)]
            )

    return await retry_each(items, one, refused, attempts=attempts, backoff_seconds=backoff_seconds)


def processing_failed(
    item: Inbound, error_class: str, text: str, *, attempts: int, source: str, now: datetime
) -> OutboundEvent:
    """The dead letter of a message refused `attempts` times for the same kind of reason."""
    return rejected_event(
        item,
        reason="processing_failed",
        message=f"refused {attempts} times: {error_class}: {text}",
        source=source,
        now=now,
        error_class=error_class,
    )


async def retry_each(
    items: list[Inbound],
    one: Callable[[Inbound], Awaitable[T]],
    refused: Callable[[Inbound, str, str], Awaitable[None]],
    *,
    attempts: int,
    backoff_seconds: float,
    transient: Callable[[BaseException], bool] = is_transient,
) -> list[T]:
    """The poison rule for any consumer: `one(item)` for each item alone; a failure that
    `transient` judges an outage is raised (the caller waits it out or lets the batch be consumed
    again, nothing is refused); any other is tried again up to `attempts` times with a doubling
    pause, then `refused(item, error_class, text)` is called (it dead-letters the item) and the next
    item is handled."""
    results = []
    for item in items:
        for attempt in range(1, attempts + 1):
            try:
                results.append(await one(item))
                break
            except Exception as exc:
                if transient(exc):
                    raise
                error_class, text = describe(exc)
                if attempt < attempts:
                    log.warning(
                        "message refused, trying again", identity=item.identity, attempt=attempt, error=error_class
                    )
                    await asyncio.sleep(backoff_seconds * 2 ** (attempt - 1))
                    continue
                log.error("message refused, dead-lettered", identity=item.identity, error=error_class, detail=text)
                await refused(item, error_class, text)
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
    settings = get_settings()
    EVENTS_RECEIVED.labels(service).inc(len(items))

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
                attempts=settings.credit_poison_attempts,
                backoff_seconds=settings.credit_poison_backoff_seconds,
            )

    # Log lines of this batch name the inbound events (the first few: batches reach thousands).
    ids = [i.identity[1] for i in items[:5]]
    with BATCH_SECONDS.labels(service).time(), structlog.contextvars.bound_contextvars(events=ids, batch=len(items)):
        # A database outage: hold the batch and retry with backoff (outside the writer lock, so HTTP
        # calls answer 503 meanwhile) instead of a NACK and an immediate re-read (issue 21).
        results = await while_database_down(f"{service} consumer", attempt)
    rt.relay.wake()
    return results


class ApplyLearned(Protocol):
    async def __call__(
        self, conn: AsyncConnection, items: list[Inbound], *, now: datetime, learned: list[dict[str, Any]] | None
    ) -> Any: ...


async def consume_applications(
    rt: Runtime,
    records: Iterable[ConsumerRecord],
    consumer: Consumer,
    apply: ApplyLearned,
    *,
    owner: RecordOwner,
    replica: Table,
    pause: float,
) -> list[Any] | None:
    """A batch of applications that name records (repairs, appeals): those `consumer` takes, with
    the records its replica has not heard of yet asked of their owner first (`rows_for_batch`),
    applied by `apply(conn, batch, now=…, learned=…)` under `consume`. None when none is its."""
    items = [i for i in from_kafka(records) if consumer.takes(i)]
    if not items:
        return None
    learned = await rows_for_batch(rt.engine, replica, owner, items, pause=pause)

    async def run(conn: AsyncConnection, batch: list[Inbound], *, now: datetime) -> Any:
        return await apply(conn, batch, now=now, learned=learned)

    return await consume(rt, items, run, messaging=consumer.messaging, source=consumer.source, service=consumer.service)
