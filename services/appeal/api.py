"""HTTP entry points of the appeal service (CONTRACT §2). `POST /v1/appeals` only translates HTTP to
the same filing path the Kafka consumer uses; `GET /v1/appeals/{id}` reads an appeal back."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.appeal.events import appeal_view
from services.appeal.filing import Filing, earlier_outcome, file_appeals
from services.appeal.models import APPEALS_T, REPLICA
from services.appeal.rules import Refusal
from services.appeal.schemas import Appeal
from services.common.auth import Principal, Role, require_roles
from services.common.contracts.applications import GROUNDS_MAX, Applicant
from services.common.documented import typed
from services.common.inbound import from_http
from services.common.messaging import http_code
from services.common.problems import Problem
from services.common.record_owner import OwnerUnavailable, not_yet_known, rows_from_owner
from services.common.runtime import Runtime, RuntimeDep
from services.common.schemas import EVIDENCE_MAX, EvidenceItem
from services.common.topics import APPEAL_FILED

router = APIRouter()
# Who may object (services/evaluation/records/access.py SUBJECT_ROLES): a token whose org is the subject.
SUBJECT_ROLES = (Role.SUBJECT, Role.AGENCY, Role.PURCHASER)


class AppealRequest(BaseModel):
    """The data of `appeal.filed.v1`; `applicant` may be left out — the token says who objects."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    record_id: str = Field(min_length=1, max_length=64)
    applicant: Applicant | None = None
    grounds: str = Field(default="", max_length=GROUNDS_MAX, description="why the record is wrong")
    evidence: list[EvidenceItem] = Field(
        default_factory=list, max_length=EVIDENCE_MAX, description="at least one item: 谁申请、谁举证"
    )


@router.post("/v1/appeals", tags=["appeals"], status_code=201, **typed(Appeal, 201))
async def post_appeal(
    body: AppealRequest,
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(*SUBJECT_ROLES))],
    rt: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Object to a credit record (Shandong (十)): grounds and at least one evidence item are required.
    Only the record's subject may object — with a token whose `org` is the subject's id. The record
    stays in force, marked under objection, until the finance department of its region decides.
    Send an `Idempotency-Key` header to make a retry safe."""
    if body.applicant is not None and body.applicant.id != principal.org:
        raise Problem(
            403,
            "applicant_mismatch",
            "Applicant is not the caller",
            f"a token for {principal.org} cannot object as {body.applicant.id}",
        )
    data = body.model_dump(mode="json", exclude_none=True)
    data["applicant"] = {**data.get("applicant", {}), "id": principal.org}
    now = datetime.now(UTC)
    item = from_http(
        role=principal.role,
        org=principal.org,
        event_type=APPEAL_FILED,
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
        (outcome,) = await file_appeals(conn, [item], now=now, filed_by=principal.sub, learned=learned)
        if outcome.kind == "duplicate":
            outcome = await earlier_outcome(conn, *item.identity) or outcome
    rt.relay.wake()
    rt.wake_commands()
    return await _answer(rt, outcome, status=201 if outcome.kind == "filed" else 200)


async def _answer(rt: Runtime, outcome: Filing, *, status: int) -> JSONResponse:
    if outcome.refusal is not None:
        raise _problem(outcome.refusal)
    if outcome.appeal_id is None:
        raise Problem(409, "duplicate_request", "Already received", "this Idempotency-Key was used before")
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(APPEALS_T).where(APPEALS_T.c.id == outcome.appeal_id))).one()
    return JSONResponse(appeal_view(dict(row._mapping), finance=False), status_code=status)


def _problem(r: Refusal) -> Problem:
    return Problem(r.status, http_code(r.reason), "Appeal refused", r.message, **(r.extra or {}))


@router.get("/v1/appeals/{appeal_id}", tags=["appeals"], **typed(Appeal))
async def get_appeal(
    appeal_id: str,
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """Where an appeal stands and, once decided, the decision with its reason: for the applicant
    (the record's subject) and the finance departments of the record's region and above."""
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(APPEALS_T).where(APPEALS_T.c.id == appeal_id))).first()
    finance = row is not None and principal.covers_region(row.region)
    subject = row is not None and principal.role in SUBJECT_ROLES and principal.org == row.subject_id
    # The same answer for "absent" and "not yours", so ids cannot be probed.
    if row is None or not (finance or subject):
        raise Problem(
            404,
            "appeal_not_found",
            "Appeal not found",
            f"no appeal {appeal_id} for you",
            values={"appeal_id": appeal_id},
        )
    return appeal_view(dict(row._mapping), finance=finance)
