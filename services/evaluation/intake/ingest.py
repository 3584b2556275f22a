"""Intake: the one code path for behaviour reports and determinations, whether they come from
Kafka (in batches) or from `POST /v1/reports` (a batch of one).

In one transaction it records what is new, marks every (source, id) as processed, writes the
events it owes to the outbox (records, subject status, tasks, dead letters) and publishes the
new status of each subject it touched. A redelivered event finds its (source, id) processed and
changes nothing."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import correlation
from services.common.catalogue import Catalogue, load_catalogue
from services.common.cloudevents import Envelope
from services.common.deadletter import conflict_letter, rejected_event
from services.common.identifiers import is_division_code
from services.common.inbound import Inbound
from services.common.lawdates import local_date
from services.common.messaging import (
    CONFLICT_MESSAGE,
    DUPLICATE_ID_CONFLICT,
    OutboundEvent,
    conflicts,
    mark_processed,
    payload_hash,
    processed_hashes,
    write_outbox,
)
from services.common.policy import policy_for
from services.common.schemas import BehaviourReport
from services.common.settings import get_settings
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.common.topics import RECORD_CREATED
from services.evaluation import events
from services.evaluation.intake.rules import ACCEPTED_TYPES, OpenDetermination, Record, Rejection, decide
from services.evaluation.ledger.hashes import GENESIS
from services.evaluation.ledger.history import store_versions, version_row
from services.evaluation.models import (
    MESSAGING,
    CreditRecord,
    DeterminationTask,
    RecordVersion,
    subject_key,
)
from services.evaluation.records.subjects import publish_subject_statuses

RECORDS_T = table_of(CreditRecord)
HISTORY_T = table_of(RecordVersion)
TASKS_T = table_of(DeterminationTask)
ID_NAMESPACE = uuid.UUID("6f1f6c1e-6a43-4d4b-9a59-1d8f0f3c2a10")


@dataclass
class Outcome:
    kind: str  # recorded | determination_opened | rejected | duplicate
    record_id: str | None = None
    task_id: str | None = None
    reason: str | None = None
    message: str | None = None
    status: int = 200
    extra: dict = field(default_factory=dict)


REJECTED = "rejected:"


def derived_id(prefix: str, source: str, event_id: str) -> str:
    """Ids derive from (source, id): the same event can only ever produce the same record."""
    return f"{prefix}-{uuid.uuid5(ID_NAMESPACE, f'{source}|{event_id}')}"


async def ingest(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> list[Outcome]:
    """Apply a batch inside the caller's transaction; returns one outcome per item, in order."""
    today = local_date(now)
    kept = await processed_hashes(conn, MESSAGING.processed, [i.identity for i in items])
    seen = set(kept)
    catalogue = load_catalogue()
    outcomes: list[Outcome] = []
    records: list[dict] = []
    history: list[dict] = []
    tasks: list[dict] = []
    processed: list[tuple] = []
    outbox: list[OutboundEvent] = []
    touched: dict[str, dict] = {}
    outer = correlation.current()
    for item in items:
        correlation.follow(item, outer)
        identity = item.identity
        digest = payload_hash(item)
        if identity in seen:
            if conflicts(kept.get(identity), item):
                outcomes.append(Outcome("rejected", reason=DUPLICATE_ID_CONFLICT, message=CONFLICT_MESSAGE, status=409))
                outbox.append(conflict_letter(item, source=events.SOURCE, now=now, variant=digest))
            else:
                outcomes.append(Outcome("duplicate"))
            continue
        seen.add(identity)
        kept[identity] = digest
        decision = _decide(item, catalogue=catalogue, today=today)
        if isinstance(decision, Rejection):
            outcomes.append(
                Outcome("rejected", reason=decision.reason, message=decision.message, status=decision.status)
            )
            outbox.append(
                rejected_event(item, reason=decision.reason, message=decision.message, source=events.SOURCE, now=now)
            )
            # The refusal is kept with its status and reason, so a retry with the same payload is
            # answered the same refusal (`find_outcome_of`).
            processed.append((*identity, f"{REJECTED}{decision.status}:{decision.reason}"[:40], digest))
            continue
        source, event_id = identity
        if isinstance(decision.outcome, OpenDetermination):
            task = _task_row(decision.envelope, decision.report, now=now)
            tasks.append(task)
            outbox.append(events.determination_requested_event(task, event_time=now))
            outcomes.append(Outcome("determination_opened", task_id=task["id"], status=202))
            processed.append((source, event_id, "determination_opened", digest))
            continue
        row = _record_row(decision, now=now, recorded_by=item.recorded_by)
        records.append(row)
        actor = f"{row['reporter_type']}:{row['reporter_id']}"
        history.append(version_row(row, change="created", actor=actor, now=now, prev_hash=GENESIS))
        outbox.append(events.record_event(RECORD_CREATED, row, event_time=now))
        touched[row["subject_key"]] = {
            "type": row["subject_type"],
            "id": row["subject_id"],
            "name": row["subject_name"],
        }
        outcomes.append(Outcome("recorded", record_id=row["id"], status=201))
        processed.append((source, event_id, "recorded", digest))
    correlation.restore(outer)
    if records:
        await insert_rows(conn, RECORDS_T, records)
        await store_versions(conn, history)
    if tasks:
        await insert_rows(conn, TASKS_T, tasks)
    await mark_processed(conn, MESSAGING.processed, processed)
    outbox.extend(await publish_subject_statuses(conn, touched, cause="record.created", now=now))
    await write_outbox(conn, MESSAGING.outbox, outbox)
    return outcomes


@dataclass(frozen=True)
class _Accepted:
    envelope: Envelope
    report: BehaviourReport
    outcome: Record | OpenDetermination
    policy_version: str


def _decide(item: Inbound, *, catalogue: Catalogue, today: date) -> Rejection | _Accepted:
    if item.envelope is None:
        return Rejection(item.reason or "malformed_event", item.message or "not a CloudEvent")
    env = item.envelope
    if env.type not in ACCEPTED_TYPES:
        return Rejection("unknown_type", f"{env.type!r} is not accepted on this topic")
    try:
        report = BehaviourReport.model_validate(env.data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return Rejection("invalid_data", detail)
    if not is_division_code(report.region):
        return Rejection("invalid_identifier", f"region {report.region!r} is not a division code")
    try:
        policy = policy_for(report.region, today)
    except LookupError as exc:
        return Rejection("no_policy", str(exc))
    outcome = decide(
        env.type,
        report,
        catalogue=catalogue,
        policy=policy,
        today=today,
        reporter_regions=_reporter_regions(item, report),
    )
    if isinstance(outcome, Rejection):
        return outcome
    return _Accepted(env, report, outcome, policy.version)


def _reporter_regions(item: Inbound, report: BehaviourReport) -> list[str]:
    """Where a purchaser or agency belongs: over HTTP the token's region; over Kafka the division code
    its USCC was registered under (GB 32100-2015, characters 3–8) and the regions the sending platform
    is configured to carry (`CREDIT_PLATFORM_REGIONS`)."""
    if item.reporter_region is not None:
        return [item.reporter_region]
    assert item.envelope is not None
    return [report.reporter.id[2:8], *get_settings().credit_platform_regions.get(item.envelope.source, ())]


def _record_row(accepted: _Accepted, *, now: datetime, recorded_by: str | None) -> dict:
    env, r = accepted.envelope, accepted.report
    assert isinstance(accepted.outcome, Record)
    return record_row(
        record_id=derived_id("rec", env.source, env.id),
        report=r,
        severity=accepted.outcome.behaviour.severity,
        valid_until=accepted.outcome.valid_until,
        policy_version=accepted.policy_version,
        source=env.source,
        source_event_id=env.id,
        recorded_by=recorded_by,
        now=now,
    )


def record_row(
    *,
    record_id: str,
    report: BehaviourReport,
    severity: str,
    valid_until: date,
    policy_version: str,
    source: str,
    source_event_id: str,
    recorded_by: str | None,
    now: datetime,
) -> dict:
    """A new record (version 1) from a report; also used when a determination task records one."""
    r = report
    return {
        "id": record_id,
        "subject_key": subject_key(r.subject.type, r.subject.id),
        "subject_type": r.subject.type,
        "subject_id": r.subject.id,
        "subject_name": r.subject.name,
        "behaviour_code": r.behaviour_code,
        "severity": severity,
        "region": r.region,
        "reporter_type": r.reporter.type,
        "reporter_id": r.reporter.id,
        "reporter_name": r.reporter.name,
        "project": r.project.model_dump(mode="json"),
        "occurred_on": r.occurred_on,
        "recorded_on": local_date(now),
        "recorded_at": now,
        "valid_until": valid_until,
        "status": "in_force",
        "version": 1,
        "description": r.description,
        "evidence": [e.model_dump(mode="json") for e in r.evidence],
        "determination": r.determination.model_dump(mode="json", exclude_none=True) if r.determination else None,
        "policy_version": policy_version,
        "source": source,
        "source_event_id": source_event_id,
        "recorded_by": recorded_by,
        "appeal": None,
        "resolution": None,
    }


def _task_row(env: Envelope, r: BehaviourReport, *, now: datetime) -> dict:
    return {
        "id": derived_id("task", env.source, env.id),
        "kind": "determination",
        "region": r.region,
        "state": "open",
        "subject_key": subject_key(r.subject.type, r.subject.id),
        "behaviour_code": r.behaviour_code,
        "report": r.model_dump(mode="json"),
        "created_at": now,
        "source": env.source,
        "source_event_id": env.id,
    }


async def find_outcome_of(conn: AsyncConnection, source: str, event_id: str) -> Outcome | None:
    """For an HTTP retry with the same Idempotency-Key: what the first attempt produced."""
    rec = (
        await conn.execute(
            select(RECORDS_T.c.id).where(RECORDS_T.c.source == source, RECORDS_T.c.source_event_id == event_id)
        )
    ).first()
    if rec:
        return Outcome("duplicate", record_id=rec.id, status=200)
    task = (
        await conn.execute(
            select(TASKS_T.c.id).where(TASKS_T.c.source == source, TASKS_T.c.source_event_id == event_id)
        )
    ).first()
    if task:
        return Outcome("duplicate", task_id=task.id, status=200)
    t = MESSAGING.processed
    outcome = (
        await conn.execute(select(t.c.outcome).where(t.c.source == source, t.c.event_id == event_id))
    ).scalar_one_or_none()
    if outcome and outcome.startswith(REJECTED):
        status, _, reason = outcome.removeprefix(REJECTED).partition(":")
        if status.isdigit() and reason:
            message = "the same request was refused before; fix it and send it with a new Idempotency-Key"
            return Outcome("rejected", reason=reason, message=message, status=int(status))
    return None
