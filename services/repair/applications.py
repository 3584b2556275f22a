"""Repair applications: the one code path for `repair.requested.v1` on credit.inbound.applications
(in batches) and `POST /v1/repairs` (a batch of one).

In one transaction it judges each application against the service's replica of the record (the
pure rules of rules.py on the wall clock), stores what is accepted (state `submitted`), orders the
`apply` signal to the record's workflow (dispatch table), announces `repair.changed.v1`, marks
every (source, id) processed and dead-letters every refusal with its reason code. A redelivered
event or a retried request finds its (source, id) processed and changes nothing."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.commands import Command, promote_due, write_commands
from services.common.contracts.applications import REPAIR_REQUESTED, RepairRequest
from services.common.contracts.decode import Typed
from services.common.contracts.owners import REPAIR
from services.common.frame import Accepted, Batch, Consumer, NotMine, Rejected, handle_batch
from services.common.inbound import Inbound
from services.common.policy import policy_for
from services.common.record_replica import ReplicaRecord, get_replica
from services.common.sql import insert_rows, key_in, lock_keys
from services.common.topics import INBOUND_APPLICATIONS
from services.repair.commands import apply_command
from services.repair.events import SOURCE, changed_event
from services.repair.models import APPLICATIONS, COMMANDS, MESSAGING, REPLICA
from services.repair.records import learn_records
from workflows.repair.inputs import OPEN_STATES, RepairApplication
from workflows.repair.rules import Refusal, judge_application, terms_from

ID_NAMESPACE = uuid.UUID("0c3f6a52-8a1e-4f57-9b61-5d2e7e0b3a41")
REFUSED = "rejected:"  # processed-event outcome prefix of a refusal, followed by its code


@dataclass
class Outcome:
    kind: str  # submitted | duplicate | refused
    application: dict | None = None
    refusal: Refusal | None = None


def application_id(source: str, event_id: str) -> str:
    """Ids derive from (source, id): the same request can only ever make the same application."""
    return f"rpa-{uuid.uuid5(ID_NAMESPACE, f'{source}|{event_id}')}"


async def receive(
    conn: AsyncConnection, items: list[Inbound], *, now: datetime, learned: list[dict] | None = None
) -> list[Outcome]:
    """Apply a batch of repair.requested.v1 inside the caller's transaction; one outcome per item.
    `learned`: replica rows the owner gave for records the replica had not heard of yet."""
    results = await handle_batch(CONSUMER, conn, items, now=now, context={"learned": learned})
    return [await _outcome(conn, r.item, r.outcome) for r in results]


async def _outcome(conn: AsyncConnection, item: Inbound, outcome: object) -> Outcome:
    if isinstance(outcome, Accepted):
        return Outcome("submitted", application=outcome.result)
    if isinstance(outcome, Rejected):
        return Outcome("refused", refusal=outcome.result or Refusal(outcome.reason, outcome.message))
    if isinstance(outcome, NotMine):  # the handlers pass repair.requested.v1 only
        return Outcome("ignored")
    return await _earlier_outcome(conn, item, [])


@dataclass
class _Open:
    """Per record of the batch: its open application, and whether one was approved."""

    by_record: dict[str, str]
    repaired: set[str]


async def _prepare(batch: Batch, events: list[Typed[RepairRequest]]) -> None:
    record_ids = sorted({e.data.record_id for e in events})
    # Serialise applications per record across replicas: "one open application" is check-then-insert.
    await lock_keys(batch.conn, [f"repair:{rid}" for rid in record_ids])
    if batch.context["learned"]:
        await learn_records(batch.conn, batch.context["learned"], now=batch.now)
    opened = _Open(await _open_applications(batch.conn, record_ids), await _approved(batch.conn, record_ids))
    batch.state("open", lambda: opened)


async def _apply(event: Typed[RepairRequest], batch: Batch) -> Accepted | Rejected:
    request, now = event.data, batch.now
    opened: _Open = batch.state("open", lambda: _Open({}, set()))
    record = await get_replica(batch.conn, REPLICA, request.record_id)
    refusal = _judge(
        request,
        record,
        opened.by_record.get(request.record_id),
        repaired=request.record_id in opened.repaired,
        now=now,
    )
    if refusal is not None:
        return Rejected(refusal.code, refusal.message, status=refusal.status, result=refusal)
    assert record is not None
    row = _application_row(event.item, request, record, now=now)
    batch.rows("rows").append(row)
    commands: list[Command] = batch.state("commands", list)
    commands.append(_apply_command(row))
    opened.by_record[record.record_id] = row["id"]
    batch.emit(changed_event(row, now=now))
    return Accepted("submitted", row)


async def _store(batch: Batch) -> None:
    await insert_rows(batch.conn, APPLICATIONS, batch.rows("rows"))
    commands: list[Command] = batch.state("commands", list)
    if commands:
        # An application is accepted only in an open window, whose deferred start is due: made
        # pending now, it goes before the `apply` signal (records.py).
        await promote_due(batch.conn, COMMANDS, batch.now)
    await write_commands(batch.conn, COMMANDS, commands)


CONSUMER = Consumer(
    REPAIR, SOURCE, MESSAGING, (INBOUND_APPLICATIONS,), {REPAIR_REQUESTED: _apply}, prepare=_prepare, finish=_store
)


def _judge(request: RepairRequest, record: ReplicaRecord | None, open_id: str | None, *, repaired: bool, now: datetime):  # type: ignore[no-untyped-def]
    if record is None:
        return Refusal("record_not_found", f"no record {request.record_id}")
    return judge_application(
        record_subject_id=record.subject_id,
        applicant_id=request.applicant.id,
        commitment=request.commitment,
        # An approval of ours is known here before the replica hears record.repaired.v1.
        status="repaired" if repaired else record.status,
        severity=record.severity,
        recorded_on=record.recorded_on,
        valid_until=record.valid_until,
        under_objection=record.under_objection,
        open_application=open_id,
        terms=terms_from(policy_for(record.region, record.recorded_on)),
        now=now,
    )


async def _open_applications(conn: AsyncConnection, record_ids: list[str]) -> dict[str, str]:
    if not record_ids:
        return {}
    q = select(APPLICATIONS.c.record_id, APPLICATIONS.c.id).where(
        key_in(conn, APPLICATIONS.c.record_id, record_ids), APPLICATIONS.c.state.in_(sorted(OPEN_STATES))
    )
    return {r.record_id: r.id for r in await conn.execute(q)}


async def _approved(conn: AsyncConnection, record_ids: list[str]) -> set[str]:
    if not record_ids:
        return set()
    q = select(APPLICATIONS.c.record_id).where(
        key_in(conn, APPLICATIONS.c.record_id, record_ids), APPLICATIONS.c.state == "approved"
    )
    return {r.record_id for r in await conn.execute(q)}


async def _earlier_outcome(conn: AsyncConnection, item: Inbound, pending: list[dict]) -> Outcome:
    """What the first delivery of this (source, id) produced: its application, or its refusal."""
    app_id = application_id(*item.identity)
    row = next((r for r in pending if r["id"] == app_id), None)
    if row is None:
        found = (await conn.execute(select(APPLICATIONS).where(APPLICATIONS.c.id == app_id))).first()
        row = dict(found._mapping) if found else None
    if row is not None:
        return Outcome("duplicate", application=row)
    outcome = (
        await conn.execute(
            select(MESSAGING.processed.c.outcome).where(
                MESSAGING.processed.c.source == item.identity[0], MESSAGING.processed.c.event_id == item.identity[1]
            )
        )
    ).scalar()
    code = outcome.removeprefix(REFUSED) if outcome and outcome.startswith(REFUSED) else "duplicate"
    return Outcome("refused", refusal=Refusal(code, "refused before: this request was already answered"))


def _application_row(item: Inbound, request: RepairRequest, record: ReplicaRecord, *, now: datetime) -> dict:
    source, event_id = item.identity
    applicant = {
        "type": request.applicant.type or record.subject_type,
        "id": request.applicant.id,
        "name": request.applicant.name or record.subject_name,
    }
    return {
        "id": application_id(source, event_id),
        "record_id": record.record_id,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "region": record.region,
        "applicant": applicant,
        "commitment": request.commitment,
        "evidence": [e.model_dump(mode="json") for e in request.evidence],
        "state": "submitted",
        "code": None,
        "reason": "",
        "opinion": "",
        "task_id": None,
        "decided_by": None,
        "history": [{"state": "submitted", "at": now.isoformat()}],
        "version": 1,
        "submitted_at": now,
        "updated_at": now,
        "source": source,
        "source_event_id": event_id,
    }


def _apply_command(row: dict) -> Command:
    signal = RepairApplication(
        application_id=row["id"],
        record_id=row["record_id"],
        applicant=row["applicant"],
        commitment=row["commitment"],
        evidence=row["evidence"],
        submitted_at=row["submitted_at"],
    )
    return apply_command(signal)
