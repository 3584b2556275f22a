"""The stored inspection draws (004 item 28, `GET /v1/inspections/sample` keeps each one): the history
a finance department reads back — who drew, when, with which seed, from which population and
weights, and whom. Finance departments of the region (and above) only; newest first, paged."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from services.common.auth import FINANCE_ROLES, Principal, require_roles
from services.common.identifiers import division_covers, is_division_code
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.evaluations.models import DRAWS

router = APIRouter(tags=["evaluations"])
Finance = Annotated[Principal, Depends(require_roles(*FINANCE_ROLES))]


@router.get("/v1/inspections/draws")
async def inspection_draws(
    region: Annotated[str, Query(min_length=6, max_length=6, description="the division code drawn in")],
    p: Finance,
    rt: RuntimeDep,
    kind: Literal["agency", "supplier", "purchaser"] | None = None,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=64, description="part of a drawn subject's code")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """The draws made in the region and the divisions under it, newest first: each with its seed
    (re-run it with `GET /v1/inspections/sample?seed=`), population, weights' grades and result."""
    if not is_division_code(region):
        raise Problem(422, "invalid_query", "Invalid region", f"{region!r} is not a division code")
    if not p.covers_region(region):
        raise Problem(403, "forbidden", "Forbidden", f"region {region} is outside your department's")
    # Regions under `region` share its prefix (division_covers checks each row exactly).
    prefix = region.rstrip("0") or region
    query = select(DRAWS).where(DRAWS.c.region.startswith(prefix, autoescape=True))
    if kind is not None:
        query = query.where(DRAWS.c.kind == kind)
    async with rt.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(query.order_by(DRAWS.c.drawn_at.desc(), DRAWS.c.id)))
                .mappings() if division_covers(region, r["region"])]  # fmt: skip
    if subject is not None:
        wanted = subject.strip().upper()
        rows = [r for r in rows if any(wanted in str(d.get("id", "")).upper() for d in r["drawn"])]
    page = rows[offset : offset + limit]
    return {
        "region": region,
        "kind": kind,
        "total": len(rows),
        "limit": limit,
        "offset": offset,
        "items": [{**r, "drawn_at": r["drawn_at"].isoformat()} for r in page],
    }
