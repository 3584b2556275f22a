"""Public HTTP endpoints: credit status and blacklist (CONTRACT §2). Anyone may call them;
evidence never appears and natural persons are masked (done when the read model is built)."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select

from services.common.identifiers import division_level, is_division_code
from services.common.lawdates import local_date
from services.common.problems import Problem
from services.common.runtime import Runtime, current_runtime
from services.publication.models import PublicCreditView, PublicRecord
from services.publication.schemas import CreditStatus
from services.publication.views import public_record

router = APIRouter()
RECORDS_T = PublicRecord.__table__  # type: ignore[attr-defined]
VIEWS_T = PublicCreditView.__table__  # type: ignore[attr-defined]
PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6}


@router.get("/v1/credit/{subject_type}/{subject_id}", tags=["public"], response_model=CreditStatus)
async def credit_status(
    subject_type: Literal["supplier", "agency", "expert", "purchaser"],
    subject_id: str,
    request: Request,
) -> Response:
    """May the subject take part now, blacklisted until when, its published records in force, its
    grade; for an expert, whether it may be drawn."""
    # Served by CreditFastPath before routing; this route documents it and answers the same bytes
    # if the middleware is not installed (e.g. an app built without it in a test).
    body = await request.app.state.credit_reader.answer(subject_type, subject_id)
    return Response(content=body, media_type="application/json")


@router.get("/v1/blacklist", tags=["public"])
async def blacklist(
    rt: Annotated[Runtime, Depends(current_runtime)],
    region: Annotated[str | None, Query(description="6-digit division code; includes the regions under it")] = None,
    subject_type: Literal["supplier", "agency", "expert", "purchaser"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """Serious-behaviour records in force (001 Art. 21–23): what purchasers check before awarding."""
    q = select(RECORDS_T).where(RECORDS_T.c.severity == "serious", RECORDS_T.c.status == "in_force")
    if region is not None:
        if not is_division_code(region):
            raise Problem(422, "invalid_identifier", "Invalid region", f"{region!r} is not a division code")
        q = q.where(RECORDS_T.c.region.startswith(region[: PREFIX_LENGTH[division_level(region)]]))
    if subject_type is not None:
        q = q.where(RECORDS_T.c.subject_type == subject_type)
    async with rt.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(q.subquery()))
        rows = await conn.execute(
            q.order_by(RECORDS_T.c.recorded_on.desc(), RECORDS_T.c.record_id).limit(limit).offset(offset)
        )
        entries = [public_record(dict(r._mapping)) for r in rows]
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "entries": entries,
        "as_of": local_date(datetime.now(UTC)).isoformat(),
    }
