"""The statistics over HTTP (issue 17): the dashboard's figures for a region and period, and every
table as CSV or XLSX. Finance officers and supervisors only, for their region and those under it
(deny unless a role allows)."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.common.auth import Principal, Role, require_roles
from services.common.identifiers import is_division_code
from services.common.lawdates import local_date
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.statistics.exports import FORMATS, TABLES
from services.statistics.figures import Dashboard, dashboard, default_period

router = APIRouter(tags=["statistics"])
Officer = Annotated[Principal, Depends(require_roles(Role.FINANCE_OFFICER, Role.SUPERVISOR))]
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
FILE = {"type": "string", "format": "binary"}  # a file's body in the OpenAPI document
Table = Literal[
    "months",
    "in_force",
    "behaviours",
    "task_kinds",
    "officers",
    "divisions",
    "experts",
    "deadlines",
    "pushes",
    "push_platforms",
    "evaluations",
]


def scope(p: Principal, region: str | None, from_month: str | None, to_month: str | None) -> tuple[str, str, str]:
    """The region (the caller's by default; one it covers) and the months asked for."""
    region = region or p.region
    if not is_division_code(region):
        raise Problem(422, "invalid_identifier", "Invalid region", f"{region!r} is not a division code")
    if not p.covers_region(region):
        raise Problem(403, "forbidden", "Outside your region", f"region {region} is not yours or under yours")
    first, last = default_period(local_date(datetime.now(UTC)))
    from_month, to_month = from_month or first, to_month or last
    if from_month > to_month:
        raise Problem(422, "invalid_request", "Empty period", "`from` is after `to`")
    return region, from_month, to_month


async def figures_for(
    rt: RuntimeDep, p: Principal, region: str | None, from_month: str | None, to_month: str | None
) -> Dashboard:
    region, first, last = scope(p, region, from_month, to_month)
    async with rt.engine.connect() as conn:
        return await dashboard(conn, region, first, last, local_date(datetime.now(UTC)))


RegionQ = Annotated[str | None, Query(description="6-digit division code; default: the caller's region")]
FromQ = Annotated[str | None, Query(alias="from", pattern=MONTH, description="first month, YYYY-MM")]
ToQ = Annotated[str | None, Query(alias="to", pattern=MONTH, description="last month, YYYY-MM")]


@router.get("/v1/statistics/dashboard", response_model=Dashboard)
async def get_dashboard(
    rt: RuntimeDep, p: Officer, region: RegionQ = None, from_month: FromQ = None, to_month: ToQ = None
) -> Dashboard:
    """Every figure of the dashboard for a region (and the divisions under it) and a period of months:
    summary, monthly series, records in force, tasks by kind and officer, divisions, expert pool,
    deadline rankings, pushes to the national platforms delivered and failed (by month and platform),
    published evaluations and assessments by year, kind and grade with their interviews."""
    return await figures_for(rt, p, region, from_month, to_month)


@router.get(
    "/v1/statistics/export/{table}.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "The table with Chinese headers, filtered as on the dashboard.",
            "content": {"text/csv": {"schema": FILE}, FORMATS["xlsx"][0]: {"schema": FILE}},
        }
    },
)
async def export(
    table: Table,
    fmt: Literal["csv", "xlsx"],
    rt: RuntimeDep,
    p: Officer,
    region: RegionQ = None,
    from_month: FromQ = None,
    to_month: ToQ = None,
) -> Response:
    """One table of the dashboard as CSV (UTF-8 with BOM) or XLSX."""
    figures = await figures_for(rt, p, region, from_month, to_month)
    media, write = FORMATS[fmt]
    name = f"statistics-{table}-{figures.period.region}-{figures.period.from_month}-{figures.period.to_month}.{fmt}"
    return Response(
        write(figures, table),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


assert set(TABLES) == set(Table.__args__)  # type: ignore[attr-defined]
