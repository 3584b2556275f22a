"""The appeals' due-date re-planner (services/appeal/replanner.py) on SQLite: an objection filed on
Sunday 2026-12-20 has 20 days to Saturday 2027-01-09 (征信业管理条例 Art. 25) and is told Friday 01-08,
provisional (2027 has no official arrangement here). When a 2027 arrangement is installed, the open
appeal takes its date counted again — never past the law, never earlier than told — and one
`replan_due` command for its review workflow; a decided appeal, and one whose date never reached
2027, are left alone; the announcement heard twice changes nothing; a malformed one is refused.

The arrangements are TEST FIXTURES, NOT OFFICIAL DATA."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appeal.commands import REPLAN_DUE
from services.appeal.events import appeal_view
from services.appeal.filing import file_appeals
from services.appeal.models import APPEALS_T, COMMANDS, TABLES
from services.appeal.replanner import REPLANNER
from services.common.cloudevents import build_event
from services.common.db import create_tables, make_engine
from services.common.frame import counts, handle_batch
from services.common.lawdates import SHANGHAI
from services.common.topics import CALENDAR_INSTALLED
from services.common.workdays import RECKONER
from tests.support.calendars import fixture_arrangement
from tests.support.factories import new_uscc
from tests.support.procurement import inbound
from tests.unit.test_appeal_filing import appeal, appeal_item, record_data, replicate
from workflows.appeal.inputs import AppealDueReplan

FILED = datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI)  # a Sunday
NOW = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)  # 2027 has no data: provisional
    monkeypatch.setattr(RECKONER, "_installed", dict(RECKONER._installed))  # the test's installs stay here
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'appeal.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def installed(version: int, *, off: set[date] = frozenset(), work: set[date] = frozenset()) -> dict:
    """calendar.installed.v1 of a TEST FIXTURE 2027: the law's days plus `off`, `work` as 调休."""
    arrangement = fixture_arrangement(version, off=off, work=work)
    data = {**arrangement.as_dict(), "installed_by": "admin-1", "installed_at": NOW.isoformat()}
    return build_event(
        type=CALENDAR_INSTALLED, source="urn:credit:casework", id=f"calendar:2027:v{version}", subject="2027", data=data
    )


async def hear(engine: AsyncEngine, event: dict) -> dict[str, int]:
    async with engine.begin() as conn:
        return counts(await handle_batch(REPLANNER, conn, [inbound(event, "2027")], now=NOW))


async def file_one(engine: AsyncEngine, record_id: str, filed_at: datetime) -> str:
    supplier = new_uscc()
    await replicate(engine, record_data(record_id, supplier))
    async with engine.begin() as conn:
        (outcome,) = await file_appeals(conn, [appeal_item(record_id, supplier)], now=filed_at)
    assert outcome.appeal_id is not None
    return outcome.appeal_id


async def replans(engine: AsyncEngine) -> list[tuple[str, AppealDueReplan]]:
    async with engine.connect() as conn:
        q = select(COMMANDS).where(COMMANDS.c.purpose == REPLAN_DUE).order_by(COMMANDS.c.seq)
        return [(r.workflow_id, AppealDueReplan.model_validate(r.arg)) for r in await conn.execute(q)]


def due(row: dict) -> tuple[date, int, bool]:
    return row["review_due_on"], row["review_working_days"], row["review_due_provisional"]


async def test_an_open_appeal_takes_its_date_counted_again_once_never_past_the_law_never_earlier(
    engine: AsyncEngine,
) -> None:
    open_id = await file_one(engine, "rec-open", FILED)
    decided_id = await file_one(engine, "rec-decided", FILED)
    november_id = await file_one(engine, "rec-nov", datetime(2026, 11, 2, 10, tzinfo=SHANGHAI))
    async with engine.begin() as conn:
        await conn.execute(update(APPEALS_T).where(APPEALS_T.c.id == decided_id).values(state="upheld"))
    told = due(await appeal(engine, open_id))
    assert told == (date(2027, 1, 8), 14, True)
    before = {a: due(await appeal(engine, a)) for a in (decided_id, november_id)}

    # Monday 01-04 a day off: 13 working days by the law's last day, still Friday 01-08, now official.
    assert await hear(engine, installed(1, off={date(2027, 1, 4)})) == {"replanned:1": 1}
    assert due(await appeal(engine, open_id)) == (date(2027, 1, 8), 13, False)
    ((workflow_id, first),) = await replans(engine)
    assert workflow_id == f"appeal:{open_id}"
    assert (first.due_on, first.provisional) == (date(2027, 1, 8), False)
    assert first.reason.startswith("holiday arrangement of 2027 installed (version 1")
    assert {a: due(await appeal(engine, a)) for a in (decided_id, november_id)} == before

    # Heard again (a redelivery): processed already, nothing more.
    assert await hear(engine, installed(1, off={date(2027, 1, 4)})) == {"duplicate": 1}
    assert len(await replans(engine)) == 1

    # Version 2: 01-04 a working day again and Saturday 01-09, the law's last day, one too (调休).
    assert await hear(engine, installed(2, work={date(2027, 1, 9)})) == {"replanned:1": 1}
    assert due(await appeal(engine, open_id)) == (date(2027, 1, 9), 15, False)
    view = appeal_view(await appeal(engine, open_id), finance=False)  # GET /v1/appeals/{id}, appeal.changed.v1
    assert (view["review_due_on"], view["review_working_days"], view["review_due_provisional"]) == (
        "2027-01-09",
        15,
        False,
    )

    # Version 3 would bring it to Thursday 01-07 (01-08 off, 01-09 a weekend day again): it stays.
    assert await hear(engine, installed(3, off={date(2027, 1, 8)})) == {"replanned:0": 1}
    assert due(await appeal(engine, open_id))[0] == date(2027, 1, 9)
    assert [(r.due_on, r.provisional) for _, r in await replans(engine)] == [
        (date(2027, 1, 8), False),
        (date(2027, 1, 9), False),
    ]


async def test_a_malformed_announcement_is_refused_and_nothing_moves(engine: AsyncEngine) -> None:
    open_id = await file_one(engine, "rec-open", FILED)
    event = installed(1, off={date(2027, 1, 4)})
    event["data"]["holidays"] = ["not a date"]
    assert await hear(engine, event) == {"rejected": 1}
    assert due(await appeal(engine, open_id)) == (date(2027, 1, 8), 14, True)
    assert await replans(engine) == []
