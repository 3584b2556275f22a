"""Endpoints for the other services only (service token, audience `credit-internal`; not routed by
the gateway, not in the public OpenAPI). The evaluation service owns the records: a service whose
replica of `credit.records` has not yet heard of a record asks here before refusing anything."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.common.service_auth import require_service
from services.common.tables import table_of
from services.evaluation.events import record_data
from services.evaluation.models import CreditRecord

router = APIRouter(include_in_schema=False)
RECORDS_T = table_of(CreditRecord)


@router.get("/internal/v1/records/{record_id}")
async def record_for_service(
    record_id: str,
    _service: Annotated[str, Depends(require_service)],
    rt: RuntimeDep,
) -> dict:
    """The record's newest version as `credit.records` carries it (`data` of record.*.v1, the same
    version number), so the caller stores it exactly as it would have from the event."""
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(RECORDS_T).where(RECORDS_T.c.id == record_id))).first()
    if row is None:
        raise Problem(404, "record_not_found", "Record not found", f"no record {record_id}")
    return {"data": record_data(dict(row._mapping))}
