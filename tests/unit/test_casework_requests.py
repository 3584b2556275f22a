"""The consumer of `determination.requested.v1` (CONTRACT §4) against SQLite: a request is stored
once with its workflow input (durations from the regional policy), casework's own task.* events
are passed over, anything else is dead-lettered with a reason."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.handlers import accept
from services.casework.models import MESSAGING, MIGRATIONS, REQUESTS_T, TABLES
from services.common.cloudevents import build_event, encode_structured, parse_kafka_message
from services.common.db import make_engine
from services.common.inbound import Inbound
from services.common.migrations import migrate
from services.common.policy import policy_for
from services.common.topics import DETERMINATION_REQUESTED, EVENT_REJECTED, TASK_CREATED
from tests.support import factories as f

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'casework.db'}")
    await migrate(engine, "casework", MIGRATIONS, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()


def request_data(request_id: str = "task-abc", region: str = "410322") -> dict:
    return {
        "request_id": request_id,
        "region": region,
        "subject": {"type": "supplier", "id": f.new_uscc(), "name": "洛阳某某科技有限公司"},
        "behaviour_code": "SUP-S-03",
        "behaviour": {"code": "SUP-S-03", "severity": "serious", "text": "…", "legal_basis": "…"},
        "reporter": {"type": "purchaser", "id": f.PURCHASER_ID, "name": "采购人"},
        "project": {"code": "LYCG-1", "name": "办公设备采购项目"},
        "occurred_on": "2026-11-25",
        "evidence_count": 2,
        "reported_at": NOW.isoformat(),
    }


def item(type_: str, data: dict, *, id: str | None = None) -> Inbound:
    value, headers = encode_structured(build_event(type=type_, source="urn:credit:evaluation", data=data, id=id))
    return Inbound(original=None, key="k", envelope=parse_kafka_message(value, headers), value=value)


async def apply(engine: AsyncEngine, items: list[Inbound]) -> dict[str, int]:
    async with engine.begin() as conn:
        return await accept(conn, items, now=NOW)


async def dead_reasons(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(MESSAGING.outbox.c.payload))
        events = [orjson.loads(r.payload) for r in rows]
    return [e["data"]["reason"] for e in events if e["type"] == EVENT_REJECTED]


async def test_a_request_is_stored_once_with_the_policy_durations(engine: AsyncEngine) -> None:
    data = request_data()
    first = item(DETERMINATION_REQUESTED, data, id="e-1")
    resent = item(DETERMINATION_REQUESTED, data, id="e-2")  # same request, another event id
    assert (await apply(engine, [first, first]))["accepted"] == 1
    assert (await apply(engine, [first, resent]))["duplicate"] == 1
    async with engine.connect() as conn:
        (row,) = (await conn.execute(select(REQUESTS_T))).all()
    policy = policy_for("410322", NOW.date())
    assert (row.request_id, row.started_at) == ("task-abc", None)
    assert row.workflow_input["due_working_days"] == policy.determination_working_days
    assert row.workflow_input["escalation_working_days_after"] == policy.tasks.escalation_working_days_after
    assert row.workflow_input["request"]["evidence_count"] == 2


async def test_own_task_events_pass_and_anything_else_is_dead_lettered(engine: AsyncEngine) -> None:
    bad_region = request_data("task-x", region="999999")
    missing = {k: v for k, v in request_data("task-y").items() if k != "subject"}
    counts = await apply(
        engine,
        [
            item(TASK_CREATED, {"task_id": "t"}),
            item(DETERMINATION_REQUESTED, bad_region),
            item(DETERMINATION_REQUESTED, missing),
            item("cn.gov.procurement.credit.determination.requested.v2", request_data("task-z")),
        ],
    )
    assert counts == {"accepted": 0, "duplicate": 0, "rejected": 3, "passed": 1}
    assert sorted(await dead_reasons(engine)) == ["invalid_data", "invalid_identifier", "unknown_type"]
