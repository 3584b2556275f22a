"""Issue 16 point 5 (国办发〔2020〕49号 (八)) in the casework service against a real (SQLite) database:
opening a listing_confirmation task notifies the subject (determination.intended.v1), the subject —
and only it — files one statement within the window (`POST /v1/intended-determinations/{id}/statement`),
the window closes under the same lock, and the officer cannot confirm while the window is open
with no statement."""

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from services.casework import actions, store
from services.casework.activities import CaseworkActivities
from services.casework.api import router
from services.casework.models import MESSAGING, MIGRATIONS, TABLES
from services.common.auth import Principal, Role, mint_token
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.problems import Problem, install_problem_handlers
from services.common.settings import DEV_JWT_SECRET
from services.common.topics import DETERMINATION_INTENDED, TASK_CREATED
from tests.support import factories as f
from workflows.human_task.inputs import TaskSpec

OPENED = datetime.now(UTC) - timedelta(hours=1)
ALICE = Principal(sub="alice", role=Role.FINANCE_OFFICER, org="410322", region="410322")
REQUEST_ID = "req-1"
TASK_ID = f"{REQUEST_ID}:listing"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'casework.db'}")
    await migrate(engine, "casework", MIGRATIONS, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = SimpleNamespace(engine=engine, relay=SimpleNamespace(wake=lambda: None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def token(role: str, org: str) -> dict:
    t = mint_token(sub=f"{role}-1", role=role, org=org, region="410322", secret=DEV_JWT_SECRET)
    return {"Authorization": f"Bearer {t}"}


def activity_env() -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, scheduled_time=OPENED, current_attempt_scheduled_time=OPENED)
    return env


async def opened(engine: AsyncEngine, *, window_days: int | None = 5) -> TaskSpec:
    """A listing_confirmation task as DeterminationWorkflow opens it."""
    due = None if window_days is None else (OPENED + timedelta(days=window_days)).isoformat()
    determination = {**f.determination(), "legal_basis": "《政府采购法》第七十七条"}
    s = TaskSpec(
        task_id=TASK_ID,
        kind="listing_confirmation",
        region="410322",
        title="列入严重失信名单确认",
        subject={"type": "supplier", "id": f.new_uscc(), "name": "洛阳某某科技有限公司"},
        context={
            "request": {"request_id": REQUEST_ID, "behaviour_code": "SUP-S-03", "behaviour": {"code": "SUP-S-03"}},
            "intended": {"decision": "determine", "reason": "查证属实", "fields": {"determination": determination}},
            "statement_window_days": window_days,
            "statement_due": due,
        },
        due_working_days=10,
    )
    await activity_env().run(CaseworkActivities(engine).open_task, s)
    return s


async def outbox(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(MESSAGING.outbox.c.payload).order_by(MESSAGING.outbox.c.seq))
        return [orjson.loads(r.payload) for r in rows]


async def test_point5_opening_the_listing_task_notifies_the_subject(engine: AsyncEngine) -> None:
    s = await opened(engine)
    created, notice = await outbox(engine)
    assert (created["type"], notice["type"]) == (TASK_CREATED, DETERMINATION_INTENDED)
    data = notice["data"]
    assert (data["request_id"], data["subject"]["id"]) == (REQUEST_ID, s.subject["id"])
    assert data["reasons"]["reason"] == "查证属实"
    assert data["basis"]["legal_basis"] == "《政府采购法》第七十七条"
    assert data["rights"] == {
        "statement": f"/v1/intended-determinations/{REQUEST_ID}/statement",
        "statement_window_days": 5,
        "statement_due": s.context["statement_due"],
    }


async def test_point5_only_the_subject_itself_files_a_statement(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    s = await opened(engine)
    url = f"/v1/intended-determinations/{REQUEST_ID}/statement"
    body = {"statement": "我方已按合同履约，请求不予列入。"}
    assert (await client.post(url, json=body)).status_code == 401
    for role in ("finance_officer", "supervisor", "purchaser", "agency"):
        assert (await client.post(url, json=body, headers=token(role, s.subject["id"]))).status_code == 403, role
    other = await client.post(url, json=body, headers=token("subject", f.new_uscc()))
    assert (other.status_code, other.json()["code"]) == (404, "not_found")  # another's is not shown to exist
    missing = "/v1/intended-determinations/nope/statement"
    assert (await client.post(missing, json=body, headers=token("subject", s.subject["id"]))).status_code == 404
    empty = await client.post(url, json={"statement": "  "}, headers=token("subject", s.subject["id"]))
    assert empty.status_code == 422
    r = await client.post(url, json=body, headers=token("subject", s.subject["id"]))
    assert r.status_code == 201, r.text
    assert r.json()["statement"]["text"] == body["statement"]
    again = await client.post(url, json=body, headers=token("subject", s.subject["id"]))
    assert (again.status_code, again.json()["code"]) == (409, "statement_filed")
    async with engine.connect() as conn:
        task = await store.load(conn, TASK_ID)
        trail = [a["action"] for a in await store.trail(conn, TASK_ID)]
    assert task["context"]["statement"]["org"] == s.subject["id"] and trail == ["created", "statement"]
    # The window closes: a statement was filed, so the officer decides.
    assert await activity_env().run(CaseworkActivities(engine).close_statement_window, TASK_ID) is True


async def test_point5_no_statement_after_the_window_closed(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    s = await opened(engine)
    acts = CaseworkActivities(engine)
    assert await activity_env().run(acts.close_statement_window, TASK_ID) is False
    assert await activity_env().run(acts.close_statement_window, TASK_ID) is False  # a retry: the same answer
    r = await client.post(
        f"/v1/intended-determinations/{REQUEST_ID}/statement",
        json={"statement": "迟到的陈述"},
        headers=token("subject", s.subject["id"]),
    )
    assert (r.status_code, r.json()["code"]) == (409, "statement_window_closed")


async def test_point5_confirm_waits_for_the_statement_or_the_window(engine: AsyncEngine) -> None:
    s = await opened(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await actions.claim(conn, TASK_ID, ALICE, now=now)
    async with engine.begin() as conn:
        with pytest.raises(Problem) as err:
            await actions.complete(conn, TASK_ID, ALICE, {"decision": "confirm", "reason": "r"}, now=now)
    assert (err.value.status, err.value.code) == (409, "statement_window_open")
    async with engine.begin() as conn:
        with pytest.raises(Problem) as err:
            await actions.complete(conn, TASK_ID, ALICE, {"decision": "withdraw", "reason": " "}, now=now)
    assert err.value.code == "reason_required"  # withdraw states its reason
    subject = Principal(sub="s", role=Role.SUBJECT, org=s.subject["id"], region="410322")
    async with engine.begin() as conn:
        await actions.file_statement(conn, REQUEST_ID, subject, "陈述", now=now)
    async with engine.begin() as conn:
        task, signal = await actions.complete(
            conn, TASK_ID, ALICE, {"decision": "confirm", "reason": "不成立"}, now=now
        )
    assert (task["state"], signal.decision) == ("completed", "confirm")


async def test_point5_without_a_window_the_officer_confirms_when_he_judges(engine: AsyncEngine) -> None:
    await opened(engine, window_days=None)  # Luoyang: the department set no window
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await actions.claim(conn, TASK_ID, ALICE, now=now)
    async with engine.begin() as conn:
        _, signal = await actions.complete(conn, TASK_ID, ALICE, {"decision": "confirm", "reason": "r"}, now=now)
    assert signal.decision == "confirm"
