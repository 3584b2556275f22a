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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.commands import Command, write_commands
from services.common.deadletter import conflict_letter, rejected_event
from services.common.identifiers import normalise_applicant_id
from services.common.inbound import Inbound
from services.common.messaging import (
    CONFLICT_MESSAGE,
    DUPLICATE_ID_CONFLICT,
    conflicts,
    mark_processed,
    payload_hash,
    processed_hashes,
    write_outbox,
)
from services.common.policy import policy_for
from services.common.record_replica import ReplicaRecord, get_replica
from services.common.schemas import EVIDENCE_MAX, EvidenceItem, SubjectType
from services.common.sql import insert_rows, key_in, lock_keys
from services.repair.commands import apply_command
from services.repair.events import SOURCE, changed_event
from services.repair.models import APPLICATIONS, COMMANDS, MESSAGING, REPLICA
from services.repair.records import learn_records
from workflows.repair.inputs import OPEN_STATES, RepairApplication
from workflows.repair.rules import Refusal, judge_application, terms_from

ID_NAMESPACE = uuid.UUID("0c3f6a52-8a1e-4f57-9b61-5d2e7e0b3a41")
REFUSED = "rejected:"  # processed-event outcome prefix of a refusal, followed by its code


class Applicant(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # Type and name may be left out: the applicant is the record's subject, whose are known.
    type: SubjectType | None = None
    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _normalised_id(self) -> "Applicant":
        self.id = normalise_applicant_id(self.type, self.id)
        return self


class RepairRequest(BaseModel):
    """`data` of repair.requested.v1 (CONTRACT §1), also the body of POST /v1/repairs."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    record_id: str = Field(min_length=1, max_length=64)
    applicant: Applicant
    # Absent or blank is refused as `commitment_required`, not as a schema error: it is the rule.
    commitment: str = Field(default="", max_length=5000)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)


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
    requests = [_parse(i) for i in items]
    record_ids = sorted({r.record_id for r in requests if isinstance(r, RepairRequest)})
    # Serialise applications per record across replicas: "one open application" is check-then-insert.
    await lock_keys(conn, [f"repair:{rid}" for rid in record_ids])
    if learned:
        await learn_records(conn, learned, now=now)
    kept = await processed_hashes(conn, MESSAGING.processed, [i.identity for i in items])
    seen = set(kept)
    open_by_record = await _open_applications(conn, record_ids)
    repaired = await _approved(conn, record_ids)
    outcomes: list[Outcome] = []
    rows: list[dict] = []
    processed, outbox, dispatch = [], [], []
    for item, request in zip(items, requests, strict=True):
        digest = payload_hash(item)
        if item.identity in seen:
            if conflicts(kept.get(item.identity), item):
                conflict = Refusal(DUPLICATE_ID_CONFLICT, CONFLICT_MESSAGE)
                outbox.append(conflict_letter(item, source=SOURCE, now=now, variant=digest))
                outcomes.append(Outcome("refused", refusal=conflict))
            else:
                outcomes.append(await _earlier_outcome(conn, item, rows))
            continue
        seen.add(item.identity)
        kept[item.identity] = digest
        refusal = request if isinstance(request, Refusal) else None
        record = None
        if isinstance(request, RepairRequest):
            record = await get_replica(conn, REPLICA, request.record_id)
            refusal = _judge(
                request, record, open_by_record.get(request.record_id), repaired=request.record_id in repaired, now=now
            )
        if refusal is not None:
            outbox.append(rejected_event(item, reason=refusal.code, message=refusal.message, source=SOURCE, now=now))
            processed.append((*item.identity, REFUSED + refusal.code, digest))
            outcomes.append(Outcome("refused", refusal=refusal))
            continue
        assert isinstance(request, RepairRequest) and record is not None
        row = _application_row(item, request, record, now=now)
        rows.append(row)
        open_by_record[record.record_id] = row["id"]
        outbox.append(changed_event(row, now=now))
        dispatch.append(_apply_command(row))
        processed.append((*item.identity, "submitted", digest))
        outcomes.append(Outcome("submitted", application=row))
    await insert_rows(conn, APPLICATIONS, rows)
    await write_commands(conn, COMMANDS, dispatch)
    await mark_processed(conn, MESSAGING.processed, processed)
    await write_outbox(conn, MESSAGING.outbox, outbox)
    return outcomes


def _parse(item: Inbound) -> RepairRequest | Refusal:
    assert item.envelope is not None, "the handler passes only parsed repair.requested.v1 events"
    try:
        return RepairRequest.model_validate(item.envelope.data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return Refusal("invalid_data", detail)


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
