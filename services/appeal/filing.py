"""Filing: the one code path for objections, whether they come from Kafka (`appeal.filed.v1` on
credit.inbound.applications, in batches) or from `POST /v1/appeals` (a batch of one).

In the caller's transaction it judges each application against the record replica and the open
appeals, stores what is accepted with its first appeal.changed.v1, dead-letters what is refused
with its reason, and marks every (source, id) processed — with the refusal's reason, so an HTTP
retry with the same Idempotency-Key gets the same answer. The start of each accepted appeal's review
workflow is written to the command outbox in the same transaction (commands.py): nothing is lost if
Temporal is down or the process dies right after the commit."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.appeal.commands import review_command
from services.appeal.deadline import review_due
from services.appeal.events import SOURCE, appeal_changed_event
from services.appeal.models import APPEALS_T, COMMANDS, MESSAGING, REPLICA
from services.appeal.rules import AppealApplication, Refusal, judge, refusal, stored_applicant
from services.common.commands import write_commands
from services.common.contracts.applications import APPEAL_FILED
from services.common.contracts.decode import Typed
from services.common.contracts.owners import APPEAL
from services.common.frame import Accepted, Batch, Consumer, NotMine, Rejected, handle_batch
from services.common.inbound import Inbound
from services.common.record_replica import get_replica, upsert_replica
from services.common.sql import insert_rows
from services.common.topics import INBOUND_APPLICATIONS

ID_NAMESPACE = uuid.UUID("0b6f9a52-3c55-4f3e-9d0e-5a7c2f1e8b44")
REJECTED = "rejected:"
RETRYABLE = frozenset({"record_not_found"})


@dataclass(frozen=True)
class Filing:
    kind: str  # filed | rejected | duplicate | ignored
    appeal_id: str | None = None
    refusal: Refusal | None = None


def appeal_id_of(source: str, event_id: str) -> str:
    """Ids derive from (source, id): the same application can only ever make the same appeal."""
    return f"apl-{uuid.uuid5(ID_NAMESPACE, f'{source}|{event_id}')}"


async def file_appeals(
    conn: AsyncConnection,
    items: list[Inbound],
    *,
    now: datetime,
    filed_by: str | None = None,
    learned: list[dict] | None = None,
) -> list[Filing]:
    """Apply a batch inside the caller's transaction; one outcome per item, in order. `filed_by`
    is the token's sub of an HTTP caller; over Kafka it is the forwarding platform (`source`).
    `learned`: replica rows the owner gave for records the replica had not heard of yet (stored
    first, as the events would have been; the newer version wins whichever comes first)."""
    context = {"filed_by": filed_by, "learned": learned}
    return [_filing(r.outcome) for r in await handle_batch(CONSUMER, conn, items, now=now, context=context)]


def _filing(outcome: object) -> Filing:
    if isinstance(outcome, Accepted):
        return Filing("filed", appeal_id=outcome.result)
    if isinstance(outcome, Rejected):
        return Filing("rejected", refusal=outcome.result or refusal(outcome.reason, outcome.message))
    if isinstance(outcome, NotMine):  # the handlers pass appeal.filed.v1 only; others dead-letter the rest
        return Filing("ignored")
    return Filing("duplicate")


async def _learn(batch: Batch, events: list[Typed[AppealApplication]]) -> None:
    if batch.context["learned"]:
        await upsert_replica(batch.conn, REPLICA, batch.context["learned"])


async def _file(event: Typed[AppealApplication], batch: Batch) -> Accepted | Rejected:
    app, conn = event.data, batch.conn
    source, event_id = event.identity
    opened: dict[str, str] = batch.state("opened", dict)  # record_id -> appeal id, opened in this batch
    record = await get_replica(conn, REPLICA, app.record_id)
    open_id = opened.get(app.record_id) or await _open_appeal(conn, app.record_id)
    problem = judge(app, record, open_id)
    if problem is not None:
        # The owner was asked before this transaction (record_owner.py), so "not found" is the
        # owner's answer; still, a retry with the same key is judged again (its dead letter keeps
        # its id, derived from the same source and id) in case the record comes later.
        remember = problem.reason not in RETRYABLE
        return Rejected(problem.reason, problem.message, status=problem.status, remember=remember, result=problem)
    assert record is not None
    filed_by = batch.context["filed_by"] or source
    row = _appeal_row(app, record, source=source, event_id=event_id, filed_by=filed_by, now=batch.now)
    batch.rows("rows").append(row)
    opened[app.record_id] = row["id"]
    batch.emit(appeal_changed_event(row, now=batch.now))
    return Accepted("filed", row["id"])


async def _store(batch: Batch) -> None:
    rows = batch.rows("rows")
    await insert_rows(batch.conn, APPEALS_T, rows)
    await write_commands(batch.conn, COMMANDS, [review_command(r) for r in rows])


CONSUMER = Consumer(
    APPEAL, SOURCE, MESSAGING, (INBOUND_APPLICATIONS,), {APPEAL_FILED: _file}, prepare=_learn, finish=_store
)


async def _open_appeal(conn: AsyncConnection, record_id: str) -> str | None:
    q = select(APPEALS_T.c.id).where(APPEALS_T.c.open_record_id == record_id)
    return (await conn.execute(q)).scalar_one_or_none()


def _appeal_row(app: AppealApplication, record, *, source: str, event_id: str, filed_by: str, now: datetime) -> dict:  # type: ignore[no-untyped-def]
    return {
        "id": appeal_id_of(source, event_id),
        "record_id": record.record_id,
        "open_record_id": record.record_id,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "subject_name": record.subject_name,
        "region": record.region,
        "applicant": stored_applicant(app, record),
        "filed_by": filed_by[:300],
        "grounds": app.grounds,
        "evidence": [e.model_dump(mode="json") for e in app.evidence],
        "state": "filed",
        "version": 1,
        "task_id": None,
        "decision": None,
        "reason": None,
        "outcome": None,
        "filed_at": now,
        "updated_at": now,
        "workflow_started_at": None,
        # What the appellant is told at once (events.appeal_data), kept to be re-planned later.
        **review_due(record.region, now).columns(),
        "source": source,
        "source_event_id": event_id,
    }


async def earlier_outcome(conn: AsyncConnection, source: str, event_id: str) -> Filing | None:
    """For an HTTP retry with the same Idempotency-Key: what the first attempt produced."""
    appeal = (
        await conn.execute(
            select(APPEALS_T.c.id).where(APPEALS_T.c.source == source, APPEALS_T.c.source_event_id == event_id)
        )
    ).scalar_one_or_none()
    if appeal is not None:
        return Filing("duplicate", appeal_id=appeal)
    t = MESSAGING.processed
    outcome = (
        await conn.execute(select(t.c.outcome).where(t.c.source == source, t.c.event_id == event_id))
    ).scalar_one_or_none()
    if outcome and outcome.startswith(REJECTED):
        reason = outcome.removeprefix(REJECTED)
        return Filing("rejected", refusal=refusal(reason, "the same request was refused before"))
    return None
