"""A consumed batch of `credit.inbound.procurement` applied in one transaction: each event checked
once (its (source, id) processed before: nothing; the same id with another payload:
`duplicate_id_conflict`), typed (events.py), handed to the timeline (timeline.py), and every
refusal dead-lettered with its reason code. The transport (Kafka, a future consumer frame) only
turns messages into `Inbound` items and calls `receive`."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.cloudevents import RejectedEvent, check_type
from services.common.deadletter import conflict_letter, rejected_event
from services.common.inbound import Inbound
from services.common.messaging import conflicts, mark_processed, payload_hash, processed_hashes, write_outbox
from services.common.sql import lock_keys
from services.watch.events import OTHER_WATCHERS_TYPES, PROCUREMENT_TYPES, SOURCE, Fact, Refusal, parse_fact
from services.watch.models import MESSAGING
from services.watch.timeline import Outcome, load_timelines, save_timelines

NOT_MINE = Outcome("not_mine")


async def receive(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> list[Outcome]:
    # One project's facts are applied by one transaction at a time (two replicas, one project).
    keys = sorted({f"watch:{i.envelope.data.get('region')}:{i.key}" for i in items if i.envelope is not None})
    await lock_keys(conn, keys)
    kept = await processed_hashes(conn, MESSAGING.processed, [i.identity for i in items])
    typed = {id(i): _typed(i, now=now) for i in items if i.identity not in kept}
    timelines = await load_timelines(conn, [f for f in typed.values() if isinstance(f, Fact)])
    outcomes: list[Outcome] = []
    processed, outbox = [], []
    for item in items:
        digest = payload_hash(item)
        if item.identity in kept:
            if conflicts(kept[item.identity], item):
                outbox.append(conflict_letter(item, source=SOURCE, now=now, variant=digest))
                outcomes.append(Outcome("rejected", "duplicate_id_conflict"))
            else:
                outcomes.append(Outcome("duplicate"))
            continue
        kept[item.identity] = digest
        parsed = typed.get(id(item)) or _typed(item, now=now)
        outcome = timelines.accept(parsed, now=now) if isinstance(parsed, Fact) else parsed
        if outcome.kind == "rejected":
            assert outcome.reason is not None
            message = outcome.message or outcome.reason
            outbox.append(rejected_event(item, reason=outcome.reason, message=message, source=SOURCE, now=now))
        processed.append((*item.identity, _label(outcome), digest))
        outcomes.append(outcome)
    await save_timelines(conn, timelines, now=now)
    await mark_processed(conn, MESSAGING.processed, processed)
    await write_outbox(conn, MESSAGING.outbox, outbox)
    return outcomes


def _typed(item: Inbound, *, now: datetime) -> Fact | Outcome:
    """The item as a typed fact, or the outcome that refuses it (or leaves it to others)."""
    if item.envelope is None:
        return Outcome("rejected", item.reason, item.message)
    if item.envelope.type in OTHER_WATCHERS_TYPES:
        return NOT_MINE
    try:
        check_type(item.envelope, PROCUREMENT_TYPES)
    except RejectedEvent as exc:
        return Outcome("rejected", exc.reason, exc.message)
    fact = parse_fact(item.envelope, received_at=now)
    if isinstance(fact, Refusal):
        return Outcome("rejected", fact.reason, fact.message)
    return fact


def _label(outcome: Outcome) -> str:
    return f"rejected:{outcome.reason}"[:40] if outcome.kind == "rejected" else outcome.kind
