"""PUT/GET /v1/calendar/{year} on SQLite: an administrator installs the arrangement (validated, each
problem naming its field; stored versioned with who and when; announced in the outbox), anyone
reads it; the follower installs what it hears. The 2027 arrangement here is the labelled TEST
FIXTURE (tests/fixtures/calendars/2027.json), never official data."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.calendar_api import router
from services.casework.calendar_follower import heard, load_at_start
from services.casework.commands import OUTBOX
from services.casework.models import CALENDAR_T, MESSAGING, MIGRATIONS, TABLES, TASKS_T
from services.casework.replanner import replan_after
from services.common.arrangements import statutory_days
from services.common.auth import mint_token
from services.common.calendar_status import calendar_status
from services.common.command_relay import CommandRelay
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.problems import install_problem_handlers
from services.common.runtime import Runtime
from services.common.service import base_app
from services.common.settings import DEV_JWT_SECRET
from services.common.topics import CALENDAR_INSTALLED
from services.common.workdays import RECKONER, Reckoner
from workflows.human_task.inputs import TaskReplan

FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "calendars" / "2027.json").read_text())


def body(**over: object) -> dict:
    """The TEST FIXTURE's 调休 pattern plus the 2027 statutory days (as any official one has)."""
    holidays = sorted({*FIXTURE["holidays"], *(d.isoformat() for d in statutory_days(2027))})
    return {
        "notice": {"number": "TEST FIXTURE 〔2026〕0号", "date": "2026-11-01"},
        "holidays": holidays,
        "workdays": FIXTURE["workdays"],
    } | over


def token(role: str) -> dict:
    t = mint_token(sub=f"{role}-1", role=role, org="410300", region="410300", secret=DEV_JWT_SECRET)
    return {"Authorization": f"Bearer {t}"}


@pytest.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    monkeypatch.setattr("services.casework.calendar_api.RECKONER", Reckoner())
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'casework.db'}")
    await migrate(engine, "casework", MIGRATIONS, TABLES)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = SimpleNamespace(engine=engine, relay=SimpleNamespace(wake=lambda: None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_a_year_not_announced_is_provisional_and_a_library_year_official(client: httpx.AsyncClient) -> None:
    got = (await client.get("/v1/calendar/2027")).json()
    assert got["status"] == "provisional" and got["provisional"] and got["workdays"] == []
    assert "2027-10-04" in got["holidays"] and len(got["statutory_days"]) == 13
    got = (await client.get("/v1/calendar/2026")).json()
    assert got["status"] == "official" and "2026-10-10" in got["workdays"]
    assert (await client.get("/v1/calendar/1999")).status_code == 422


async def test_an_administrator_installs_a_version_and_a_later_one_supersedes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    r = await client.put("/v1/calendar/2027", json=body(), headers=token("administrator"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "official" and r.json()["version"] == 1
    assert r.json()["installed_by"] == "administrator-1"
    again = body(workdays=[*FIXTURE["workdays"], "2027-02-20"])
    assert (await client.put("/v1/calendar/2027", json=again, headers=token("administrator"))).json()["version"] == 2
    got = (await client.get("/v1/calendar/2027")).json()
    assert got["status"] == "official" and got["version"] == 2 and "2027-02-20" in got["workdays"]
    assert got["notice"] == {"number": "TEST FIXTURE 〔2026〕0号", "date": "2026-11-01"}
    async with engine.connect() as conn:
        versions = [r.version for r in await conn.execute(select(CALENDAR_T).order_by(CALENDAR_T.c.id))]
        events = [orjson.loads(r.payload) for r in await conn.execute(select(MESSAGING.outbox))]
    assert versions == [1, 2]
    assert [(e["type"], e["id"]) for e in events] == [
        (CALENDAR_INSTALLED, "calendar:2027:v1"),
        (CALENDAR_INSTALLED, "calendar:2027:v2"),
    ]
    with pytest.raises(DatabaseError):  # superseded, never edited
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE casework_calendar_install SET notice_number = 'x'"))


@pytest.mark.parametrize("role", ["finance_officer", "supervisor", "subject"])
async def test_only_an_administrator_installs(client: httpx.AsyncClient, role: str) -> None:
    r = await client.put("/v1/calendar/2027", json=body(), headers=token(role))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (await client.put("/v1/calendar/2027", json=body())).status_code == 401


@pytest.mark.parametrize(
    ("over", "loc"),
    [
        ({"holidays": ["2027-01-01", "not a date"]}, ["body", "holidays", 1]),
        ({"notice": {"number": "x"}}, ["body", "notice", "date"]),
        ({"surprise": 1}, ["body", "surprise"]),
    ],
)
async def test_a_malformed_body_names_the_field(client: httpx.AsyncClient, over: dict, loc: list) -> None:
    r = await client.put("/v1/calendar/2027", json=body(**over), headers=token("administrator"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert loc in [e["loc"] for e in r.json()["errors"]]


async def test_an_arrangement_against_the_law_names_each_problem(client: httpx.AsyncClient) -> None:
    holidays = [d for d in body()["holidays"] if d != "2027-02-06"] + ["2028-01-01"]
    bad = body(holidays=holidays, workdays=["2027-10-01", "2027-09-28"], notice={"number": "n", "date": "2030-01-01"})
    r = await client.put("/v1/calendar/2027", json=bad, headers=token("administrator"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_arrangement"
    found = {(".".join(map(str, e["loc"])), e["msg"]) for e in r.json()["errors"]}
    assert ("body.holidays", "the statutory day 2027-02-06 (春节) is missing") in found
    assert ("body.holidays." + str(len(holidays) - 1), "2028-01-01 is not in 2027") in found
    assert ("body.workdays.0", "2027-10-01 is also listed as a holiday") in found
    assert any(loc == "body.workdays.1" and "weekday" in msg for loc, msg in found)  # a Tuesday
    assert any(loc == "body.notice.date" for loc, _ in found)
    assert (await client.get("/v1/calendar/2027")).json()["status"] == "provisional"


def record(event: dict) -> ConsumerRecord:
    return ConsumerRecord("credit.calendar", 0, 0, 0, 0, b"2027", orjson.dumps(event), None, 0, 0, [])


async def test_the_follower_installs_what_it_hears_once_and_loads_installs_at_start(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await client.put("/v1/calendar/2027", json=body(), headers=token("administrator"))
    async with engine.connect() as conn:
        event = orjson.loads((await conn.execute(select(MESSAGING.outbox.c.payload))).scalar_one())
    follower = Reckoner()
    assert follower.is_provisional(2027)
    assert heard([record(event)], follower) == [2027]
    assert heard([record(event)], follower) == []  # heard twice: nothing changes
    assert not follower.is_provisional(2027) and follower.is_working_day(date(2027, 9, 26))
    assert heard([record({"not": "a cloudevent"})], follower) == []
    fresh = Reckoner()
    assert await load_at_start(engine, fresh) == [2027] and not fresh.is_provisional(2027)
    assert RECKONER.is_provisional(2027)  # the process-wide reckoner was not touched by this test


class RecordingClient:
    def __init__(self) -> None:
        self.signals: list[tuple[str, object]] = []

    def get_workflow_handle(self, workflow_id: str):  # type: ignore[no-untyped-def]
        client = self

        class Handle:
            async def signal(self, fn, arg) -> None:  # type: ignore[no-untyped-def]
                client.signals.append((workflow_id, arg))

        return Handle()


async def test_the_replanner_signals_each_open_task_counted_through_the_year_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    def task(task_id: str, opened: str, due: str, state: str = "open") -> dict:
        return {
            "id": task_id,
            "kind": "appeal_review",
            "region": "410322",
            "state": state,
            "subject": {},
            "subject_type": "supplier",
            "subject_id": "x",
            "title": "t",
            "context": {},
            "opened_on": date.fromisoformat(opened),
            "due_on": date.fromisoformat(due),
            "alarms": [{"kind": "escalation", "level": 1, "at": f"{due}T00:00:00+08:00", "to_region": "410322"}],
            "fired_alarms": [],
            "excluded_officers": [],
            "workflow_id": f"task:{task_id}",
            "created_at": datetime(2026, 12, 1, tzinfo=UTC),
        }

    async with engine.begin() as conn:
        await conn.execute(
            TASKS_T.insert(),
            [
                task("crosses", "2026-12-20", "2027-01-11"),
                task("in-2026", "2026-11-02", "2026-11-16"),
                task("decided", "2026-12-20", "2027-01-11", state="completed"),
            ],
        )
    await client.put("/v1/calendar/2027", json=body(), headers=token("administrator"))
    async with engine.connect() as conn:
        event = orjson.loads((await conn.execute(select(MESSAGING.outbox.c.payload))).scalar_one())
    recording = RecordingClient()

    async def connect() -> RecordingClient:
        return recording

    relay = CommandRelay(engine=engine, outbox=OUTBOX, client=connect, service="casework")  # type: ignore[arg-type]
    rt = Runtime(engine=engine, relay=None, commands=relay)  # type: ignore[arg-type]
    assert await replan_after(rt, [record(event)]) == 1
    assert await replan_after(rt, [record(event)]) == 0
    assert await relay.deliver_once() == (1, 1)
    ((workflow_id, arg),) = recording.signals
    replan = TaskReplan.model_validate(arg)
    assert workflow_id == "task:crosses" and replan.year == 2027
    assert "TEST FIXTURE" in replan.reason and "administrator-1" in replan.reason


async def test_healthz_carries_the_calendar_warning() -> None:
    @asynccontextmanager
    async def nothing(app):  # type: ignore[no-untyped-def]
        yield

    app = base_app("casework", nothing, details=lambda: {"calendar": calendar_status(date(2026, 12, 7), Reckoner())})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        health = (await c.get("/healthz")).json()
    assert health["status"] == "ok" and health["calendar"]["next_year"]["status"] == "provisional"
    assert "PUT /v1/calendar/2027" in health["calendar"]["warnings"][0]
