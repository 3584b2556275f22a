"""Intake: the one code path for behaviour reports and determinations, whether they come from
Kafka (in batches) or from `POST /v1/reports` (a batch of one).

In one transaction it records what is new, marks every (source, id) as processed, writes the
events it owes to the outbox (records, subject status, tasks, dead letters) and publishes the
new status of each subject it touched. A redelivered event finds its (source, id) processed and
changes nothing."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.catalogue import load_catalogue
from services.common.cloudevents import Envelope
from services.common.contracts.behaviour import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED
from services.common.contracts.decode import Typed
from services.common.contracts.owners import EVALUATION
from services.common.frame import Accepted, Batch, Consumer, Rejected, handle_batch
from services.common.identifiers import is_division_code
from services.common.inbound import Inbound
from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.common.schemas import BehaviourReport
from services.common.settings import get_settings
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.common.topics import INBOUND_BEHAVIOUR, RECORD_CREATED
from services.evaluation import events
from services.evaluation.intake.rules import OpenDetermination, Record, Rejection, decide
from services.evaluation.ledger.hashes import GENESIS
from services.evaluation.ledger.history import LEDGER_T, ledger_leaves, version_row
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
SIGNALS_SOURCE = "urn:credit:signals"
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
    results = await handle_batch(CONSUMER, conn, items, now=now)
    return [_outcome(r.outcome) for r in results]


def _outcome(outcome: object) -> Outcome:
    if isinstance(outcome, Accepted):
        return outcome.result
    if isinstance(outcome, Rejected):
        return Outcome("rejected", reason=outcome.reason, message=outcome.message, status=outcome.status)
    return Outcome("duplicate")


@dataclass
class _Writes:
    records: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    touched: dict[str, dict] = field(default_factory=dict)


def _writes(batch: Batch) -> _Writes:
    return batch.state("intake", _Writes)


async def _report(event: Typed[BehaviourReport], batch: Batch) -> Accepted | Rejected:
    """behaviour.reported.v1 and misconduct.determined.v1: a record, a determination task, or a refusal."""
    env, report, now = event.envelope, event.data, batch.now
    decision = _decide(event, today=local_date(now))
    if isinstance(decision, Rejection):
        # The refusal is kept with its status and reason, so a retry with the same payload is
        # answered the same refusal (`find_outcome_of`).
        return Rejected(decision.reason, decision.message, status=decision.status)
    writes = _writes(batch)
    if isinstance(decision.outcome, OpenDetermination):
        task = _task_row(env, report, now=now)
        writes.tasks.append(task)
        batch.emit(events.determination_requested_event(task, event_time=now))
        return Accepted("determination_opened", Outcome("determination_opened", task_id=task["id"], status=202))
    row = _record_row(decision, now=now, recorded_by=event.item.recorded_by)
    writes.records.append(row)
    actor = f"{row['reporter_type']}:{row['reporter_id']}"
    writes.history.append(version_row(row, change="created", actor=actor, now=now, prev_hash=GENESIS))
    batch.emit(events.record_event(RECORD_CREATED, row, event_time=now))
    writes.touched[row["subject_key"]] = {
        "type": row["subject_type"],
        "id": row["subject_id"],
        "name": row["subject_name"],
    }
    return Accepted("recorded", Outcome("recorded", record_id=row["id"], status=201))


async def _write(batch: Batch) -> None:
    writes = _writes(batch)
    if writes.records:
        await insert_rows(batch.conn, RECORDS_T, writes.records)
        await insert_rows(batch.conn, HISTORY_T, writes.history)
        # The leaves go in under the outbox's writer lock, at the end of the batch (frame).
        batch.in_commit_order.append((LEDGER_T, ledger_leaves(writes.history)))
    if writes.tasks:
        await insert_rows(batch.conn, TASKS_T, writes.tasks)
    batch.emit(*await publish_subject_statuses(batch.conn, writes.touched, cause="record.created", now=batch.now))


# The refusal is kept with its status and reason, so a retry with the same payload is answered the
# same refusal (`find_outcome_of`).
CONSUMER = Consumer(
    EVALUATION,
    events.SOURCE,
    MESSAGING,
    (INBOUND_BEHAVIOUR,),
    {BEHAVIOUR_REPORTED: _report, MISCONDUCT_DETERMINED: _report},
    refusal_mark=lambda reason, status: f"{REJECTED}{status}:{reason}",
    finish=_write,
)


@dataclass(frozen=True)
class _Accepted:
    envelope: Envelope
    report: BehaviourReport
    outcome: Record | OpenDetermination
    policy_version: str


def _decide(event: Typed[BehaviourReport], *, today: date) -> Rejection | _Accepted:
    env, report = event.envelope, event.data
    if not is_division_code(report.region):
        return Rejection("invalid_identifier", f"region {report.region!r} is not a division code")
    if report.reporter.type == "system" and (env.source != SIGNALS_SOURCE or event.item.reporter_region is not None):
        # Only the signals service reports in the system's name, and only over Kafka.
        return Rejection("not_authorised", f"only {SIGNALS_SOURCE} reports as the system", status=403)
    try:
        policy = policy_for(report.region, today)
    except LookupError as exc:
        return Rejection("no_policy", str(exc))
    outcome = decide(
        env.type,
        report,
        catalogue=load_catalogue(),
        policy=policy,
        today=today,
        reporter_regions=None if report.reporter.type == "system" else _reporter_regions(event.item, report),
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
