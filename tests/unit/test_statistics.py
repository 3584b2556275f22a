"""The statistics read model against SQLite (issue 17): events of the outbound topics counted once
into the counters, the dashboard's figures for a region and its divisions, levels over months, a
stale version changing nothing, exports with Chinese headers, and who may read."""

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.auth import Principal, Role
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.problems import Problem
from services.statistics.api import scope
from services.statistics.counting import apply_events
from services.statistics.exports import to_csv, to_xlsx
from services.statistics.figures import dashboard
from services.statistics.models import MIGRATIONS, TABLES
from tests.support import statistics_events as s

TODAY = date(2026, 6, 1)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'statistics.db'}")
    await migrate(engine, "statistics", MIGRATIONS, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()


async def feed(engine: AsyncEngine, events: list[dict]) -> dict[str, int]:
    async with engine.begin() as conn:
        return await apply_events(conn, [s.inbound(e) for e in events])


def at(month: int, day: int = 15) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


async def figures(engine: AsyncEngine, region: str = "410300", first: str = "2026-01", last: str = "2026-06"):
    async with engine.connect() as conn:
        return await dashboard(conn, region, first, last, TODAY)


async def seed(engine: AsyncEngine) -> None:
    await feed(
        engine,
        [
            s.event("record.created.v1", s.record("r1", recorded_on=date(2026, 1, 10)), id="e1", time=at(1, 10)),
            s.event(
                "record.created.v1",
                s.record("r2", severity="serious", code="SUP-S-03", recorded_on=date(2026, 2, 3)),
                id="e2",
                time=at(2, 3),
            ),
            s.event(
                "record.created.v1",
                s.record("r3", region="410323", recorded_on=date(2026, 2, 5)),
                id="e3",
                time=at(2, 5),
            ),
            s.event(
                "record.expired.v1",
                s.record("r1", version=2, status="expired", recorded_on=date(2026, 1, 10)),
                id="e4",
                time=at(4, 2),
            ),
            s.event("subject.status.changed.v1", s.subject("S1", True), id="e5", time=at(2, 3)),
            s.event("appeal.changed.v1", s.appeal("a1", "filed"), id="e6", time=at(3, 1)),
            s.event("appeal.changed.v1", s.appeal("a1", "corrected", version=2), id="e7", time=at(3, 20)),
            s.event("task.created.v1", s.task_created("t1"), id="e8", time=at(3, 2)),
            s.event("task.completed.v1", s.task_completed("t1"), id="e9", time=at(3, 18)),
            s.event("task.created.v1", s.task_created("t2", opened_on="2026-04-01", due_on="2026-04-20"), id="e10"),
            s.event(
                "task.completed.v1",
                s.task_completed("t2", due_on="2026-04-20", completed_at="2026-04-25T02:00:00+00:00"),
                id="e11",
            ),
            s.event(
                "task.created.v1",
                s.task_created("t3", kind="determination", opened_on="2026-05-01", due_on="2026-05-20"),
                id="e12",
            ),
            s.event("expert.suspended.v1", s.expert("EXP-1", "suspended"), id="e13"),
            s.event("deadline.warning.v1", s.deadline("P1", "overdue"), id="e14", time=at(5)),
            s.event("deadline.warning.v1", s.deadline("P2", "overdue"), id="e15", time=at(5)),
        ],
    )


async def test_levels_flows_and_divisions(engine: AsyncEngine) -> None:
    await seed(engine)
    f = await figures(engine)
    by_month = {m.month: m for m in f.months}
    assert [by_month[m].in_force for m in ("2026-01", "2026-02", "2026-03", "2026-04")] == [1, 3, 3, 2]
    assert by_month["2026-02"].records_new == 2 and by_month["2026-02"].blacklist == 1
    assert by_month["2026-03"].appeals_filed == 1 and by_month["2026-03"].appeals_corrected == 1
    assert f.summary.records_in_force == 2 and f.summary.serious_in_force == 1 and f.summary.blacklist == 1
    kinds = {k.kind: k for k in f.task_kinds}
    assert (kinds["appeal_review"].on_time, kinds["appeal_review"].late, kinds["appeal_review"].on_time_rate) == (
        1,
        1,
        0.5,
    )
    assert (kinds["determination"].open, kinds["determination"].overdue) == (1, 1)
    assert {d.region: d.in_force for d in f.divisions} == {"410322": 1, "410323": 1}
    assert [(r.subject_type, r.severity, r.records) for r in f.in_force] == [
        ("supplier", "general", 1),
        ("supplier", "serious", 1),
    ]
    assert [(e.status, e.experts) for e in f.experts] == [("suspended", 1)]
    assert [(d.responsible_id, d.overdue) for d in f.deadlines] == [("PUR-1", 2)]
    assert f.officers[0].officer == "officer-1" and f.officers[0].done == 2


async def test_a_county_sees_itself_and_a_period_filters(engine: AsyncEngine) -> None:
    await seed(engine)
    county = await figures(engine, region="410323")
    assert county.summary.records_in_force == 1 and county.summary.records_new == 1
    march = await figures(engine, first="2026-03", last="2026-03")
    assert march.summary.records_new == 0 and march.months[0].in_force == 3 and march.summary.appeals_filed == 1


async def test_redelivery_and_older_versions_change_nothing(engine: AsyncEngine) -> None:
    await seed(engine)
    before = await figures(engine)
    again = await feed(
        engine,
        [
            s.event("record.created.v1", s.record("r1", recorded_on=date(2026, 1, 10)), id="e1", time=at(1, 10)),
            s.event("record.created.v1", s.record("r1", recorded_on=date(2026, 1, 10)), id="late-copy", time=at(5)),
        ],
    )
    assert again == {"duplicate": 1, "stale": 1}
    assert await figures(engine) == before


async def test_exports_have_chinese_headers_and_the_same_rows(engine: AsyncEngine) -> None:
    await seed(engine)
    f = await figures(engine)
    rows = list(csv.reader(io.StringIO(to_csv(f, "divisions").decode("utf-8-sig"))))
    assert rows[0][:3] == ["行政区划代码", "新增记录", "有效记录"] and [r[0] for r in rows[1:]] == ["410322", "410323"]
    sheet = load_workbook(io.BytesIO(to_xlsx(f, "task_kinds"))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == "任务类型" and {r[0] for r in values[2:]} == {"异议复核", "严重失信认定"}


def test_scope_denies_other_regions_and_bad_periods() -> None:
    officer = Principal("o", Role.FINANCE_OFFICER, "410300", "410300")
    assert scope(officer, "410322", "2026-01", "2026-02") == ("410322", "2026-01", "2026-02")
    with pytest.raises(Problem) as outside:
        scope(officer, "410100", None, None)
    assert outside.value.status == 403
    with pytest.raises(Problem) as backwards:
        scope(officer, None, "2026-05", "2026-01")
    assert backwards.value.status == 422
    with pytest.raises(Problem):
        scope(Principal("p", Role.PURCHASER, "x", "410300"), "410300", None, None)
