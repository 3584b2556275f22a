"""The dashboard's figures read from the counters (issue 17): a few grouped sums over
`statistics_count` and one count over `statistics_task`, whatever the volume behind them.

A region's figures cover it and the divisions under it (the same prefixes as the task queue's
region rule); a period is a range of months, `from_month`..`to_month` inclusive. A level (records in
force, blacklist, expert pool) is the sum of its changes up to the end of a month."""

from collections import defaultdict
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.identifiers import division_level
from services.statistics.models import ROLLUP, TASKS, month_of
from services.statistics.outcomes import (
    OUTCOME_METRICS,
    EvaluationRow,
    PushMonthRow,
    PushPlatformRow,
    evaluations,
    push_months,
    push_platforms,
)

PREFIX_LENGTH = {"province": 2, "city": 4, "county": 6}
LEVELS = ("in_force", "in_force_behaviour", "blacklist", "experts")
DIVISION_METRICS = ("records_new", "in_force", "blacklist", "appeals", "tasks_done", "tasks_on_time", "tasks_late")


class Period(BaseModel):
    region: str
    from_month: str
    to_month: str


class MonthRow(BaseModel):
    month: str
    records_new: int
    in_force: int
    blacklist: int
    repairs_submitted: int
    repairs_approved: int
    appeals_filed: int
    appeals_corrected: int
    appeals_upheld: int
    tasks_done: int
    tasks_on_time: int


class InForceRow(BaseModel):
    subject_type: str
    severity: str
    records: int


class BehaviourRow(BaseModel):
    behaviour_code: str
    severity: str
    records: int


class TaskKindRow(BaseModel):
    kind: str
    opened: int
    done: int
    on_time: int
    late: int
    on_time_rate: float | None
    open: int
    overdue: int


class OfficerRow(BaseModel):
    officer: str
    done: int
    on_time: int
    late: int
    on_time_rate: float | None


class DivisionRow(BaseModel):
    region: str
    records_new: int
    in_force: int
    blacklist: int
    appeals_filed: int
    tasks_done: int
    on_time_rate: float | None


class ExpertRow(BaseModel):
    status: str
    experts: int


class DeadlineRow(BaseModel):
    responsible_type: str
    responsible_id: str
    name: str
    overdue: int
    escalated: int


class Summary(BaseModel):
    records_in_force: int
    serious_in_force: int
    blacklist: int
    records_new: int
    appeals_filed: int
    repairs_approved: int
    tasks_open: int
    tasks_overdue: int
    on_time_rate: float | None
    experts_drawable: int
    pushes_delivered: int
    pushes_failed: int
    evaluations_published: int
    interviews: int


class Dashboard(BaseModel):
    """Everything the dashboard shows for a region and period (each list is one of its tables)."""

    period: Period
    summary: Summary
    months: list[MonthRow]
    in_force: list[InForceRow]
    behaviours: list[BehaviourRow]
    task_kinds: list[TaskKindRow]
    officers: list[OfficerRow]
    divisions: list[DivisionRow]
    experts: list[ExpertRow]
    deadlines: list[DeadlineRow]
    pushes: list[PushMonthRow]
    push_platforms: list[PushPlatformRow]
    evaluations: list[EvaluationRow]


def region_prefix(region: str) -> str:
    return region[: PREFIX_LENGTH[division_level(region)]]


def months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 240:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def default_period(today: date) -> tuple[str, str]:
    """The twelve months ending with this one."""
    y, m = (today.year - 1, today.month + 1) if today.month < 12 else (today.year, 1)
    return f"{y:04d}-{m:02d}", month_of(today)


def _rate(on_time: int, late: int) -> float | None:
    return round(on_time / (on_time + late), 4) if on_time + late else None


PERIOD_DIMS = (
    "tasks_opened",
    "tasks_done",
    "tasks_on_time",
    "tasks_late",
    "tasks_cancelled",
    "deadline_party",
    *OUTCOME_METRICS,
)


async def _sums(conn: AsyncConnection, region: str, cols: list[Any], *where: Any) -> list[Any]:
    """Sums of the region's rolled-up counters (it and every division under it), grouped by `cols`."""
    stmt = select(*cols, func.sum(ROLLUP.c.n)).where(ROLLUP.c.region == region, *where).group_by(*cols)
    return list(await conn.execute(stmt))


async def dashboard(conn: AsyncConnection, region: str, from_month: str, to_month: str, today: date) -> Dashboard:
    prefix = region_prefix(region)
    months = months_between(from_month, to_month)
    c = ROLLUP.c
    period = (c.month >= from_month, c.month <= to_month)
    flow: dict[tuple[str, str, str], int] = defaultdict(int)  # (metric, dim_a, month) in the period
    for month, metric, a, n in await _sums(
        conn, region, [c.month, c.metric, c.dim_a], *period, c.metric.not_in(LEVELS)
    ):
        flow[(metric, a, month)] += int(n)
    flow_b: dict[tuple[str, str, str], int] = defaultdict(int)  # (metric, dim_a, dim_b) in the period
    for metric, a, b, n in await _sums(conn, region, [c.metric, c.dim_a, c.dim_b], *period, c.metric.in_(PERIOD_DIMS)):
        flow_b[(metric, a, b)] += int(n)
    # Levels: their value at the end of the period by dimension, and their changes month by month.
    level_before: dict[tuple[str, str, str], int] = defaultdict(int)
    for metric, a, b, n in await _sums(
        conn, region, [c.metric, c.dim_a, c.dim_b], c.month <= to_month, c.metric.in_(LEVELS)
    ):
        level_before[(metric + ":end", a, b)] += int(n)
    level_month: dict[tuple[str, str], int] = defaultdict(int)  # (metric, month) changes
    for month, metric, n in await _sums(
        conn, region, [c.month, c.metric], *period, c.metric.in_(("in_force", "blacklist"))
    ):
        level_month[(metric, month)] += int(n)
    for metric in ("in_force", "blacklist"):
        at_end = sum(v for (m, _, _), v in level_before.items() if m == metric + ":end")
        level_before[(metric, "", "")] = at_end - sum(v for (m, _), v in level_month.items() if m == metric)

    def level_start(metric: str) -> int:
        return sum(v for (m, _, _), v in level_before.items() if m == metric)

    rows: list[MonthRow] = []
    running_force, running_black = level_start("in_force"), level_start("blacklist")
    for month in months:
        running_force += level_month[("in_force", month)]
        running_black += level_month[("blacklist", month)]

        def f(metric: str, a: str, month: str = month) -> int:
            return flow[(metric, a, month)]

        def total(metric: str, month: str = month) -> int:
            return sum(v for (m, _, mo), v in flow.items() if m == metric and mo == month)

        rows.append(
            MonthRow(
                month=month,
                records_new=total("records_new"),
                in_force=running_force,
                blacklist=running_black,
                repairs_submitted=f("repairs", "submitted"),
                repairs_approved=f("repairs", "approved"),
                appeals_filed=f("appeals", "filed"),
                appeals_corrected=f("appeals", "corrected"),
                appeals_upheld=f("appeals", "upheld"),
                tasks_done=total("tasks_done"),
                tasks_on_time=total("tasks_on_time"),
            )
        )
    end = {k: v for k, v in level_before.items() if k[0].endswith(":end")}
    in_force = sorted(
        (
            InForceRow(subject_type=a, severity=b, records=v)
            for (m, a, b), v in end.items()
            if m == "in_force:end" and v
        ),
        key=lambda r: (r.subject_type, r.severity),
    )
    behaviours = sorted(
        (
            BehaviourRow(behaviour_code=a, severity=b, records=v)
            for (m, a, b), v in end.items()
            if m == "in_force_behaviour:end" and v
        ),
        key=lambda r: (-r.records, r.behaviour_code),
    )[:20]
    experts = [ExpertRow(status=a, experts=v) for (m, a, _), v in sorted(end.items()) if m == "experts:end" and v]
    kinds = await _task_kinds(conn, prefix, flow_b, today)
    officers: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (metric, _, officer), v in flow_b.items():
        slot = {"tasks_done": 0, "tasks_on_time": 1, "tasks_late": 2}.get(metric)
        if slot is not None:
            officers[officer or "—"][slot] += v
    officer_rows = sorted(
        (
            OfficerRow(officer=o, done=d, on_time=t, late=la, on_time_rate=_rate(t, la))
            for o, (d, t, la) in officers.items()
        ),
        key=lambda r: (-r.done, r.officer),
    )
    deadlines = _deadlines(flow_b)
    divisions = await _divisions(conn, region, from_month, to_month)
    on_time = sum(k.on_time for k in kinds)
    late = sum(k.late for k in kinds)
    pushes, platforms, evaluated = push_months(flow, months), push_platforms(flow_b), evaluations(flow_b)
    summary = Summary(
        records_in_force=sum(r.records for r in in_force),
        serious_in_force=sum(r.records for r in in_force if r.severity == "serious"),
        blacklist=sum(v for (m, _, _), v in end.items() if m == "blacklist:end"),
        records_new=sum(r.records_new for r in rows),
        appeals_filed=sum(r.appeals_filed for r in rows),
        repairs_approved=sum(r.repairs_approved for r in rows),
        tasks_open=sum(k.open for k in kinds),
        tasks_overdue=sum(k.overdue for k in kinds),
        on_time_rate=_rate(on_time, late),
        experts_drawable=sum(r.experts for r in experts if r.status == "drawable"),
        pushes_delivered=sum(r.delivered for r in pushes),
        pushes_failed=sum(r.failed for r in pushes),
        evaluations_published=sum(r.published for r in evaluated),
        interviews=sum(r.interviews for r in evaluated),
    )
    return Dashboard(
        period=Period(region=region, from_month=from_month, to_month=to_month),
        summary=summary,
        months=rows,
        in_force=in_force,
        behaviours=behaviours,
        task_kinds=kinds,
        officers=officer_rows,
        divisions=divisions,
        experts=experts,
        deadlines=deadlines,
        pushes=pushes,
        push_platforms=platforms,
        evaluations=evaluated,
    )


async def _task_kinds(
    conn: AsyncConnection, prefix: str, flow_b: dict[tuple[str, str, str], int], today: date
) -> list[TaskKindRow]:
    where = [TASKS.c.region.startswith(prefix, autoescape=True), TASKS.c.state == "open"]
    late = func.sum(case((TASKS.c.due_on < today, 1), else_=0))
    open_rows = await conn.execute(select(TASKS.c.kind, func.count(), late).where(*where).group_by(TASKS.c.kind))
    open_by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for kind, n, n_late in open_rows:
        open_by[kind] = [int(n), int(n_late or 0)]
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (metric, kind, _), v in flow_b.items():
        if metric.startswith("tasks_"):
            per[kind][metric] += v
    out: list[TaskKindRow] = []
    for kind in sorted(set(per) | set(open_by)):
        p = per[kind]
        out.append(
            TaskKindRow(
                kind=kind,
                opened=p["tasks_opened"],
                done=p["tasks_done"],
                on_time=p["tasks_on_time"],
                late=p["tasks_late"],
                on_time_rate=_rate(p["tasks_on_time"], p["tasks_late"]),
                open=open_by[kind][0],
                overdue=open_by[kind][1],
            )
        )
    return out


def _deadlines(flow_b: dict[tuple[str, str, str], int]) -> list[DeadlineRow]:
    """Purchasers' and agencies' missed deadlines in the period (the watch's warnings), worst first."""
    parties: dict[tuple[str, str], DeadlineRow] = {}
    for (metric, rtype, party), v in flow_b.items():
        if metric != "deadline_party":
            continue
        pid, _, name = party.partition("|")
        parties.setdefault(
            (rtype, pid), DeadlineRow(responsible_type=rtype, responsible_id=pid, name=name, overdue=0, escalated=0)
        )
        parties[(rtype, pid)].overdue += v
    return sorted(parties.values(), key=lambda r: (-r.overdue, r.responsible_id))[:20]


def _children(region: str) -> ColumnElement[bool]:
    """The divisions one level under `region` as exact keys (index lookups, not a scan of the
    province): a province's cities and the counties it administers directly (XX90YY), a city's
    counties; a county is its own only division."""
    c = ROLLUP.c
    level = division_level(region)
    if level == "county":
        return c.region == region
    if level == "province":
        codes = [f"{region[:2]}{n:02d}00" for n in range(1, 100)] + [f"{region[:2]}90{n:02d}" for n in range(1, 100)]
    else:
        codes = [f"{region[:4]}{n:02d}" for n in range(1, 100)]
    return c.region.in_(codes)


async def _divisions(conn: AsyncConnection, region: str, from_month: str, to_month: str) -> list[DivisionRow]:
    """One row per division under the region (its rolled-up counters): flows in the period, levels at its end."""
    c = ROLLUP.c
    inside = func.sum(case((c.month >= from_month, c.n), else_=0))
    stmt = (
        select(c.region, c.metric, c.dim_a, inside, func.sum(c.n))
        .where(_children(region), c.month <= to_month, c.metric.in_(DIVISION_METRICS))
        .group_by(c.region, c.metric, c.dim_a)
    )
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for region, metric, a, in_period, n in await conn.execute(stmt):
        if metric in ("in_force", "blacklist"):
            per[region][metric] += int(n)
        elif metric != "appeals" or a == "filed":
            per[region][metric] += int(in_period or 0)
    return [
        DivisionRow(
            region=r,
            records_new=p["records_new"],
            in_force=p["in_force"],
            blacklist=p["blacklist"],
            appeals_filed=p["appeals"],
            tasks_done=p["tasks_done"],
            on_time_rate=_rate(p["tasks_on_time"], p["tasks_late"]),
        )
        for r, p in sorted(per.items())
    ]
