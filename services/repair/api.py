"""HTTP entry points of the repair service (CONTRACT §2): `POST /v1/repairs` translates a request
into the same `repair.requested.v1` the Kafka consumer takes (one code path: applications.receive),
and `GET /v1/repairs…` shows where an application and a record's repair stand."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.common.auth import Principal, Role, require_roles
from services.common.contracts.applications import Applicant
from services.common.documented import typed
from services.common.inbound import from_http
from services.common.messaging import http_code
from services.common.problems import Problem
from services.common.record_owner import OwnerUnavailable, not_yet_known, rows_from_owner
from services.common.record_replica import as_record, get_replica, replica_row
from services.common.runtime import RuntimeDep
from services.common.schemas import EVIDENCE_MAX, EvidenceItem
from services.common.topics import REPAIR_REQUESTED
from services.repair.applications import receive
from services.repair.models import APPLICATIONS, REPLICA, WINDOWS
from services.repair.representation import application_view, window_view
from services.repair.schemas import RepairAccepted, RepairApplication, RepairsOfRecord

router = APIRouter()
# The subject itself applies and follows (as in services/evaluation/records/access.py).
SUBJECT_ROLES = (Role.SUBJECT, Role.AGENCY, Role.PURCHASER)
TITLES = {
    "record_not_found": "Record not found",
    "not_your_record": "Not your record",
    "commitment_required": "Written commitment required",
    "invalid_data": "Invalid application",
    "not_repairable": "Record not repairable",
    "too_early": "Too early for repair",
    "already_repaired": "Record already repaired",
    "record_expired": "Record expired",
    "record_withdrawn": "Record withdrawn",
    "record_corrected": "Record corrected",
    "record_under_appeal": "Record under appeal",
    "application_open": "An application is already open",
}


class RepairBody(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    record_id: str = Field(min_length=1, max_length=64)
    commitment: str = Field(default="", max_length=5000, description="the written commitment (书面承诺)")
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)
    applicant: Applicant | None = Field(default=None, description="defaults to the caller (token org)")


def _may_follow(principal: Principal, *, region: str, subject_id: str) -> bool:
    if principal.is_finance():
        return principal.covers_region(region)
    return principal.role in SUBJECT_ROLES and principal.org == subject_id


@router.post("/v1/repairs", tags=["repair"], status_code=202, **typed(RepairAccepted, 202))
async def post_repair(
    request: Request,
    body: RepairBody,
    principal: Annotated[Principal, Depends(require_roles(*SUBJECT_ROLES))],
    rt: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Apply for credit repair of one of your own records (001 Art. 20): with a written commitment,
    once the record has stood the policy's waiting period. The same rules as `repair.requested.v1`
    on Kafka. Send an `Idempotency-Key` header to make a retry safe."""
    if body.applicant is not None and body.applicant.id != principal.org:
        raise Problem(403, "applicant_mismatch", "Applicant is not the caller", "apply as yourself (token org)")
    applicant = body.applicant or Applicant(id=principal.org)
    now = datetime.now(UTC)
    data = body.model_dump(mode="json") | {"applicant": applicant.model_dump(mode="json")}
    item = from_http(
        role=principal.role,
        org=principal.org,
        event_type=REPAIR_REQUESTED,
        data=data,
        key=principal.org,
        idempotency_key=idempotency_key,
        now=now,
    )
    try:
        # Asked before the writer lock: nobody waits behind a call to another service.
        learned = await rows_from_owner(rt.engine, REPLICA, request.app.state.owner, [body.record_id])
    except OwnerUnavailable as exc:
        raise not_yet_known(body.record_id, exc) from None
    async with rt.intake_lock, rt.engine.begin() as conn:
        (outcome,) = await receive(conn, [item], now=now, learned=learned)
    rt.relay.wake()
    rt.wake_commands()
    if outcome.refusal is not None:
        r = outcome.refusal
        raise Problem(r.status, http_code(r.code), TITLES.get(r.code, "Application refused"), r.message, **r.extra)
    assert outcome.application is not None
    status = 200 if outcome.kind == "duplicate" else 202
    return JSONResponse({"outcome": outcome.kind, **application_view(outcome.application)}, status_code=status)


@router.get("/v1/repairs/{application_id}", tags=["repair"], **typed(RepairApplication))
async def get_repair(
    application_id: str,
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """Where an application stands: its state, the review task, the decision with reason and
    opinion, and its history. For the subject itself and finance departments of its region."""
    async with rt.engine.connect() as conn:
        found = (await conn.execute(select(APPLICATIONS).where(APPLICATIONS.c.id == application_id))).first()
    # Same answer for "absent" and "not yours", so ids cannot be probed.
    if found is None or not _may_follow(principal, region=found.region, subject_id=found.subject_id):
        raise Problem(
            404,
            "repair_not_found",
            "Repair application not found",
            f"no application {application_id}",
            values={"application_id": application_id},
        )
    return application_view(dict(found._mapping))


@router.get("/v1/repairs", tags=["repair"], **typed(RepairsOfRecord))
async def list_repairs(
    request: Request,
    record_id: Annotated[str, Query(min_length=1, max_length=64)],
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """A record's repair: its window (when an application is accepted, until when) and every
    application for it, newest first."""
    async with rt.engine.connect() as conn:
        record = await get_replica(conn, REPLICA, record_id)
    if record is None:
        # The subject may look at the record it was just told of before the replica has it: the
        # owner says what it is (not stored: a read changes nothing; the window is then computed).
        try:
            data = await request.app.state.owner.fetch(record_id)
        except OwnerUnavailable as exc:
            raise not_yet_known(record_id, exc) from None
        record = as_record(replica_row(data)) if data is not None else None
    async with rt.engine.connect() as conn:
        if record is None or not _may_follow(principal, region=record.region, subject_id=record.subject_id):
            raise Problem(404, "record_not_found", "Record not found", f"no record {record_id} for you")
        stored = (await conn.execute(select(WINDOWS).where(WINDOWS.c.record_id == record_id))).first()
        rows = await conn.execute(
            select(APPLICATIONS)
            .where(APPLICATIONS.c.record_id == record_id)
            .order_by(APPLICATIONS.c.submitted_at.desc())
        )
        applications = [application_view(dict(r._mapping)) for r in rows]
    return {
        "record_id": record_id,
        "record": {
            "version": record.version,
            "status": record.status,
            "severity": record.severity,
            "behaviour_code": record.behaviour_code,
            "subject": record.subject,
            "region": record.region,
            "recorded_on": record.recorded_on.isoformat(),
            "valid_until": record.valid_until.isoformat(),
        },
        "window": window_view(record, dict(stored._mapping) if stored else None, now=datetime.now(UTC)),
        "count": len(applications),
        "applications": applications,
    }
