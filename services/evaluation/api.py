"""HTTP entry points of the evaluation service (CONTRACT §2). They only translate HTTP to the
same intake the Kafka consumer uses, and read records back."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from services.common.auth import Principal, Role, require_roles
from services.common.catalogue import load_catalogue
from services.common.documented import typed
from services.common.identifiers import normalise_subject_id
from services.common.inbound import from_http
from services.common.messaging import http_code
from services.common.problems import Problem
from services.common.runtime import Runtime, RuntimeDep
from services.common.schemas import BehaviourReport
from services.common.tables import table_of
from services.common.topics import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED
from services.evaluation.intake.ingest import find_outcome_of, ingest
from services.evaluation.models import CreditRecord, EmployerNotification, ExpertStandingRow, RecordVersion
from services.evaluation.records.access import is_subject_itself, may_read
from services.evaluation.records.evidence_access import evidence_visibility
from services.evaluation.records.representation import history_view, record_view
from services.evaluation.schemas import Catalogue, ExpertStandingDetail, RecordList, RecordWithHistory

router = APIRouter()
RECORDS_T = table_of(CreditRecord)
HISTORY_T = table_of(RecordVersion)
STANDING_T = table_of(ExpertStandingRow)
NOTICES_T = table_of(EmployerNotification)
REPORTER_OF_ROLE = {
    Role.PURCHASER: "purchaser",
    Role.AGENCY: "agency",
    Role.FINANCE_OFFICER: "finance",
    Role.SUPERVISOR: "finance",
}


@router.get("/v1/catalogue", tags=["catalogue"], **typed(Catalogue))
async def get_catalogue(
    subject: Literal["supplier", "agency", "expert"] | None = None,
    severity: Literal["serious", "general"] | None = None,
) -> dict:
    """The behaviour catalogue in force: each behaviour's `legal_basis` (the Luoyang article and item,
    and the statute the measures cite, `statute`) apart from its `references` (other regions'
    measures the Luoyang text marks 参考, which are not a legal basis)."""
    catalogue = load_catalogue()
    items = [
        b.model_dump()
        for b in catalogue.behaviours
        if (subject is None or b.subject == subject) and (severity is None or b.severity == severity)
    ]
    return {
        "source": catalogue.source,
        "references_note": catalogue.references_note,
        "count": len(items),
        "behaviours": items,
    }


class ReportOutcome(BaseModel):
    """What `POST /v1/reports` did: `recorded` (201, the record made), `determination_opened` (202, a
    reported serious behaviour waits for a finance department's determination: `task_id`), or
    `duplicate` (200, the same request seen before: what it made then)."""

    outcome: Literal["recorded", "determination_opened", "duplicate"]
    event_id: str
    record_id: str | None = None
    record: dict | None = None
    task_id: str | None = None


@router.post(
    "/v1/reports",
    tags=["intake"],
    status_code=201,
    response_model=None,
    responses={
        200: {"model": ReportOutcome, "description": "`duplicate`: sent before (same Idempotency-Key and body)"},
        201: {"model": ReportOutcome, "description": "`recorded`: a general behaviour or a determined misconduct"},
        202: {"model": ReportOutcome, "description": "`determination_opened`: a reported serious behaviour, "
              "accepted; the record follows a finance department's determination (`task_id`)"},
    },
)  # fmt: skip
async def post_report(
    report: BehaviourReport,
    principal: Annotated[
        Principal, Depends(require_roles(Role.PURCHASER, Role.AGENCY, Role.FINANCE_OFFICER, Role.SUPERVISOR))
    ],
    rt: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Report a behaviour (`behaviour.reported.v1`) or, with `determination`, record a determined
    serious misconduct (`misconduct.determined.v1`) — the same rules as on Kafka. Send an
    `Idempotency-Key` header to make a retry safe."""
    if report.reporter.type != REPORTER_OF_ROLE[principal.role] or report.reporter.id != principal.org:
        raise Problem(
            403,
            "reporter_mismatch",
            "Reporter is not the caller",
            f"a {principal.role} token for {principal.org} cannot report"
            f" as {report.reporter.type} {report.reporter.id}",
        )
    now = datetime.now(UTC)
    item = from_http(
        role=principal.role,
        org=principal.org,
        event_type=MISCONDUCT_DETERMINED if report.determination else BEHAVIOUR_REPORTED,
        data=report.model_dump(mode="json"),
        key=report.subject.id,
        idempotency_key=idempotency_key,
        now=now,
        recorded_by=principal.sub,
        region=principal.region,
    )
    source, event_id = item.identity
    async with rt.intake_lock, rt.engine.begin() as conn:
        (outcome,) = await ingest(conn, [item], now=now)
        if outcome.kind == "duplicate":
            outcome = await find_outcome_of(conn, source, event_id) or outcome
    rt.relay.wake()
    if outcome.kind == "rejected":
        raise Problem(outcome.status, http_code(outcome.reason), "Report refused", outcome.message)
    body: dict = {"outcome": outcome.kind, "event_id": event_id}
    if outcome.record_id:
        body["record_id"] = outcome.record_id
        # Evidence is read back only through GET with an approved request (002 (十二)).
        body["record"] = await _record_or_none(rt, outcome.record_id, with_evidence=False)
    if outcome.task_id:
        body["task_id"] = outcome.task_id
    return JSONResponse(body, status_code=outcome.status)


@router.get("/v1/records", tags=["records"], **typed(RecordList))
async def list_records(
    subject_type: Literal["supplier", "agency", "expert", "purchaser"],
    subject_id: Annotated[str, Query(min_length=1, max_length=64)],
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """A subject's records, in force and past: for finance departments (records of their region and
    below) and for the subject itself."""
    subject_id = normalise_subject_id(subject_type, subject_id)
    if not (principal.is_finance() or is_subject_itself(principal, subject_id)):
        raise Problem(403, "forbidden", "Forbidden", "only finance departments and the subject itself")
    async with rt.engine.begin() as conn:
        rows = [
            dict(r._mapping)
            for r in await conn.execute(
                select(RECORDS_T)
                .where(RECORDS_T.c.subject_type == subject_type, RECORDS_T.c.subject_id == subject_id)
                .order_by(RECORDS_T.c.recorded_at.desc())
            )
        ]
        visible = [r for r in rows if may_read(principal, region=r["region"], subject_id=r["subject_id"])]
        evidence = await evidence_visibility(conn, principal, visible)
    views = [
        _with_access(record_view(r, with_evidence=evidence[r["id"]]), principal, evidence[r["id"]]) for r in visible
    ]
    return {"subject": {"type": subject_type, "id": subject_id}, "count": len(visible), "records": views}


@router.get("/v1/records/{record_id}", tags=["records"], **typed(RecordWithHistory))
async def get_record(
    record_id: str,
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """A record with its full history; evidence only for finance departments."""
    async with rt.engine.begin() as conn:
        row = (await conn.execute(select(RECORDS_T).where(RECORDS_T.c.id == record_id))).first()
        # Same answer for "absent" and "not yours", so ids cannot be probed.
        if row is None or not may_read(principal, region=row.region, subject_id=row.subject_id):
            raise Problem(404, "record_not_found", "Record not found", f"no record {record_id} for you")
        versions = await conn.execute(
            select(HISTORY_T).where(HISTORY_T.c.record_id == record_id).order_by(HISTORY_T.c.version)
        )
        record = dict(row._mapping)
        shown = (await evidence_visibility(conn, principal, [record]))[record_id]
        return _with_access(
            {
                **record_view(record, with_evidence=shown),
                "history": [history_view(dict(v._mapping), with_evidence=shown) for v in versions],
            },
            principal,
            shown,
        )


def _with_access(view: dict, principal: Principal, shown: bool) -> dict:
    """Tell finance why evidence is missing: it needs an approved access request."""
    if principal.is_finance() and not shown:
        view["evidence_access"] = "approval_required"
    return view


async def _record_or_none(rt: Runtime, record_id: str, *, with_evidence: bool) -> dict | None:
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(RECORDS_T).where(RECORDS_T.c.id == record_id))).first()
    return record_view(dict(row._mapping), with_evidence=with_evidence) if row else None


@router.get("/v1/experts/{expert_id}/standing", tags=["experts"], **typed(ExpertStandingDetail))
async def expert_standing(
    expert_id: str,
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """An expert's standing with its evaluation score and the score's history (000 §三.3): for
    finance departments of the expert's region and above, and for the expert itself."""
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(STANDING_T).where(STANDING_T.c.expert_id == expert_id))).first()
        if row is None or not may_read(principal, region=row.region, subject_id=expert_id):
            raise Problem(404, "expert_not_found", "No standing", f"no standing of expert {expert_id} for you")
        notices = await conn.execute(
            select(NOTICES_T).where(NOTICES_T.c.expert_id == expert_id).order_by(NOTICES_T.c.last_attempt_at)
        )
        # The audit of employer notifications (001 Art. 25) is the finance department's to see.
        audit = [
            {
                "record_id": n.record_id,
                "status": n.status,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "last_attempt_at": n.last_attempt_at.isoformat(),
                "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
            }
            for n in notices
        ]
    body = {"expert_id": expert_id, "region": row.region, **row.standing}
    if principal.is_finance():
        body["employer_notifications"] = audit
    return body
