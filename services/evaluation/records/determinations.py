"""Applying a case officer's decision on a reported serious behaviour (CONTRACT §4, 001 Art. 17):
`determine` records it as the finance department's, with its determination, as if a
`misconduct.determined.v1` had arrived; `record_general` records a general behaviour of the same
subject instead; `dismiss` records nothing; `withdraw` (issue 16 point 5: the officer withdrew the
intended determination after the subject's statement) records nothing either. The same rules as
intake (domain.decide) judge the result, and the request keeps the decision and the record it made,
so a retry does nothing twice."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.catalogue import load_catalogue
from services.common.lawdates import local_date
from services.common.messaging import write_outbox
from services.common.policy import policy_for
from services.common.schemas import BehaviourReport
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.common.topics import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED, RECORD_CREATED
from services.evaluation import events
from services.evaluation.intake.ingest import derived_id, record_row
from services.evaluation.intake.rules import OpenDetermination, Rejection, decide
from services.evaluation.ledger.hashes import GENESIS
from services.evaluation.ledger.history import store_versions, version_row
from services.evaluation.models import MESSAGING, CreditRecord, DeterminationTask
from services.evaluation.records.commitments import mark_breached
from services.evaluation.records.subjects import publish_subject_statuses
from workflows.record_inputs import DeterminationApplied, DeterminationIntended, RecordChangeResult

RECORDS_T = table_of(CreditRecord)
REQUESTS_T = table_of(DeterminationTask)
SOURCE = "urn:credit:determination"
NOT_RECORDING = ("dismiss", "withdraw")


def determined_report(report: dict, inp: DeterminationApplied) -> BehaviourReport:
    """The report as the finance department records it: its own, with the officer's fields."""
    # The signal stays with the request; the record is the department's own finding.
    data = {
        **{k: v for k, v in report.items() if k != "signal"},
        "reporter": {"type": "finance", "id": inp.decided_by_org, "name": f"财政部门 {inp.decided_by_org}"},
    }
    if inp.decision == "determine":
        data["determination"] = inp.fields.get("determination")
    else:
        data["behaviour_code"] = inp.fields.get("behaviour_code")
        data["determination"] = None
    return BehaviourReport.model_validate(data)


async def note_intended(engine: AsyncEngine, inp: DeterminationIntended) -> bool:
    """The request is `intended`: the subject was notified of the determination the officer made and
    may file a statement until `statement_due` (issue 16 point 5); its integrity archive shows it.
    Only a request not decided yet changes (a retry, or a later decision, finds it decided)."""
    as_json = inp.model_dump(mode="json")
    intended = {**as_json["intended"], "outcome": "intended", "statement_due": as_json["statement_due"]}
    async with engine.begin() as conn:
        done = await conn.execute(
            update(REQUESTS_T)
            .where(REQUESTS_T.c.id == inp.intended.request_id, REQUESTS_T.c.decided_at.is_(None))
            .values(state="intended", decision=intended)
        )
    return bool(done.rowcount)


async def apply_determination(engine: AsyncEngine, inp: DeterminationApplied, *, now: datetime) -> RecordChangeResult:
    async with engine.begin() as conn:
        q = select(REQUESTS_T).where(REQUESTS_T.c.id == inp.request_id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        request = (await conn.execute(q)).first()
        if request is None:
            return RecordChangeResult(applied=False, note=f"no determination request {inp.request_id}")
        if request.decided_at is not None:
            return RecordChangeResult(applied=False, record_id=request.record_id, note="decided already")
        decision = {**inp.model_dump(mode="json"), "outcome": inp.decision}
        state, record, note = ("withdrawn" if inp.decision == "withdraw" else "dismissed"), None, ""
        if inp.decision not in NOT_RECORDING:
            record, note = _record_of(request.report, inp, now=now)
            state = "recorded" if record else "refused"
        await conn.execute(
            update(REQUESTS_T)
            .where(REQUESTS_T.c.id == inp.request_id)
            .values(
                state=state,
                decision={**decision, "note": note} if note else decision,
                record_id=record["id"] if record else None,
                decided_at=inp.decided_at,
            )
        )
        if record is None:
            return RecordChangeResult(applied=inp.decision in NOT_RECORDING, note=note or state)
        await insert_rows(conn, RECORDS_T, [record])
        await mark_breached(conn, request.report, record)
        actor = f"finance:{inp.decided_by_org}:{inp.decided_by}"
        await store_versions(conn, [version_row(record, change="created", actor=actor, now=now, prev_hash=GENESIS)])
        subject = {"type": record["subject_type"], "id": record["subject_id"], "name": record["subject_name"]}
        outbox = [events.record_event(RECORD_CREATED, record, event_time=now)]
        outbox += await publish_subject_statuses(
            conn, {record["subject_key"]: subject}, cause="record.created", now=now
        )
        await write_outbox(conn, MESSAGING.outbox, outbox)
    return RecordChangeResult(applied=True, record_id=record["id"], version=1, status="in_force")


def _record_of(report: dict, inp: DeterminationApplied, *, now: datetime) -> tuple[dict | None, str]:
    """The record the decision makes, or None and why the rules refuse it."""
    today = local_date(now)
    try:
        r = determined_report(report, inp)
    except ValueError as exc:
        return None, f"invalid_data: {exc}"
    behaviour = load_catalogue().get(r.behaviour_code)
    if inp.decision == "record_general" and behaviour is not None and behaviour.severity != "general":
        return None, f"severity_mismatch: record_general records a general behaviour, {r.behaviour_code} is serious"
    policy = policy_for(r.region, today)
    event_type = MISCONDUCT_DETERMINED if inp.decision == "determine" else BEHAVIOUR_REPORTED
    outcome = decide(event_type, r, catalogue=load_catalogue(), policy=policy, today=today)
    if isinstance(outcome, Rejection):
        return None, f"{outcome.reason}: {outcome.message}"
    if isinstance(outcome, OpenDetermination):
        # Only where the decider is no serious recorder, which the rules refuse before this.
        return None, f"not_authorised: {r.behaviour_code} waits for a finance department's determination"
    if inp.decision == "determine" and outcome.behaviour.severity != "serious":
        return None, "severity_mismatch: a determination records a serious behaviour"
    record = record_row(
        record_id=derived_id("rec", SOURCE, inp.request_id),
        report=r,
        severity=outcome.behaviour.severity,
        valid_until=outcome.valid_until,
        policy_version=policy.version,
        source=SOURCE,
        source_event_id=inp.request_id,
        recorded_by=inp.decided_by,
        now=now,
    )
    return record, ""
