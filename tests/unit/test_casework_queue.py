"""Issue 22: the queue's search (subject name, USCC, task id), sorting, and the counts behind the
console's charts, through the casework router over SQLite (tasks opened by the real activity)."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.api import router
from services.casework.models import TASKS_T
from services.casework.schemas import TaskCounts, TaskDetail, TaskPage
from services.common.problems import install_problem_handlers
from services.common.runtime import Runtime
from tests.conftest import bearer
from tests.unit.test_casework_tasks import engine, opened  # noqa: F401 - the fixture, and opening a task
from tests.unit.test_handlers_testbroker import StubRelay

OFFICER = bearer("finance_officer", "410300", "410300")


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = Runtime(engine=engine, relay=StubRelay())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_search_finds_a_task_by_uscc_name_or_id_and_sorts_by_a_column(
    engine: AsyncEngine,  # noqa: F811
    api: httpx.AsyncClient,
) -> None:
    first = await opened(
        engine, task_id="det-001", subject={"type": "supplier", "id": "91410300MA0000002X", "name": "甲公司"}
    )
    await opened(engine, task_id="det-002", title="认定 乙公司", kind="repair_review")
    await opened(engine, task_id="det-003", title="认定 丙公司")

    async def ids(**params: str) -> list[str]:
        r = await api.get("/v1/tasks", params=params, headers=OFFICER)
        assert r.status_code == 200, r.text
        TaskPage.model_validate(r.json())  # the shape /openapi.json documents
        return [t["id"] for t in r.json()["items"]]

    assert await ids(q=first.subject["id"]) == ["det-001"]
    assert await ids(q=first.subject["id"].lower()) == ["det-001"]  # a USCC typed in lower case
    assert await ids(q="乙公司") == ["det-002"]
    assert await ids(q="det-003") == ["det-003"]
    assert await ids(q="%") == []  # not a wildcard
    assert await ids(sort="-kind") == ["det-002", "det-001", "det-003"]
    assert await ids(sort="kind") == ["det-001", "det-003", "det-002"]
    assert (await api.get("/v1/tasks", params={"sort": "secret"}, headers=OFFICER)).json()["code"] == "invalid_request"
    detail = (await api.get("/v1/tasks/det-001", headers=OFFICER)).json()
    assert TaskDetail.model_validate(detail).audit[0].action == "created"


async def test_counts_by_kind_and_the_overdue_trend_of_eight_weeks(
    engine: AsyncEngine,  # noqa: F811
    api: httpx.AsyncClient,
) -> None:
    await opened(engine, task_id="t-late")
    await opened(engine, task_id="t-review", kind="repair_review")
    async with engine.begin() as conn:  # opened 2026-09-25, due 2026-10-15: overdue since
        await conn.execute(update(TASKS_T).where(TASKS_T.c.id == "t-late").values(escalation_level=1))
    counts = (await api.get("/v1/tasks/counts", headers=OFFICER)).json()
    TaskCounts.model_validate(counts)
    by_kind = {r["kind"]: r for r in counts["by_kind"]}
    assert by_kind["determination"] == {"kind": "determination", "open": 1, "overdue": 1, "escalated": 1}
    assert by_kind["repair_review"]["open"] == 1
    weeks = counts["overdue_weeks"]
    assert len(weeks) == 8 and weeks[-1]["on"] == counts["as_of"]
    # Every week ends after 2026-10-15 (the tests run later): both tasks were overdue in each.
    assert [w["overdue"] for w in weeks] == [2] * 8


async def test_signal_true_lists_the_tasks_a_signal_opened(
    engine: AsyncEngine,  # noqa: F811
    api: httpx.AsyncClient,
) -> None:
    """Issue 14's console tab: collusion triage, and determinations the system (the signals service)
    reported — not a purchaser's report, nor another kind."""
    system = {"request": {"reporter": {"type": "system", "id": "signals"}, "behaviour": {"signal": {}}}}
    purchaser = {"request": {"reporter": {"type": "purchaser", "id": "12410300MB0000001A"}}}
    await opened(engine, task_id="det-signal", context=system)
    await opened(engine, task_id="det-report", context=purchaser)
    await opened(engine, task_id="triage-1", kind="collusion_triage", context={"indicators": []})
    await opened(engine, task_id="repair-1", kind="repair_review", context=system)

    async def ids(**params: str) -> list[str]:
        r = await api.get("/v1/tasks", params={**params, "sort": "title"}, headers=OFFICER)
        assert r.status_code == 200, r.text
        return sorted(t["id"] for t in r.json()["items"])

    assert await ids(signal="true") == ["det-signal", "triage-1"]
    assert await ids(signal="false") == ["det-report", "repair-1"]
    assert await ids(signal="true", kind="determination") == ["det-signal"]
