"""The watch's clock re-planner (services/watch/replanner.py) on SQLite: when the official holiday
arrangement of a year is installed, a running clock counted through it on the provisional calendar
gets its new due date and one `replan` command; a clock already completed is left alone, and so is
one the new version does not move; the announcement heard twice changes nothing."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.arrangements import Arrangement, provisional
from services.common.cloudevents import build_event
from services.common.frame import counts, handle_batch
from services.common.lawdates import SHANGHAI, local_date
from services.common.topics import CALENDAR_INSTALLED
from services.common.workdays import LIBRARY_YEARS, RECKONER
from services.watch.commands import CLOCK_REPLAN
from services.watch.intake import receive
from services.watch.models import CLOCKS, COMMANDS
from services.watch.replanner import REPLANNER
from tests.support.procurement import inbound, procurement_event, watch_database
from workflows.deadline_clock.inputs import ClockReplan

YEAR = max(LIBRARY_YEARS.stop, local_date(datetime.now(UTC)).year + 1)
EVE = datetime.combine(date(YEAR - 1, 12, 31), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=10)
NOW = datetime.now(UTC)


@pytest.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    monkeypatch.setattr(RECKONER, "_installed", dict(RECKONER._installed))  # the test's installs stay here
    async with watch_database(tmp_path) as eng:
        yield eng


def official(extra_off: set[date]) -> Arrangement:
    base = provisional(YEAR)
    return Arrangement(
        year=YEAR,
        holidays=frozenset(base.holidays | extra_off),
        workdays=frozenset(base.workdays),
        source="国办发明电 test notice",
        status="official",
        version=1,
    )


def installed(arrangement: Arrangement) -> dict:
    data = {**arrangement.as_dict(), "installed_by": "admin-1", "installed_at": NOW.isoformat()}
    return build_event(
        type=CALENDAR_INSTALLED, source="urn:credit:casework", id=f"calendar:{YEAR}:v1", subject=str(YEAR), data=data
    )


async def clocks(engine: AsyncEngine) -> dict[str, dict]:
    async with engine.connect() as conn:
        return {r.clock_id: dict(r._mapping) for r in await conn.execute(select(CLOCKS))}


async def replans(engine: AsyncEngine) -> list[tuple[str, dict]]:
    async with engine.connect() as conn:
        q = select(COMMANDS).where(COMMANDS.c.purpose == CLOCK_REPLAN).order_by(COMMANDS.c.seq)
        return [(r.ref, r.arg) for r in await conn.execute(q)]


async def hear(engine: AsyncEngine, event: dict) -> dict[str, int]:
    async with engine.begin() as conn:
        return counts(await handle_batch(REPLANNER, conn, [inbound(event, str(YEAR))], now=NOW))


async def test_a_provisional_running_clock_takes_the_official_due_date_once(engine: AsyncEngine) -> None:
    award = procurement_event("award.notified", code="R1", at=EVE)  # Xuchang: 2 working days
    done = procurement_event("award.notified", code="R2", at=EVE)
    signed = procurement_event("contract.signed", code="R2", at=EVE + timedelta(hours=2), contract_no="C-2")
    async with engine.begin() as conn:
        assert {o.kind for o in await receive(conn, [inbound(e, "k") for e in (award, done, signed)], now=NOW)} == {
            "accepted"
        }
    before = await clocks(engine)
    running = before["411000:R1:contract_signing:"]
    assert running["provisional"] is True
    # The official arrangement gives the first two working days of the year off as well.
    days = (date(YEAR, 1, 1) + timedelta(days=n) for n in range(10))
    first_two = sorted(d for d in days if RECKONER.is_working_day(d))[:2]
    assert first_two[-1] == running["due_on"]
    # R1's signing clock, and the publication and filing clocks R2's signing opened; not R2's signing.
    assert await hear(engine, installed(official(set(first_two)))) == {"replanned:3": 1}

    after = await clocks(engine)
    moved = after["411000:R1:contract_signing:"]
    assert moved["due_on"] > running["due_on"] and moved["provisional"] is False
    assert after["411000:R2:contract_signing:"]["due_on"] == before["411000:R2:contract_signing:"]["due_on"]
    sent = dict(await replans(engine))
    assert sorted(sent) == [
        "411000:R1:contract_signing:",
        "411000:R2:contract_filing:C-2",
        "411000:R2:contract_publication:C-2",
    ]
    plan = ClockReplan.model_validate(sent["411000:R1:contract_signing:"])
    assert plan.due_on == moved["due_on"] and not plan.provisional
    assert plan.overdue_at == datetime.combine(plan.due_on + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    assert "version 1" in plan.reason and "admin-1" in plan.reason

    assert await hear(engine, installed(official(set(first_two)))) == {"duplicate": 1}
    assert len(await replans(engine)) == 3
    # A corrected version (2) that leaves these dates where they are tells no workflow anything.
    same = installed(official(set(first_two) | {date(YEAR, 12, 30)}))
    same["id"], same["data"]["version"] = f"calendar:{YEAR}:v2", 2
    assert await hear(engine, same) == {"replanned:0": 1}
    assert len(await replans(engine)) == 3


async def test_a_malformed_announcement_is_dead_lettered_and_nothing_moves(engine: AsyncEngine) -> None:
    event = installed(official(set()))
    event["data"]["holidays"] = ["not a date"]
    assert await hear(engine, event) == {"rejected": 1}
    assert await replans(engine) == []
