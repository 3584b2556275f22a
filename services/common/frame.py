"""The one consumer frame (issue 20): everything an idempotent consumer does around its rule, once.

Inside the caller's transaction, for a batch of received messages (`Inbound`, from Kafka or HTTP):
decode each into its contract's model (`contracts.decode`); pass over what is not this consumer's
(`not_mine`: another service reads it, or answers for it — `contracts/owners.py`); find which
(`source`, `id`) were processed before, and with which payload hash (the same id with another
payload is a conflict, dead-lettered `duplicate_id_conflict`; the same payload a duplicate that
changes nothing); call the handler of each new event's type; dead-letter every refusal with its
reason code; mark every event processed with its outcome and payload hash; run the consumer's
`finish` (its bulk writes) and write the outbox. `batches.consume` runs it under the poison rule.

A handler is a function of a typed event and the batch (its connection, clock and outbox) that
returns `Accepted`, `Rejected(reason, message)` or `NOT_MINE`. Per-batch state a handler gathers
for one bulk write lives in `batch.state(...)`; `finish` writes it."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any, TypeVar

import structlog
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import correlation
from services.common.contracts import registry
from services.common.contracts.base import Contract
from services.common.contracts.decode import INVALID_DATA, Refused, Typed, decode
from services.common.contracts.owners import answers_unknown, read_elsewhere
from services.common.deadletter import conflict_letter, rejected_event
from services.common.inbound import Inbound
from services.common.messaging import (
    CONFLICT_MESSAGE,
    DUPLICATE_ID_CONFLICT,
    MessagingTables,
    OutboundEvent,
    conflicts,
    mark_processed,
    payload_hash,
    processed_hashes,
    write_outbox,
)

log = structlog.get_logger(__name__)
S = TypeVar("S")
MARK_MAX = 40  # the processed-event table's outcome column


@dataclass(frozen=True)
class Accepted:
    """Taken. `mark` is the outcome kept in the processed-event table; `result` what the caller of
    the batch gets back for this event (e.g. the HTTP answer)."""

    mark: str = "accepted"
    result: Any = None


@dataclass(frozen=True)
class Rejected:
    """Refused and dead-lettered with `reason`. `remember`: marked processed (a redelivery changes
    nothing); False when a retry may succeed later (it is judged again, its dead letter keeps its id)."""

    reason: str
    message: str
    status: int = 422
    remember: bool = True
    result: Any = None


@dataclass(frozen=True)
class NotMine:
    """Another consumer's: neither marked nor dead-lettered here."""


@dataclass(frozen=True)
class Duplicate:
    """Processed before (or earlier in the same batch) with the same payload: nothing changes."""


NOT_MINE = NotMine()
DUPLICATE = Duplicate()
Outcome = Accepted | Rejected | NotMine


@dataclass
class Batch:
    conn: AsyncConnection
    now: datetime
    source: str
    context: Mapping[str, Any] = field(default_factory=dict)
    outbox: list[OutboundEvent] = field(default_factory=list)
    # Rows numbered in commit order with the outbox (messaging.write_outbox `in_commit_order`).
    in_commit_order: list[tuple[Table, list[dict[str, Any]]]] = field(default_factory=list)
    _state: dict[str, Any] = field(default_factory=dict)

    def emit(self, *events: OutboundEvent) -> None:
        self.outbox.extend(events)

    def state(self, name: str, factory: Callable[[], S]) -> S:
        """Per-batch state of the handlers (rows to write in one statement in `finish`)."""
        if name not in self._state:
            self._state[name] = factory()
        state: S = self._state[name]
        return state

    def rows(self, name: str) -> list[dict[str, Any]]:
        """Rows the handlers gather for one bulk write in `finish`."""
        rows: list[dict[str, Any]] = self.state(name, list)
        return rows


Handler = Callable[[Typed[Any], Batch], Awaitable[Outcome]]


def rejected_with_reason(reason: str, status: int) -> str:
    """The processed-event outcome of a refusal: `rejected:<reason>` (an HTTP retry reads it back)."""
    return f"rejected:{reason}"


@dataclass(frozen=True)
class Consumer:
    """One consumer: the service that runs it, what it reads and how it answers.

    `handlers`: by contract. `passes`: types of its topics it passes over silently (its own events).
    `conflicts`: dead-letter a payload reusing a processed id (else it is a duplicate).
    `refuses_invalid`: a read type whose data does not fit its model is refused here; False for a
    copy of another service's topic (a replica), whose owner refuses it. `refusal_mark`: the outcome
    kept for a refusal, from its reason and status (an HTTP retry reads it back).
    `prepare(batch, events)`: before the processed-event check (locks, reads for the whole batch).
    `finish(batch)`: after the last handler (the bulk writes)."""

    service: str
    source: str
    messaging: MessagingTables
    topics: tuple[str, ...]
    handlers: Mapping[Contract, Handler]
    passes: frozenset[str] = frozenset()
    conflicts: bool = True
    refuses_invalid: bool = True
    refusal_mark: Callable[[str, int], str] = rejected_with_reason
    prepare: Callable[[Batch, list[Typed[Any]]], Awaitable[None]] | None = None
    finish: Callable[[Batch], Awaitable[None]] | None = None

    @cached_property
    def reads(self) -> Mapping[str, Contract]:
        return registry.reading(self.handlers)

    @cached_property
    def answers_unknown(self) -> bool:
        """Dead-letters what nobody reads on its topics (malformed, unknown type): `owners.py`."""
        return all(answers_unknown(t, self.service) for t in self.topics)

    @cached_property
    def passed(self) -> frozenset[str]:
        """Types it passes over: its own, and (where it answers for its topics) those others read."""
        return self.passes | (read_elsewhere(self.topics, self.service) if self.answers_unknown else frozenset())

    def takes(self, item: Inbound) -> bool:
        """Worth a batch of this consumer: an event of a type it reads, or anything it answers for."""
        if self.answers_unknown:
            return item.envelope is None or item.envelope.type not in self.passed
        return item.envelope is not None and item.envelope.type in self.reads


@dataclass(frozen=True)
class Result:
    item: Inbound
    outcome: Accepted | Rejected | NotMine | Duplicate


def _classify(consumer: Consumer, item: Inbound) -> Typed[Any] | Refused | NotMine:
    if item.envelope is not None and item.envelope.type in consumer.passed:
        return NOT_MINE
    decoded = decode(item, consumer.reads)
    if isinstance(decoded, Typed) or consumer.answers_unknown:
        return decoded
    if decoded.reason == INVALID_DATA and consumer.refuses_invalid:
        return decoded  # a type only it reads: its refusal to give
    if decoded.reason == INVALID_DATA:
        log.warning("event of a read type not usable here", identity=item.identity, detail=decoded.message[:300])
    return NOT_MINE


async def handle_batch(
    consumer: Consumer,
    conn: AsyncConnection,
    items: Sequence[Inbound],
    *,
    now: datetime,
    context: Mapping[str, Any] | None = None,
) -> list[Result]:
    """Apply `items` inside the caller's transaction; one result per item, in order."""
    batch = Batch(conn, now, consumer.source, context=MappingProxyType(dict(context or {})))
    classified = [_classify(consumer, item) for item in items]
    if consumer.prepare is not None:
        await consumer.prepare(batch, [c for c in classified if isinstance(c, Typed)])
    mine = [item for item, c in zip(items, classified, strict=True) if c is not NOT_MINE]
    kept = await processed_hashes(conn, consumer.messaging.processed, [i.identity for i in mine])
    seen = set(kept)
    results: list[Result] = []
    marks: list[tuple[str, str, str, str | None]] = []
    outer = correlation.current()
    for item, c in zip(items, classified, strict=True):
        if isinstance(c, NotMine):
            results.append(Result(item, NOT_MINE))
            continue
        correlation.follow(item, outer)
        identity, digest = item.identity, payload_hash(item)
        if identity in seen:
            if consumer.conflicts and conflicts(kept.get(identity), item):
                batch.emit(conflict_letter(item, source=consumer.source, now=now, variant=digest))
                conflict = Rejected(DUPLICATE_ID_CONFLICT, CONFLICT_MESSAGE, status=409, remember=False)
                results.append(Result(item, conflict))
            else:
                results.append(Result(item, DUPLICATE))
            continue
        seen.add(identity)
        kept[identity] = digest
        if isinstance(c, Refused):
            outcome: Outcome = Rejected(c.reason, c.message)
        else:
            outcome = await consumer.handlers[c.contract](c, batch)
        if isinstance(outcome, Rejected):
            batch.emit(
                rejected_event(item, reason=outcome.reason, message=outcome.message, source=batch.source, now=now)
            )
            if outcome.remember:
                marks.append((*identity, consumer.refusal_mark(outcome.reason, outcome.status)[:MARK_MAX], digest))
        elif isinstance(outcome, Accepted):
            marks.append((*identity, outcome.mark[:MARK_MAX], digest))
        results.append(Result(item, outcome))
    correlation.restore(outer)
    if consumer.finish is not None:
        await consumer.finish(batch)
    await mark_processed(conn, consumer.messaging.processed, marks)
    await write_outbox(conn, consumer.messaging.outbox, batch.outbox, in_commit_order=batch.in_commit_order)
    return results


def counts(results: Sequence[Result]) -> dict[str, int]:
    """How many events of a batch ended how (for the consumed-events metric)."""
    out: dict[str, int] = {}
    for r in results:
        o = r.outcome
        kind = (
            o.mark
            if isinstance(o, Accepted)
            else "rejected"
            if isinstance(o, Rejected)
            else "duplicate"
            if isinstance(o, Duplicate)
            else "passed"
        )
        out[kind] = out.get(kind, 0) + 1
    return out
