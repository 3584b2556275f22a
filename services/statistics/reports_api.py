"""Annual reports over HTTP (issue 17): a published report is public (its PDF, as announced by
`report.published.v1`); drafts and rejected ones only to finance officers and supervisors of the
region or above."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from services.common.auth import Principal, optional_principal
from services.common.problems import Problem
from services.common.runtime import RuntimeDep
from services.statistics.api import FILE
from services.statistics.models import REPORTS
from services.statistics.reports import report_url

router = APIRouter(tags=["statistics"])
Caller = Annotated[Principal | None, Depends(optional_principal)]


class ReportSummary(BaseModel):
    report_id: str
    region: str
    year: int
    version: int
    state: str
    sha256: str
    url: str
    made_at: str
    decided_at: str | None


class ReportList(BaseModel):
    """Annual reports: every published one; drafts and rejected ones of the caller's regions too."""

    reports: list[ReportSummary]


def _may_see(p: Principal | None, row: dict) -> bool:
    return row["state"] == "published" or (p is not None and p.covers_region(row["region"]))


@router.get("/v1/statistics/reports", response_model=ReportList)
async def list_reports(rt: RuntimeDep, p: Caller, region: str | None = None) -> ReportList:
    cols = [c for c in REPORTS.c if c.name != "pdf"]
    stmt = select(*cols).order_by(REPORTS.c.year.desc(), REPORTS.c.region, REPORTS.c.version.desc())
    if region:
        stmt = stmt.where(REPORTS.c.region == region)
    async with rt.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    return ReportList(
        reports=[
            ReportSummary(
                **{k: r[k] for k in ("report_id", "region", "year", "version", "state", "sha256")},
                url=report_url(r["report_id"]),
                made_at=r["made_at"].isoformat(),
                decided_at=r["decided_at"].isoformat() if r["decided_at"] else None,
            )
            for r in rows
            if _may_see(p, r)
        ]
    )


@router.get(
    "/v1/statistics/reports/{report_id}.pdf",
    response_class=Response,
    responses={200: {"description": "The report as PDF.", "content": {"application/pdf": {"schema": FILE}}}},
)
async def report_pdf(report_id: str, rt: RuntimeDep, p: Caller) -> Response:
    async with rt.engine.connect() as conn:
        row = (await conn.execute(select(REPORTS).where(REPORTS.c.report_id == report_id))).mappings().first()
    if row is None or not _may_see(p, dict(row)):
        raise Problem(404, "not_found", "No such report", f"no report {report_id!r} you may read")
    return Response(
        row["pdf"],
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{report_id}.pdf"',
            "ETag": f'"{row["sha256"]}"',
            "X-Report-State": row["state"],
        },
    )
