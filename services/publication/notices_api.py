"""`GET /v1/notices` (CONTRACT §2, public): published notices, newest first. A notice shows the
records it listed that are still in force, as they stand now (under objection, a corrected
behaviour); what has been repaired, corrected away, withdrawn or has expired comes down."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from services.common.documented import typed
from services.common.identifiers import is_division_code
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.common.sql import key_in
from services.publication.credit_answers import public_record
from services.publication.notices import ENTRIES_T, NOTICES_T, RECORDS_T, region_prefix
from services.publication.schemas import NoticePage

router = APIRouter()


@router.get("/v1/notices", tags=["public"], **typed(NoticePage))
async def notices(
    rt: RuntimeDep,
    region: Annotated[str | None, Query(description="6-digit division code; includes the regions under it")] = None,
    kind: Literal["period", "blacklist", "blacklist_removal"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """Period notices of general records (001 Art. 21), blacklist notices of serious records and
    their removals."""
    q = select(NOTICES_T)
    if region is not None:
        if not is_division_code(region):
            raise Problem(422, "invalid_identifier", "Invalid region", f"{region!r} is not a division code")
        q = q.where(NOTICES_T.c.region.startswith(region_prefix(region)))
    if kind is not None:
        q = q.where(NOTICES_T.c.kind == kind)
    async with rt.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(q.subquery()))
        page = [
            dict(r._mapping)
            for r in await conn.execute(
                q.order_by(NOTICES_T.c.published_at.desc(), NOTICES_T.c.notice_id.desc()).limit(limit).offset(offset)
            )
        ]
        shown: dict[str, list[dict]] = {n["notice_id"]: [] for n in page}
        if page:
            rows = await conn.execute(
                select(ENTRIES_T.c.notice_id, RECORDS_T)
                .join(RECORDS_T, RECORDS_T.c.record_id == ENTRIES_T.c.record_id)
                .where(
                    key_in(conn, ENTRIES_T.c.notice_id, list(shown)),
                    ENTRIES_T.c.role == "listed",
                    RECORDS_T.c.status == "in_force",
                )
                .order_by(RECORDS_T.c.recorded_on, RECORDS_T.c.record_id)
            )
            for r in rows:
                shown[r.notice_id].append(public_record(dict(r._mapping)))
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "notices": [_served(n, shown[n["notice_id"]]) for n in page],
    }


def _served(notice: dict, entries: list[dict]) -> dict:
    body = notice["body"]
    return {
        "notice_id": notice["notice_id"],
        "kind": notice["kind"],
        "region": notice["region"],
        "period": body.get("period"),
        "published_at": body["published_at"],
        "entries": entries,
        "entries_published": notice["entry_count"],
        "entries_taken_down": notice["entry_count"] - len(entries),
        "withdrawals": body.get("withdrawals", []),
    }
