"""The watch's consumer of `credit.inbound.procurement` on the one consumer frame
(services/common/frame.py): the frame decodes each event into its contract's model, checks it once
(its (source, id) processed before: nothing; the same id with another payload:
`duplicate_id_conflict`), dead-letters every refusal with its reason code and marks what it took.
The watch adds, per batch:

- `_prepare`: one lock per project (two replicas, one project), the typed events checked into facts
  (events.py: identifiers, region) and the batch's timelines loaded in three statements whatever the
  batch's size (timeline.load_timelines);
- `_fact`, the handler of every procurement type: the fact settled in memory by its timeline
  (accepted, or rejected `no_policy`, `invalid_identifier`, `invalid_data`);
- `_finish`: the facts, clocks and commands written in bulk, and the interceptions to the outbox.

`complaint.decided.v1` is on the topic but read by other watchers: passed over, not dead-lettered."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts import procurement
from services.common.contracts.decode import Typed
from services.common.contracts.owners import WATCH
from services.common.contracts.procurement import ProcurementFact
from services.common.frame import (
    Accepted,
    Batch,
    Consumer,
    Duplicate,
    Handler,
    NotMine,
    Rejected,
    Result,
    handle_batch,
)
from services.common.inbound import Inbound
from services.common.sql import lock_keys
from services.common.topics import INBOUND_PROCUREMENT
from services.watch.events import SOURCE, Fact, Refusal, checked_fact
from services.watch.models import MESSAGING
from services.watch.timeline import Outcome, Timelines, load_timelines, save_timelines

FACTS_STATE, TIMELINES_STATE = "facts", "timelines"


async def _prepare(batch: Batch, events: list[Typed[Any]]) -> None:
    facts: dict[tuple[str, str], Fact | Refusal] = batch.state(FACTS_STATE, dict)
    for e in events:
        facts[e.identity] = checked_fact(e.envelope, e.data, received_at=batch.now)
    await lock_keys(batch.conn, sorted({f"watch:{e.data.region}:{e.item.key}" for e in events}))
    timelines = await load_timelines(batch.conn, [f for f in facts.values() if isinstance(f, Fact)])
    batch.state(TIMELINES_STATE, lambda: timelines)


async def _fact(event: Typed[ProcurementFact], batch: Batch) -> Accepted | Rejected:
    facts: dict[tuple[str, str], Fact | Refusal] = batch.state(FACTS_STATE, dict)
    fact = facts[event.identity]
    if isinstance(fact, Refusal):
        return Rejected(fact.reason, fact.message)
    timelines: Timelines = batch.state(TIMELINES_STATE, Timelines.empty)
    outcome = timelines.accept(fact, now=batch.now)
    if outcome.kind == "rejected":
        assert outcome.reason is not None
        return Rejected(outcome.reason, outcome.message or outcome.reason, result=outcome)
    return Accepted(mark=outcome.kind, result=outcome)


async def _finish(batch: Batch) -> None:
    timelines: Timelines = batch.state(TIMELINES_STATE, Timelines.empty)
    await save_timelines(batch.conn, timelines, now=batch.now)
    batch.emit(*timelines.events)


_HANDLERS: dict[Any, Handler] = {c: _fact for c in procurement.CONTRACTS if c is not procurement.COMPLAINT_DECIDED}

# Fields: service, source, messaging tables, topics, handlers by contract (then options).
CONSUMER = Consumer(
    WATCH,
    SOURCE,
    MESSAGING,
    (INBOUND_PROCUREMENT,),
    _HANDLERS,
    passes=frozenset({procurement.COMPLAINT_DECIDED.type}),
    prepare=_prepare,
    finish=_finish,
)


def outcome_of(result: Result) -> Outcome:
    """What became of one event, as the timeline says it (clocks opened and closed, a conflict)."""
    o = result.outcome
    if isinstance(o, Accepted | Rejected) and isinstance(o.result, Outcome):
        return o.result
    if isinstance(o, Rejected):
        return Outcome("rejected", o.reason, o.message)
    if isinstance(o, Duplicate):
        return Outcome("duplicate")
    assert isinstance(o, NotMine)
    return Outcome("not_mine")


async def receive(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> list[Outcome]:
    """A consumed batch applied in the caller's transaction (the frame); one outcome per item."""
    return [outcome_of(r) for r in await handle_batch(CONSUMER, conn, items, now=now)]
