"""HTTP of the watch (CONTRACT v1.1 §2): a project's timeline, the warnings, the rankings of how
purchasers and agencies keep their deadlines (004 #8 指标完成情况排名). Finance officers and
supervisors see their region and those under it; a purchaser or agency sees only its own projects
and warnings. Anyone else is refused (deny unless a role allows)."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.auth import Principal, Role, require_roles
from services.common.identifiers import division_covers, is_division_code
from services.common.lawdates import add_months, iso, local_date, today
from services.common.problems import Problem
from services.common.runtime import Runtime, current_runtime
from services.common.workdays import RECKONER
from services.watch.models import CLOCKS, FACTS, WARNINGS

router = APIRouter(tags=["watch"])
Caller = Annotated[
    Principal,
    Depends(require_roles(Role.FINANCE_OFFICER, Role.SUPERVISOR, Role.PURCHASER, Role.AGENCY)),
]
Supervising = Annotated[Principal, Depends(require_roles(Role.FINANCE_OFFICER, Role.SUPERVISOR))]
Rt = Annotated[Runtime, Depends(current_runtime)]


def _region_checked(p: Principal, region: str | None) -> str | None:
    if region is not None and not is_division_code(region):
        raise Problem(422, "invalid_request", "Invalid region", f"{region!r} is not a 6-digit division code")
    if region is not None and p.is_finance() and not division_covers(p.region, region):
        raise Problem(403, "forbidden", "Forbidden", f"region {region} is outside your department's")
    return region


def _prefix(region: str) -> str:
    """What the codes of a region and the divisions under it start with."""
    return region[:2] if region.endswith("0000") else region[:4] if region.endswith("00") else region


def clock_view(row: dict, *, on: date) -> dict:
    done = row["done_at"]
    overdue_open = done is None and row["due_on"] < on
    return {
        "stage": row["stage"],
        "contract_no": row["contract_no"] or None,
        "started_at": iso(row["started_at"]),
        "due_on": row["due_on"].isoformat(),
        "provisional": row["provisional"],
        "done_at": iso(done),
        "late": row["late"] if done is not None else (True if overdue_open else None),
        "state": "done" if done is not None else ("overdue" if overdue_open else "open"),
        "level": row["level"],
        "task_id": row["task_id"],
        "decision": row["decision"],
        "responsible": row["responsible"],
        "basis": row["rule"]["source"],
    }


@router.get("/v1/projects/{region}/{code}")
async def project_timeline(region: str, code: str, p: Caller, rt: Rt) -> dict:
    """A project's timeline: each stage with its due date, done date, late or not, provisional or not,
    and every fact received (conflicting facts flagged)."""
    _region_checked(p, region)
    async with rt.engine.connect() as conn:
        clocks = [
            dict(r)
            for r in (
                await conn.execute(
                    select(CLOCKS)
                    .where(CLOCKS.c.region == region, CLOCKS.c.project_code == code)
                    .order_by(CLOCKS.c.started_at)
                )
            ).mappings()
        ]
        facts = [
            dict(r)
            for r in (
                await conn.execute(
                    select(FACTS).where(FACTS.c.region == region, FACTS.c.project_code == code).order_by(FACTS.c.at)
                )
            ).mappings()
        ]
    parties = {f["data"]["purchaser"]["id"] for f in facts} | {
        f["data"]["agency"]["id"] for f in facts if f["data"].get("agency")
    }
    if not facts or not (p.is_finance() or p.org in parties):
        # Not disclosed to whoever is not a party to it.
        raise Problem(404, "not_found", "Project not found", f"no project {code} in {region} that you may see")
    on = today()
    return {
        "region": region,
        "code": code,
        "name": facts[0]["data"]["project"]["name"],
        "stages": [clock_view(c, on=on) for c in clocks],
        "facts": [
            {
                "type": f["type"],
                "at": iso(f["at"]),
                "source": f["source"],
                "id": f["event_id"],
                "contract_no": f["contract_no"] or None,
                "conflicts_with": f["conflicts_with"],
            }
            for f in facts
        ],
        "conflicts": sum(1 for f in facts if f["conflicts_with"]),
    }


@router.get("/v1/warnings")
async def list_warnings(
    p: Caller,
    rt: Rt,
    region: str | None = None,
    level: Literal["due_soon", "overdue", "escalated"] | None = None,
    stage: str | None = Query(default=None, max_length=40),
    responsible: str | None = Query(default=None, max_length=64, description="the responsible party's id"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict:
    region = _region_checked(p, region)
    cond = []
    if p.is_finance():
        # Own region and those under it (a prefix of the division code).
        cond.append(WARNINGS.c.region.startswith(_prefix(p.region)))
    else:
        cond.append(WARNINGS.c.responsible_id == p.org)
    for column, value in ((WARNINGS.c.region, region), (WARNINGS.c.level, level), (WARNINGS.c.stage, stage)):
        if value is not None:
            cond.append(column == value)
    if responsible is not None:
        cond.append(WARNINGS.c.responsible_id == responsible)
    async with rt.engine.connect() as conn:
        rows = (
            await conn.execute(select(WARNINGS).where(and_(*cond)).order_by(WARNINGS.c.raised_at.desc()).limit(limit))
        ).mappings()
        items = [
            {
                "warning_id": r["warning_id"],
                "project": {"code": r["project_code"]},
                "region": r["region"],
                "stage": r["stage"],
                "level": r["level"],
                "due_on": r["due_on"].isoformat(),
                "responsible": {"type": r["responsible_type"], "id": r["responsible_id"]},
                "task_id": r["task_id"],
                "raised_at": iso(r["raised_at"]),
            }
            for r in rows
        ]
    return {"items": items, "count": len(items)}


@router.get("/v1/rankings")
async def rankings(
    p: Supervising,
    rt: Rt,
    kind: Literal["purchaser", "agency"] = "purchaser",
    region: str | None = None,
    period: str = Query(default="", pattern=r"^(\d{4}(-\d{2})?)?$", description="YYYY or YYYY-MM; default: this year"),
) -> dict:
    """Per purchaser (or agency), over the clocks due in `period`: on-time rate per stage, average
    delay in working days of the late ones, open overdue clocks now."""
    region = _region_checked(p, region) or p.region
    period = period or str(today().year)
    async with rt.engine.connect() as conn:
        rows = await clocks_in(conn, region, period)
    return {"kind": kind, "region": region, "period": period, "items": rank(rows, kind=kind, on=today())}


async def clocks_in(conn: AsyncConnection, region: str, period: str) -> list[dict]:
    year = int(period[:4])
    first, last = date(year, 1, 1), date(year, 12, 31)
    if len(period) == 7:
        first = date(year, int(period[5:]), 1)
        last = add_months(first, 1) - timedelta(days=1)
    q = select(CLOCKS).where(
        CLOCKS.c.region.startswith(_prefix(region)), CLOCKS.c.due_on >= first, CLOCKS.c.due_on <= last
    )
    return [dict(r) for r in (await conn.execute(q)).mappings()]


def rank(rows: list[dict], *, kind: str, on: date) -> list[dict]:
    """Pure: the ranking of `rows` (clock rows) per party, best on-time rate first."""
    by_party: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        party = r["purchaser_id"] if kind == "purchaser" else r["agency_id"]
        if party:
            by_party[party].append(r)
    items = []
    for party, clocks in by_party.items():
        stages: dict[str, dict] = {}
        delays = []
        open_overdue = 0
        for c in clocks:
            s = stages.setdefault(c["stage"], {"due": 0, "on_time": 0})
            if c["done_at"] is None:
                open_overdue += c["due_on"] < on
                if c["due_on"] < on:
                    s["due"] += 1
                continue
            s["due"] += 1
            if not c["late"]:
                s["on_time"] += 1
            else:
                delays.append(_working_days_late(c["due_on"], local_date(_aware(c["done_at"]))))
        for s in stages.values():
            s["on_time_rate"] = round(s["on_time"] / s["due"], 4) if s["due"] else None
        due = sum(s["due"] for s in stages.values())
        on_time = sum(s["on_time"] for s in stages.values())
        items.append(
            {
                "party": {"type": kind, "id": party},
                "on_time_rate": round(on_time / due, 4) if due else None,
                "stages": stages,
                "average_delay_working_days": round(sum(delays) / len(delays), 2) if delays else 0,
                "open_overdue": open_overdue,
            }
        )
    return sorted(items, key=lambda i: (-(i["on_time_rate"] or 0), i["open_overdue"], i["party"]["id"]))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _working_days_late(due_on: date, done_on: date) -> int:
    """Working days from the due date to the day it was done (the due date itself not counted)."""
    n, day = 0, due_on
    while day < done_on:
        day = RECKONER.add_working_days(day, 1).day
        if day <= done_on:
            n += 1
    return n
