"""Public HTTP endpoints: credit status, a consortium's credit, and the blacklist (CONTRACT §2).
Anyone may call them; evidence never appears and natural persons are masked (done when the read
model is built)."""

from datetime import UTC, datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from services.common.documented import typed
from services.common.identifiers import is_division_code
from services.common.lawdates import local_date
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.common.tables import table_of
from services.publication import receipts
from services.publication.consortium import worst_of
from services.publication.credit_answers import public_record
from services.publication.models import PublicRecord
from services.publication.notices import region_prefix
from services.publication.schemas import Blacklist, ConsortiumStatus, CreditReceipt, CreditSearch, CreditStatus

router = APIRouter()
RECORDS_T = table_of(PublicRecord)
MAX_MEMBERS = 20
MAX_FOUND = 50
REGION_DOC = (
    "the project's region (the purchaser's): its policy says what good credit earns (a bond reduction"
    " percentage only where that policy sets one, with its source)"
)


@router.get("/v1/credit/consortium", tags=["public"], response_model=ConsortiumStatus)
async def consortium_status(
    request: Request,
    members: Annotated[str, Query(description="the member suppliers' USCCs, comma-separated (2 or more)")],
    region: Annotated[str | None, Query(description=REGION_DOC)] = None,
) -> Response:
    """财库〔2016〕125号: a consortium (联合体) may take part only if every member may; its status,
    blacklisting and good credit are the worst of its members'. Each member's own answer is included."""
    ids = [m.strip() for m in members.split(",") if m.strip()]
    if len(ids) < 2 or len(ids) > MAX_MEMBERS or len(set(ids)) != len(ids):
        raise Problem(
            422, "invalid_consortium", "Invalid consortium", f"2 to {MAX_MEMBERS} distinct member ids are required"
        )
    reader = request.app.state.credit_reader
    answers = [orjson.loads(await reader.answer("supplier", i, region)) for i in ids]
    return Response(content=orjson.dumps(worst_of(ids, answers)), media_type="application/json")


@router.get("/v1/credit/search", tags=["public"], response_model=CreditSearch)
async def credit_search(
    request: Request,
    rt: RuntimeDep,
    name: Annotated[str, Query(min_length=2, max_length=100, description="part of the subject's published name")],
    subject_type: Literal["supplier", "agency", "expert", "purchaser"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FOUND)] = 10,
) -> Response:
    """Find a subject by name among those with published records (names of natural persons are
    published masked, and are found only as published), each with its credit answer today."""
    q = select(RECORDS_T.c.subject_type, RECORDS_T.c.subject_id).where(
        RECORDS_T.c.subject_name.contains(name.strip(), autoescape=True)
    )
    if subject_type is not None:
        q = q.where(RECORDS_T.c.subject_type == subject_type)
    q = q.group_by(RECORDS_T.c.subject_type, RECORDS_T.c.subject_id)
    async with rt.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(q.subquery()))
        found = (await conn.execute(q.order_by(RECORDS_T.c.subject_type, RECORDS_T.c.subject_id).limit(limit))).all()
    reader = request.app.state.credit_reader
    items = [orjson.loads(await reader.answer(t, i)) for t, i in found]
    body = {"name": name.strip(), "total": total, "items": items, "as_of": local_date(datetime.now(UTC)).isoformat()}
    return Response(content=orjson.dumps(body), media_type="application/json")


@router.get("/v1/credit/{subject_type}/{subject_id}/receipt", tags=["public"], **typed(CreditReceipt))
async def credit_receipt(
    subject_type: Literal["supplier", "agency", "expert", "purchaser"],
    subject_id: str,
    request: Request,
    region: Annotated[str | None, Query(description=REGION_DOC)] = None,
) -> dict:
    """The credit answer as a receipt signed with the system's Ed25519 key, with the ledger checkpoint
    it was read at, to keep with the procurement file (财库〔2016〕125号). Verify it offline with
    `python -m services.common.receipts RECEIPT.json --public-key KEY`."""
    answer = await request.app.state.credit_reader.answer(subject_type, subject_id, region)
    return await receipts.receipt(subject_type, subject_id, region, answer)


@router.get("/v1/credit/{subject_type}/{subject_id}", tags=["public"], response_model=CreditStatus)
async def credit_status(
    subject_type: Literal["supplier", "agency", "expert", "purchaser"],
    subject_id: str,
    request: Request,
    region: Annotated[str | None, Query(description=REGION_DOC)] = None,
) -> Response:
    """May the subject take part now, blacklisted until when, its published records in force, its
    grade; for an expert, whether it may be drawn."""
    # Served by CreditFastPath before routing; this route documents it and answers the same bytes
    # if the middleware is not installed (e.g. an app built without it in a test).
    body = await request.app.state.credit_reader.answer(subject_type, subject_id, region)
    return Response(content=body, media_type="application/json")


@router.get("/v1/blacklist", tags=["public"], **typed(Blacklist))
async def blacklist(
    rt: RuntimeDep,
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
        q = q.where(RECORDS_T.c.region.startswith(region_prefix(region)))
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
