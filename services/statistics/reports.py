"""Annual reports (issue 17): the drafts the schedule's workflow has made, their review's outcome
and their publication (`report.published.v1` on `credit.notices`, through the outbox, in the
transaction that publishes). The two Temporal activities on queue `statistics-activities`."""

import asyncio
import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from services.common.cloudevents import build_event
from services.common.messaging import OutboundEvent, write_outbox
from services.common.policy import load_policies
from services.common.relay import OutboxRelay
from services.common.topics import NOTICES, REPORT_PUBLISHED
from services.statistics.counting import BEIJING, SOURCE
from services.statistics.figures import dashboard, region_prefix
from services.statistics.models import CASES, MESSAGING, REPORTS
from services.statistics.report import build_pdf
from workflows.activity_names import MAKE_ANNUAL_REPORT, SETTLE_ANNUAL_REPORT
from workflows.annual_report.inputs import ReportDecision, ReportDraft, ReportRequest, ReportResult


def region_name(region: str) -> str:
    """The name of a region whose policy is its own (洛阳市财政局 -> 洛阳市), else its code."""
    policy = load_policies().get(region)
    issuer = policy.instrument.issuer if policy is not None else ""
    return issuer.removesuffix("财政局") or region


def report_url(report_id: str) -> str:
    return f"/v1/statistics/reports/{report_id}.pdf"


async def published_cases(conn: AsyncConnection, region: str, year: int) -> list[dict[str, Any]]:
    stmt = select(CASES).where(
        CASES.c.region.startswith(region_prefix(region), autoescape=True),
        CASES.c.published_on >= date(year, 1, 1),
        CASES.c.published_on <= date(year, 12, 31),
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def make_report(engine: AsyncEngine, req: ReportRequest, *, now: datetime) -> ReportDraft:
    """The open draft of (region, year) if there is one (a retried activity), else a new version."""
    name = region_name(req.region)
    async with engine.begin() as conn:
        kept = (
            await conn.execute(
                select(REPORTS.c.report_id, REPORTS.c.version, REPORTS.c.sha256).where(
                    REPORTS.c.region == req.region, REPORTS.c.year == req.year, REPORTS.c.state == "draft"
                )
            )
        ).first()
        if kept is not None:
            return ReportDraft(
                report_id=kept.report_id,
                region=req.region,
                year=req.year,
                version=kept.version,
                sha256=kept.sha256,
                region_name=name,
            )
        today = now.astimezone(BEIJING).date()
        figures = await dashboard(
            conn, req.region, f"{req.year}-01", f"{req.year}-12", min(today, date(req.year, 12, 31))
        )
        cases = await published_cases(conn, req.region, req.year)
        pdf = await asyncio.to_thread(build_pdf, figures, cases, region_name=name, year=req.year, made_on=today)
        version = 1 + int(
            await conn.scalar(
                select(func.coalesce(func.max(REPORTS.c.version), 0)).where(
                    REPORTS.c.region == req.region, REPORTS.c.year == req.year
                )
            )
            or 0
        )
        report_id = f"{req.region}-{req.year}-v{version}"
        digest = hashlib.sha256(pdf).hexdigest()
        await conn.execute(
            REPORTS.insert().values(
                report_id=report_id,
                region=req.region,
                year=req.year,
                version=version,
                state="draft",
                pdf=pdf,
                sha256=digest,
                summary=figures.summary.model_dump(),
                made_at=now,
            )
        )
    return ReportDraft(
        report_id=report_id, region=req.region, year=req.year, version=version, sha256=digest, region_name=name
    )


async def settle_report(engine: AsyncEngine, d: ReportDecision, *, now: datetime) -> ReportResult:
    """Publish or reject a draft once; a retry finds it settled and answers the same."""
    state = "published" if d.decision == "publish" else "rejected"
    async with engine.begin() as conn:
        row = (await conn.execute(select(REPORTS).where(REPORTS.c.report_id == d.report_id))).mappings().first()
        if row is None:
            raise LookupError(f"no report {d.report_id}")
        if row["state"] != "draft":
            return ReportResult(report_id=d.report_id, state=row["state"])
        await conn.execute(
            update(REPORTS)
            .where(REPORTS.c.report_id == d.report_id)
            .values(state=state, decided_by=d.decided_by or None, decided_at=now)
        )
        if state == "published":
            data = {
                "report_id": d.report_id,
                "region": row["region"],
                "year": row["year"],
                "published_at": now.isoformat(),
                "url": report_url(d.report_id),
                "sha256": row["sha256"],
                "summary": row["summary"],
            }
            event = build_event(
                type=REPORT_PUBLISHED,
                source=SOURCE,
                subject=d.report_id,
                id=f"report:{d.report_id}",
                time=now,
                data=data,
            )
            await write_outbox(conn, MESSAGING.outbox, [OutboundEvent(topic=NOTICES, key=row["region"], event=event)])
    return ReportResult(report_id=d.report_id, state=state)


class ReportActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._relay = relay

    @activity.defn(name=MAKE_ANNUAL_REPORT)
    async def make_annual_report(self, req: ReportRequest) -> ReportDraft:
        return await make_report(self._engine, req, now=datetime.now(UTC))

    @activity.defn(name=SETTLE_ANNUAL_REPORT)
    async def settle_annual_report(self, decision: ReportDecision) -> ReportResult:
        result = await settle_report(self._engine, decision, now=datetime.now(UTC))
        if self._relay is not None:
            self._relay.wake()
        return result

    def all(self) -> list[Any]:
        return [self.make_annual_report, self.settle_annual_report]
