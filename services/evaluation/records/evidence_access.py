"""Approval-gated, audited access to evidence (002 (十二): nobody views credit data without
approval; access is audited). A finance officer asks to read a record's evidence with a purpose;
a supervisor of the record's region who is not the requester approves; the grant lets that officer
read for the policy's time. Every read, every withholding, every request and approval (and every
refused self-approval) is an audit entry."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.auth import Principal, Role, require_roles
from services.common.documented import typed
from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.common.settings import get_settings
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.evaluation.models import AccessRequest, AuditEntry, CreditRecord, RecordVersion
from services.evaluation.records.access import readable_record
from services.evaluation.schemas import AccessRequestOut, AuditLog

router = APIRouter(tags=["evidence access"])
REQUESTS_T = table_of(AccessRequest)
AUDIT_T = table_of(AuditEntry)
RECORDS_T = table_of(CreditRecord)
HISTORY_T = table_of(RecordVersion)
FINANCE = (Role.FINANCE_OFFICER, Role.SUPERVISOR)


class AccessRequestIn(BaseModel):
    purpose: str = Field(min_length=4, max_length=1000)


def approval_required(region: str, now: datetime) -> bool:
    return policy_for(region, local_date(now)).evidence_access.approval_required


def grant_length(region: str, now: datetime) -> timedelta:
    override = get_settings().credit_evidence_grant_seconds
    if override:
        return timedelta(seconds=override)
    return timedelta(minutes=policy_for(region, local_date(now)).evidence_access.grant_minutes)


async def audit(
    conn: AsyncConnection, principal: Principal, action: str, record_id: str, region: str, request_id: str | None = None
) -> None:
    await insert_rows(
        conn,
        AUDIT_T,
        [
            {
                "at": datetime.now(UTC),
                "actor": principal.sub,
                "actor_role": str(principal.role),
                "actor_org": principal.org,
                "action": action,
                "record_id": record_id,
                "region": region,
                "request_id": request_id,
            }
        ],
    )


async def evidence_grants(conn: AsyncConnection, principal: Principal, record_ids: list[str]) -> dict[str, str]:
    """record id → id of the approved, unexpired request that lets this officer read its evidence."""
    if not record_ids:
        return {}
    rows = await conn.execute(
        select(REQUESTS_T.c.id, REQUESTS_T.c.record_id).where(
            REQUESTS_T.c.record_id.in_(record_ids),
            REQUESTS_T.c.requester == principal.sub,
            REQUESTS_T.c.state == "approved",
            REQUESTS_T.c.expires_at > datetime.now(UTC),
        )
    )
    return {r.record_id: r.id for r in rows}


async def evidence_visibility(conn: AsyncConnection, principal: Principal, records: list[dict]) -> dict[str, bool]:
    """Whether each record's evidence may be shown to `principal` now; audits each decision for finance."""
    if not principal.is_finance():
        return {r["id"]: False for r in records}
    now = datetime.now(UTC)
    gated = [r for r in records if approval_required(r["region"], now)]
    grants = await evidence_grants(conn, principal, [r["id"] for r in gated])
    visible = {}
    for r in records:
        gate = r in gated
        visible[r["id"]] = not gate or r["id"] in grants
        action = "evidence_read" if visible[r["id"]] else "evidence_withheld"
        await audit(conn, principal, action, r["id"], r["region"], grants.get(r["id"]))
    return visible


@router.post("/v1/records/{record_id}/access-requests", status_code=201, **typed(AccessRequestOut, 201))
async def request_access(
    record_id: str,
    body: AccessRequestIn,
    principal: Annotated[Principal, Depends(require_roles(*FINANCE))],
    rt: RuntimeDep,
) -> dict:
    """Ask to read a record's evidence, saying why; a supervisor who is not you approves."""
    now = datetime.now(UTC)
    async with rt.engine.begin() as conn:
        record = await readable_record(conn, principal, record_id)
        request_id = f"acc-{uuid.uuid4()}"
        row = {
            "id": request_id,
            "record_id": record_id,
            "requester": principal.sub,
            "requester_org": principal.org,
            "purpose": body.purpose,
            "state": "pending",
            "created_at": now,
            "decided_by": None,
            "decided_at": None,
            "expires_at": None,
        }
        await insert_rows(conn, REQUESTS_T, [row])
        await audit(conn, principal, "access_requested", record_id, record.region, request_id)
    return {"id": request_id, "record_id": record_id, "state": "pending"}


@router.post("/v1/access-requests/{request_id}/approve", **typed(AccessRequestOut))
async def approve_access(
    request_id: str,
    principal: Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))],
    rt: RuntimeDep,
) -> dict:
    """A supervisor of the record's region approves another officer's request for a limited time."""
    now = datetime.now(UTC)
    async with rt.engine.begin() as conn:
        req = (await conn.execute(select(REQUESTS_T).where(REQUESTS_T.c.id == request_id))).first()
        if req is None:
            raise Problem(404, "request_not_found", "No such request", request_id)
        record = await readable_record(conn, principal, req.record_id)
        if req.requester == principal.sub:
            await audit(conn, principal, "approval_refused_own_request", req.record_id, record.region, request_id)
    if req.requester == principal.sub:
        # The refusal's audit entry is committed above; the request stays pending.
        raise Problem(403, "self_approval", "Cannot approve your own request", "another supervisor must approve it")
    if req.state != "pending":
        raise Problem(409, "request_decided", "Already decided", f"the request is {req.state}")
    expires = now + grant_length(record.region, now)
    async with rt.engine.begin() as conn:
        await conn.execute(
            update(REQUESTS_T)
            .where(REQUESTS_T.c.id == request_id, REQUESTS_T.c.state == "pending")
            .values(state="approved", decided_by=principal.sub, decided_at=now, expires_at=expires)
        )
        await audit(conn, principal, "access_approved", req.record_id, record.region, request_id)
    return {"id": request_id, "record_id": req.record_id, "state": "approved", "expires_at": expires.isoformat()}


@router.get("/v1/audit", **typed(AuditLog))
async def audit_log(
    principal: Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))],
    rt: RuntimeDep,
    record_id: str | None = None,
    actor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    """Evidence reads and withholdings, access requests and approvals — and, for one record, its
    changes from the history — in the supervisor's region and below, newest first."""
    q = select(AUDIT_T).order_by(AUDIT_T.c.seq.desc()).limit(limit)
    if record_id:
        q = q.where(AUDIT_T.c.record_id == record_id)
    if actor:
        q = q.where(AUDIT_T.c.actor == actor)
    async with rt.engine.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(q)]
        changes = []
        if record_id:
            record = await readable_record(conn, principal, record_id)
            changes = [
                {"at": v.at.isoformat(), "actor": v.actor, "action": f"record_{v.change}", "record_id": record_id,
                 "region": record.region, "version": v.version}
                for v in await conn.execute(select(HISTORY_T).where(HISTORY_T.c.record_id == record_id))
            ]  # fmt: skip
    entries = [
        {**{k: v for k, v in r.items() if k != "seq"}, "at": r["at"].isoformat()}
        for r in rows
        if principal.covers_region(r["region"])
    ]
    return {"entries": entries, "changes": changes}
