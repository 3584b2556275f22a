"""`GET /v1/pushes` (finance): how the pushes of a record or a notice to the national platforms went —
attempts, last error, when delivered, the task opened if one was. Finance officers and supervisors
of the region concerned (the record's, or the notice's) and the regions above it; for anyone else's
region the record is not found (ids cannot be probed)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from services.common.auth import Principal, Role, require_roles
from services.common.documented import typed
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.publication.notices import NOTICES_T, PUSHES_T, RECORDS_T
from services.publication.schemas import Pushes

router = APIRouter()
SHOWN = (
    "idempotency_key",
    "platform",
    "action",
    "notice_id",
    "record_id",
    "region",
    "state",
    "attempts",
    "last_error",
    "last_attempt_at",
    "delivered_at",
    "task_id",
    "created_at",
)


@router.get("/v1/pushes", tags=["finance"], **typed(Pushes))
async def pushes(
    principal: Annotated[Principal, Depends(require_roles(Role.FINANCE_OFFICER, Role.SUPERVISOR))],
    rt: RuntimeDep,
    record_id: Annotated[str | None, Query(max_length=64)] = None,
    notice_id: Annotated[str | None, Query(max_length=120)] = None,
) -> dict:
    if (record_id is None) == (notice_id is None):
        raise Problem(422, "invalid_query", "Invalid query", "Give exactly one of record_id and notice_id.")
    async with rt.engine.connect() as conn:
        if record_id is not None:
            region = await conn.scalar(select(RECORDS_T.c.region).where(RECORDS_T.c.record_id == record_id))
            where = PUSHES_T.c.record_id == record_id
        else:
            region = await conn.scalar(select(NOTICES_T.c.region).where(NOTICES_T.c.notice_id == notice_id))
            where = PUSHES_T.c.notice_id == notice_id
        if region is None or not principal.covers_region(region):
            raise Problem(404, "push_subject_not_found", "Not found", "No such record or notice in your region.")
        rows = await conn.execute(
            select(*[PUSHES_T.c[c] for c in SHOWN]).where(where).order_by(PUSHES_T.c.created_at, PUSHES_T.c.platform)
        )
        found = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r._mapping).items()} for r in rows
        ]
    return {"record_id": record_id, "notice_id": notice_id, "region": region, "pushes": found}
