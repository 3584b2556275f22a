"""The period notice on the time-skipping server, with the real activity on SQLite: the general
records of a month are in that month's notice and not the next; a record repaired before its
notice is not in it, one repaired after is taken down by the next. The Schedule that starts these
runs cannot be tested here — the time-skipping server does not implement CreateSchedule (tried:
RPCError "Method …/CreateSchedule is unimplemented"; sdk-java#1954 "no plans") — so it is tested
on the dev server (tests/integration/test_publication_connected.py); runs are started as the
schedule would start them, at the moment it fires (day and hour of the policy, Asia/Shanghai)."""

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.db import create_tables, make_engine
from services.common.lawdates import SHANGHAI, add_months, local_date
from services.common.policy import policy_for
from services.common.temporal import PUBLICATION_ACTIVITIES
from services.common.topics import RECORD_CREATED, RECORD_REPAIRED
from services.evaluation import events
from services.publication.activities import PublicationActivities
from services.publication.models import MESSAGING, TABLES, PublicNotice
from services.publication.readmodel import apply
from tests.unit.test_publication_readmodel import record_row, to_inbound
from tests.workflows.saved import save_history
from workflows.notices.inputs import NoticePeriodInput, NoticeResult
from workflows.notices.workflow import PeriodicNoticeWorkflow, previous_period

HISTORIES = Path(__file__).parent / "histories"
LUOYANG = "410300"
NOTICES_T = PublicNotice.__table__


@pytest.fixture
async def publication_db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'publication.db'}")
    await create_tables(engine, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()


async def record(
    engine: AsyncEngine, record_id: str, recorded_on: date, *, version: int = 1, status: str = "in_force"
) -> None:
    """A general record's version arriving on credit.records, as the evaluation service sends it."""
    row = record_row(record_id=record_id, version=version, status=status) | {
        "recorded_on": recorded_on,
        "valid_until": add_months(recorded_on, 12),
    }
    if status == "repaired":
        row["resolution"] = {"kind": "repaired", "decided_on": recorded_on.isoformat()}
    kind = RECORD_CREATED if version == 1 else RECORD_REPAIRED
    item = to_inbound(events.record_event(kind, row, event_time=datetime.now(SHANGHAI)).event)
    async with engine.begin() as conn:
        await apply(conn, [item], now=datetime.now(SHANGHAI))


def fire_time(month_start: date) -> datetime:
    """When the region's schedule fires in the month starting `month_start` (policy day and hour)."""
    rules = policy_for(LUOYANG, month_start).publication
    return datetime.combine(month_start.replace(day=rules.notice_day_of_month), time(rules.notice_hour), SHANGHAI)


async def notice(engine: AsyncEngine, notice_id: str) -> dict:
    async with engine.connect() as conn:
        return (await conn.execute(select(NOTICES_T.c.body).where(NOTICES_T.c.notice_id == notice_id))).scalar_one()


async def notice_events(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(MESSAGING.outbox.c.payload).order_by(MESSAGING.outbox.c.seq))
        return [e for e in (orjson.loads(r.payload) for r in rows) if e["type"].endswith("notice.published.v1")]


def test_previous_period() -> None:
    assert previous_period(date(2026, 12, 1), "monthly") == (date(2026, 11, 1), date(2026, 11, 30))
    assert previous_period(date(2027, 1, 15), "monthly") == (date(2026, 12, 1), date(2026, 12, 31))
    assert previous_period(date(2027, 3, 1), "monthly") == (date(2027, 2, 1), date(2027, 2, 28))
    assert previous_period(date(2027, 4, 1), "quarterly") == (date(2027, 1, 1), date(2027, 3, 31))
    assert previous_period(date(2027, 2, 10), "quarterly") == (date(2026, 10, 1), date(2026, 12, 31))


async def test_records_of_a_month_are_in_that_months_notice_not_the_next(
    time_skipping: WorkflowEnvironment, publication_db: AsyncEngine
) -> None:
    env = time_skipping
    today = local_date(await env.get_current_time())
    month0 = today.replace(day=1)  # the month we are in ("November")
    month1, month2 = add_months(month0, 1), add_months(month0, 2)
    ids = {n: f"{n}-{uuid.uuid4().hex[:8]}" for n in ("a", "repaired_late", "repaired_early", "b")}
    await record(publication_db, ids["a"], month0)
    await record(publication_db, ids["repaired_late"], month0 + timedelta(days=1))
    await record(publication_db, ids["repaired_early"], month0 + timedelta(days=2))
    # Repaired before its month's notice: never listed.
    await record(publication_db, ids["repaired_early"], month0 + timedelta(days=2), version=2, status="repaired")

    queue = f"wf-{uuid.uuid4()}"
    acts = PublicationActivities(publication_db, urls={})
    inp = NoticePeriodInput(region=LUOYANG, cadence=policy_for(LUOYANG, today).notice_cadence)
    async with (
        Worker(env.client, task_queue=queue, workflows=[PeriodicNoticeWorkflow]),
        Worker(env.client, task_queue=PUBLICATION_ACTIVITIES, activities=acts.all()),
    ):

        async def run_at(moment: datetime, suffix: str) -> tuple[NoticeResult, WorkflowHistory]:
            # Time jumps to the moment the schedule fires; the run publishes the month just ended.
            await env.sleep(moment - await env.get_current_time())
            handle = await env.client.start_workflow(
                PeriodicNoticeWorkflow.run, inp, id=f"notice:{LUOYANG}-{suffix}-{uuid.uuid4()}", task_queue=queue
            )
            # Waiting for the result would let the server skip time to the next timer it knows of
            # (seen: a run's 10-year timeout); the activity takes milliseconds of real time.
            with env.auto_time_skipping_disabled():
                result = await handle.result()
            return result, await handle.fetch_history()

        # The next month's first day: a record of that month, recorded just before the notice of
        # the month before goes out, is not in it.
        await env.sleep(datetime.combine(month1, time(0, 30), SHANGHAI) - await env.get_current_time())
        await record(publication_db, ids["b"], month1)
        first, history = await run_at(fire_time(month1), "first")
        assert first.created and first.notice_id == f"period-{LUOYANG}-{month0.isoformat()}"
        body0 = await notice(publication_db, first.notice_id)
        listed0 = {e["record_id"] for e in body0["entries"]}
        assert {ids["a"], ids["repaired_late"]} <= listed0
        assert ids["b"] not in listed0 and ids["repaired_early"] not in listed0
        assert body0["period"] == {
            "start": month0.isoformat(),
            "end": (month1 - timedelta(days=1)).isoformat(),
            "cadence": "monthly",
        }
        assert "description" not in str(body0) and "evidence" not in str(body0)

        # Run again for the same period (a manual trigger, a retry): nothing published twice.
        again, _ = await run_at(fire_time(month1) + timedelta(minutes=5), "again")
        assert (again.notice_id, again.created) == (first.notice_id, False)

        # During the next month, one of last month's records is repaired.
        await env.sleep(timedelta(days=3))
        await record(publication_db, ids["repaired_late"], month0 + timedelta(days=1), version=2, status="repaired")

        second, _ = await run_at(fire_time(month2), "second")
        body1 = await notice(publication_db, second.notice_id)
        listed1 = {e["record_id"] for e in body1["entries"]}
        assert ids["b"] in listed1
        assert not {ids["a"], ids["repaired_late"], ids["repaired_early"]} & listed1
        # The repaired record comes down in the next notice; the one never listed is not mentioned.
        withdrawn1 = {w["record_id"]: w for w in body1["withdrawals"]}
        assert withdrawn1[ids["repaired_late"]]["status"] == "repaired"
        assert ids["repaired_early"] not in withdrawn1

    published = [e["data"]["notice_id"] for e in await notice_events(publication_db)]
    assert published == [first.notice_id, second.notice_id]
    save_history("notices_v1", history)
