"""The watch's activities on SQLite (services/watch/activities.py): a warning stored once with its
deadline.warning.v1 in the outbox; notices `not_configured` when no adapter is set up, delivered by
the webhook and SMS adapters, retried and recorded `failed` on the last attempt; a report decided on
a task goes to the intake topic. And the rankings (api.rank)."""

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import RetryPolicy
from temporalio.testing import ActivityEnvironment

from services.common.db import create_tables, make_engine
from services.common.topics import INBOUND_BEHAVIOUR, WARNINGS
from services.watch.activities import WatchActivities
from services.watch.api import rank
from services.watch.models import CLOCKS, MESSAGING, NOTICES, TABLES
from services.watch.notifier import SmsNotifier, WebhookNotifier
from workflows.deadline_clock.inputs import OverdueDecided, WarningRaised

CLOCK_ID = "411000:P1:contract_signing:"
NOW = datetime(2024, 3, 12, 1, tzinfo=UTC)


class Relay:
    def wake(self) -> None:
        return None


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'watch.db'}")
    await create_tables(eng, TABLES)
    async with eng.begin() as conn:
        await conn.execute(
            CLOCKS.insert().values(
                clock_id=CLOCK_ID, region="411000", project_code="P1", project_name="项目 P1",
                stage="contract_signing", contract_no="", purchaser_id="12411000MB0000001X",
                agency_id="91411000MA0000002Y",
                responsible={"type": "purchaser", "id": "12411000MB0000001X", "name": "某采购人"},
                started_by="s|1", started_at=NOW, due_on=date(2024, 3, 11), provisional=False,
                rule={"value": 2, "unit": "working_days", "source": "004 第18项: …"},
                done_at=None, late=None, level=None, task_id=None, decision=None, updated_at=NOW,
            )
        )  # fmt: skip
    try:
        yield eng
    finally:
        await eng.dispose()


async def rows(engine: AsyncEngine, table) -> list[dict]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(table))).mappings()]


def env(attempt: int = 1, attempts: int = 3) -> ActivityEnvironment:
    e = ActivityEnvironment()
    e.info = dataclasses.replace(e.info, attempt=attempt, retry_policy=RetryPolicy(maximum_attempts=attempts))
    return e


async def test_a_warning_is_stored_once_published_and_its_notices_not_configured(engine: AsyncEngine) -> None:
    acts = WatchActivities(engine, Relay(), {"webhook": None, "sms": None})  # type: ignore[arg-type]
    raised = WarningRaised(clock_id=CLOCK_ID, level="overdue")
    first = await env().run(acts.raise_warning, raised)
    again = await env().run(acts.raise_warning, raised)  # a retried activity
    assert first == again == f"{CLOCK_ID}:overdue"
    outbox = await rows(engine, MESSAGING.outbox)
    assert [(r["topic"], orjson.loads(r["payload"])["data"]["level"]) for r in outbox] == [(WARNINGS, "overdue")]
    data = orjson.loads(outbox[0]["payload"])["data"]
    assert (data["stage"], data["due_on"], data["responsible"]["type"]) == (
        "contract_signing",
        "2024-03-11",
        "purchaser",
    )
    assert sorted((n["channel"], n["recipient"], n["state"]) for n in await rows(engine, NOTICES)) == [
        ("sms", "12411000MB0000001X", "not_configured"),
        ("sms", "91411000MA0000002Y", "not_configured"),
        ("webhook", "12411000MB0000001X", "not_configured"),
        ("webhook", "91411000MA0000002Y", "not_configured"),
    ]
    assert await env().run(acts.deliver_notices, first) == 0
    (clock,) = await rows(engine, CLOCKS)
    assert clock["level"] == "overdue"


async def test_notices_are_delivered_by_both_adapters(engine: AsyncEngine) -> None:
    seen: list[tuple[str, dict, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), orjson.loads(request.content), request.headers.get("authorization")))
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    channels = {
        "webhook": WebhookNotifier("http://notify.invalid/hook", transport=transport),
        "sms": SmsNotifier("http://sms.invalid/send", "k-123", transport=transport),
    }
    acts = WatchActivities(engine, Relay(), channels)  # type: ignore[arg-type]
    wid = await env().run(acts.raise_warning, WarningRaised(clock_id=CLOCK_ID, level="due_soon"))
    assert await env().run(acts.deliver_notices, wid) == 4
    assert {url for url, _, _ in seen} == {"http://notify.invalid/hook", "http://sms.invalid/send"}
    sms = [(body, auth) for url, body, auth in seen if "sms" in url]
    assert {body["to"] for body, _ in sms} == {"12411000MB0000001X", "91411000MA0000002Y"}
    assert all(auth == "Bearer k-123" and "due_soon" in body["text"] for body, auth in sms)
    assert {(n["state"], n["attempts"]) for n in await rows(engine, NOTICES)} == {("delivered", 1)}


async def test_a_failing_notice_is_retried_then_recorded_failed(engine: AsyncEngine) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    acts = WatchActivities(
        engine, Relay(), {"webhook": WebhookNotifier("http://notify.invalid/hook", transport=transport), "sms": None}
    )  # type: ignore[arg-type]
    wid = await env().run(acts.raise_warning, WarningRaised(clock_id=CLOCK_ID, level="overdue"))
    with pytest.raises(RuntimeError, match="not accepted"):
        await env(attempt=1, attempts=2).run(acts.deliver_notices, wid)
    assert await env(attempt=2, attempts=2).run(acts.deliver_notices, wid) == 0  # the last attempt
    states = {
        n["channel"]: (n["state"], n["attempts"]) for n in await rows(engine, NOTICES) if n["recipient"][0] == "1"
    }
    assert states["webhook"][0] == "failed" and states["webhook"][1] == 2
    assert states["sms"] == ("not_configured", 0)


async def test_report_behaviour_goes_to_the_intake_topic_as_the_finance_department(engine: AsyncEngine) -> None:
    acts = WatchActivities(engine, Relay(), {"webhook": None, "sms": None})  # type: ignore[arg-type]
    decided = OverdueDecided(
        clock_id=CLOCK_ID, task_id="deadline:x", decision="report_behaviour", reason="no reply",
        fields={"behaviour_code": "AGY-G-01"}, decided_by="officer", decided_by_org="411000",
    )  # fmt: skip
    await env().run(acts.report_overdue_behaviour, decided)
    (row,) = await rows(engine, MESSAGING.outbox)
    event = orjson.loads(row["payload"])
    assert row["topic"] == INBOUND_BEHAVIOUR and event["id"] == "overdue-report:deadline:x"
    assert event["data"]["reporter"] == {"type": "finance", "id": "411000", "name": "财政部门 411000"}
    assert (event["data"]["behaviour_code"], event["data"]["occurred_on"]) == ("AGY-G-01", "2024-03-12")


def test_rankings_rate_on_time_delays_and_open_overdue() -> None:
    def clock(party: str, stage: str, due: date, done: datetime | None, late: bool | None) -> dict:
        return {"purchaser_id": party, "agency_id": None, "stage": stage, "due_on": due, "done_at": done, "late": late}

    rows_ = [
        clock("A", "contract_signing", date(2024, 3, 11), datetime(2024, 3, 11, 2, tzinfo=UTC), False),
        clock("A", "contract_filing", date(2024, 3, 11), datetime(2024, 3, 13, 2, tzinfo=UTC), True),
        clock("B", "contract_signing", date(2024, 3, 11), None, None),
        clock("B", "contract_signing", date(2024, 3, 29), None, None),  # not due yet
    ]
    ranked = rank(rows_, kind="purchaser", on=date(2024, 3, 20))
    assert [r["party"]["id"] for r in ranked] == ["A", "B"]
    a, b = ranked
    assert a["on_time_rate"] == 0.5 and a["average_delay_working_days"] == 2 and a["open_overdue"] == 0
    assert b["on_time_rate"] == 0.0 and b["open_overdue"] == 1
    assert rank(rows_, kind="agency", on=date(2024, 3, 20)) == []
