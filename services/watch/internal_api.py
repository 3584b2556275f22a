"""The watch's figures for the other services only (issue 15): per purchaser or agency, the on-time
rates of the deadline clocks due in a period — the evaluations service scores them (Shenyang 000
§三.1, Xuchang 004 item 23).

Protected by the service token of services/common/service_auth.py (audience `credit-internal`, the
mechanism the records owner's internal endpoint already uses) and, deny unless allowed, only for the
services named in `CALLERS`; not routed by the gateway, not in the public OpenAPI. A finance
officer reads the same numbers through `GET /v1/rankings`; a service has no region and no role, so
it gets its own door rather than a token that would pass for a person's."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.common.identifiers import is_division_code
from services.common.lawdates import today
from services.common.problems import Problem
from services.common.runtime import Runtime, current_runtime
from services.common.service_auth import require_service
from services.watch.api import clocks_in, rank

router = APIRouter(include_in_schema=False)
Rt = Annotated[Runtime, Depends(current_runtime)]
CALLERS = frozenset({"evaluations"})
PATH = "/internal/v1/figures"


async def figures_caller(service: Annotated[str, Depends(require_service)]) -> str:
    if service not in CALLERS:
        raise Problem(403, "forbidden", "Forbidden", f"service {service!r} may not read the watch's figures")
    return service


@router.get(PATH)
async def figures(
    _caller: Annotated[str, Depends(figures_caller)],
    rt: Rt,
    kind: Literal["purchaser", "agency"],
    region: str,
    period: Annotated[str, Query(pattern=r"^\d{4}(-\d{2})?$", description="YYYY or YYYY-MM")],
) -> dict:
    """The ranking items of `GET /v1/rankings` for the region and the divisions under it, each with
    the regions its clocks ran in, and when they were computed (the caller keeps it as provenance)."""
    if not is_division_code(region):
        raise Problem(422, "invalid_request", "Invalid region", f"{region!r} is not a 6-digit division code")
    async with rt.engine.connect() as conn:
        rows = await clocks_in(conn, region, period)
    regions: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        party = r["purchaser_id"] if kind == "purchaser" else r["agency_id"]
        if party:
            regions[party].add(r["region"])
    items = [item | {"regions": sorted(regions[item["party"]["id"]])} for item in rank(rows, kind=kind, on=today())]
    return {
        "kind": kind,
        "region": region,
        "period": period,
        "clocks": len(rows),
        "computed_at": datetime.now(UTC).isoformat(),
        "items": items,
    }
