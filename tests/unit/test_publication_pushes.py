"""Pushes on SQLite and a real local HTTP server standing in for a national platform: one attempt
stores its outcome and raises on failure (Temporal retries), a delivered push is never sent again,
a push that ends owes its outcome on credit.pushes once (none while attempts go on), the dispatcher
starts one workflow per row; notices and pushes over HTTP (public and finance)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from deploy.local.components import free_port
from services.common.command_relay import CommandRelay
from services.common.contracts.pushes import PUSH_DELIVERED, PUSH_FAILED
from services.common.db import create_tables, make_engine
from services.common.lawdates import SHANGHAI
from services.common.problems import install_problem_handlers
from services.common.settings import Settings
from services.common.topics import PUSHES, RECORD_CREATED, RECORD_REPAIRED
from services.evaluation import events
from services.publication import pushes
from services.publication.commands import push_outbox
from services.publication.models import MESSAGING, TABLES, PushDelivery
from services.publication.notices import publish_period_notice
from services.publication.notices_api import router as notices_router
from services.publication.pushes_api import router as pushes_router
from services.publication.readmodel import apply
from tests.conftest import bearer
from tests.unit.test_publication_blacklist import serious
from tests.unit.test_publication_readmodel import NOW, record_row, to_inbound
from workflows.notices.inputs import NoticeRequest
from workflows.pushes.inputs import PushInput

PUSHES_T = PushDelivery.__table__


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'publication.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


class Platform:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[tuple[str, dict]] = []
        self.app = FastAPI()

        @self.app.post("/push")
        async def push(request: Request) -> Response:
            self.seen.append((request.headers["idempotency-key"], await request.json()))
            return Response(status_code=503 if len(self.seen) <= self.failures else 202)


@pytest.fixture
async def platform() -> AsyncIterator[tuple[Platform, str]]:
    server, port = Platform(failures=1), free_port()
    uv = uvicorn.Server(uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.02)
    try:
        yield server, f"http://127.0.0.1:{port}/push"
    finally:
        uv.should_exit = True
        await task


async def blacklisted(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await apply(conn, [serious()], now=NOW)


async def state(engine: AsyncEngine, key: str) -> dict:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(PUSHES_T).where(PUSHES_T.c.idempotency_key == key))).one()._mapping)


async def test_attempts_are_stored_and_a_delivered_push_is_not_sent_again(
    engine: AsyncEngine, platform: tuple[Platform, str]
) -> None:
    server, url = platform
    await blacklisted(engine)
    urls = {"procurement": url, "credit": None}
    with pytest.raises(ApplicationError, match="HTTP 503"):
        await pushes.deliver(engine, "procurement:rec-1:v1", urls)
    failing = await state(engine, "procurement:rec-1:v1")
    assert (failing["state"], failing["attempts"], failing["last_error"]) == ("failing", 1, "HTTP 503")
    delivered = await pushes.deliver(engine, "procurement:rec-1:v1", urls)
    assert (delivered.state, delivered.attempts) == ("delivered", 2)
    assert (await pushes.deliver(engine, "procurement:rec-1:v1", urls)).state == "delivered"
    assert [k for k, _ in server.seen] == ["procurement:rec-1:v1"] * 2
    key, body = server.seen[-1]
    assert body["action"] == "publish" and body["notice"]["entries"][0]["record_id"] == "rec-1"
    # No endpoint configured for the other platform: recorded, not retried forever.
    assert (await pushes.deliver(engine, "credit:rec-1:v1", urls)).state == "not_configured"
    assert (await state(engine, "procurement:rec-1:v1"))["delivered_at"] is not None


async def outcomes(engine: AsyncEngine) -> list[dict]:
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == PUSHES).order_by(t.c.seq))
        return [orjson.loads(r.payload) for r in rows]


async def test_a_push_that_ends_owes_its_outcome_once_and_none_while_it_is_tried(
    engine: AsyncEngine, platform: tuple[Platform, str]
) -> None:
    server, url = platform
    await blacklisted(engine)
    nobody = f"http://127.0.0.1:{free_port()}/push"  # nothing listens: every attempt fails
    urls = {"procurement": url, "credit": nobody, "public_credit": None}
    with pytest.raises(ApplicationError, match="HTTP 503"):
        await pushes.deliver(engine, "procurement:rec-1:v1", urls)
    with pytest.raises(ApplicationError, match="ConnectError"):
        await pushes.deliver(engine, "credit:rec-1:v1", urls)
    await pushes.set_state(engine, "credit:rec-1:v1", state="escalated", task_id="push:credit:rec-1:v1:r1")
    assert await outcomes(engine) == []  # failing, escalated: the attempts go on

    assert (await pushes.deliver(engine, "procurement:rec-1:v1", urls)).state == "delivered"
    assert (await pushes.deliver(engine, "procurement:rec-1:v1", urls)).state == "delivered"  # a retried activity
    settled = await pushes.set_state(engine, "credit:rec-1:v1", state="acknowledged", last_error="已在平台手工录入")
    assert settled.state == "acknowledged"
    # A late attempt after the officer closed it changes nothing and sends nothing.
    assert (await pushes.deliver(engine, "credit:rec-1:v1", {**urls, "credit": url})).state == "acknowledged"
    assert await pushes.set_state(engine, "credit:rec-1:v1", state="acknowledged") == settled
    assert (await pushes.deliver(engine, "public_credit:rec-1:v1", urls)).state == "not_configured"
    assert len(server.seen) == 2

    events = await outcomes(engine)
    assert [(e["type"].rsplit(".", 2)[-2], e["id"]) for e in events] == [
        ("delivered", "push:procurement:rec-1:v1:delivered"),
        ("failed", "push:credit:rec-1:v1:acknowledged"),
        ("failed", "push:public_credit:rec-1:v1:not_configured"),
    ]
    delivered, acknowledged, unconfigured = (e["data"] for e in events)
    PUSH_DELIVERED.model.model_validate(delivered)
    for failed in (acknowledged, unconfigured):
        PUSH_FAILED.model.model_validate(failed)
    assert events[0]["type"] == PUSH_DELIVERED.type and events[1]["type"] == PUSH_FAILED.type
    assert {e["source"] for e in events} == {"urn:credit:publication"}
    assert (delivered["platform"], delivered["region"], delivered["attempts"], delivered["record_id"]) == (
        "procurement",
        "410322",
        2,
        "rec-1",
    )
    assert (acknowledged["state"], acknowledged["reason"], acknowledged["task_id"], acknowledged["attempts"]) == (
        "acknowledged",
        "已在平台手工录入",
        "push:credit:rec-1:v1:r1",
        1,
    )
    assert (unconfigured["state"], unconfigured["reason"]) == ("not_configured", "no endpoint configured")
    assert "subject" not in delivered  # the subject's name stays with the notice


async def test_one_workflow_is_started_per_push_once(engine: AsyncEngine) -> None:
    started: list[dict] = []

    class Client:
        async def start_workflow(self, workflow, inp, **options) -> None:  # type: ignore[no-untyped-def]
            started.append({"workflow": workflow, "input": PushInput.model_validate(inp), **options})

    async def connect() -> Client:
        return Client()

    await blacklisted(engine)
    settings = Settings(credit_push_escalation_seconds=30)
    relay = CommandRelay(engine=engine, outbox=push_outbox(settings), client=connect, service="publication")  # type: ignore[arg-type]
    assert await relay.deliver_once() == (3, 3)
    assert await relay.deliver_once() == (0, 0)
    assert {s["workflow"] for s in started} == {"PushWorkflow"}
    for s in started:
        assert (await state(engine, s["input"].idempotency_key))["started_at"] is not None
    assert sorted(s["id"] for s in started) == [
        "push:credit:rec-1:v1",
        "push:procurement:rec-1:v1",
        "push:public_credit:rec-1:v1",
    ]
    assert {s["input"].escalation_seconds for s in started} == {30}
    assert {s["input"].region for s in started} == {"410322"}


@pytest.fixture
async def api(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(notices_router)
    app.include_router(pushes_router)
    app.state.runtime = SimpleNamespace(engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_pushes_are_shown_to_finance_of_the_records_region_only(
    engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    await blacklisted(engine)
    own = await api.get(
        "/v1/pushes", params={"record_id": "rec-1"}, headers=bearer("finance_officer", "410300", "410300")
    )
    assert own.status_code == 200
    assert sorted((p["platform"], p["state"], p["attempts"]) for p in own.json()["pushes"]) == [
        ("credit", "pending", 0),
        ("procurement", "pending", 0),
        ("public_credit", "pending", 0),
    ]
    other = await api.get(
        "/v1/pushes", params={"record_id": "rec-1"}, headers=bearer("finance_officer", "410100", "410100")
    )
    assert other.status_code == 404
    supplier = await api.get("/v1/pushes", params={"record_id": "rec-1"}, headers=bearer("subject", "x", "410322"))
    assert supplier.status_code == 403
    assert (await api.get("/v1/pushes", params={"record_id": "rec-1"})).status_code == 401


async def test_served_notices_drop_what_came_down(engine: AsyncEngine, api: httpx.AsyncClient) -> None:
    general = record_row(record_id="g-1") | {"recorded_on": date(2026, 11, 3)}
    now = datetime(2026, 12, 1, 9, tzinfo=SHANGHAI)
    async with engine.begin() as conn:
        await apply(conn, [to_inbound(events.record_event(RECORD_CREATED, general, event_time=now).event)], now=now)
        await apply(conn, [serious()], now=now)
        req = NoticeRequest(
            region="410300", cadence="monthly", period_start=date(2026, 11, 1), period_end=date(2026, 11, 30)
        )
        assert (await publish_period_notice(conn, req, now=now)).entries == 1
    body = (await api.get("/v1/notices", params={"region": "410300"})).json()
    assert [n["kind"] for n in body["notices"]] == ["period", "blacklist"]  # newest first (ties: by id)
    assert [e["record_id"] for e in body["notices"][0]["entries"]] == ["g-1"]
    repaired = record_row(record_id="g-1", version=2, status="repaired") | {"recorded_on": date(2026, 11, 3)}
    async with engine.begin() as conn:
        await apply(conn, [to_inbound(events.record_event(RECORD_REPAIRED, repaired, event_time=now).event)], now=now)
    period = (await api.get("/v1/notices", params={"kind": "period"})).json()["notices"][0]
    assert (period["entries"], period["entries_published"], period["entries_taken_down"]) == ([], 1, 1)
    assert (await api.get("/v1/notices", params={"region": "4103"})).status_code == 422
    assert (await api.get("/v1/notices", params={"region": "410100"})).json()["total"] == 0
