"""An expert's general record on Kafka suspends the expert (001 Art. 25): `expert.suspended.v1` on
credit.experts, the public credit answer says not drawable until when, the score drops, and the
employer is notified exactly once although the first attempt fails."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from services.common.cloudevents import build_event
from services.common.lawdates import add_months, today
from services.common.topics import DEAD_LETTER, EXPERTS, INBOUND_APPLICATIONS, INBOUND_BEHAVIOUR, event_type
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import AGENCY_ID, event, report_data
from tests.support.kafka import collect, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected


class EmployerServer:
    """Stands in for the employer-notification endpoint: refuses each key's first attempt."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}
        app = FastAPI()

        @app.post("/notify")
        async def notify(request: Request) -> Response:
            key = request.headers["idempotency-key"]
            self.attempts[key] += 1
            if self.attempts[key] == 1:
                return Response(status_code=503)
            # The body is kept before the count that the test waits on rises.
            self.bodies[key] = await request.json()
            self.accepted[key] += 1
            return Response(status_code=204)

        self.app = app


@pytest.fixture
async def employer(stack: Stack) -> AsyncIterator[EmployerServer]:
    server = EmployerServer()
    uv = uvicorn.Server(uvicorn.Config(server.app, host="127.0.0.1", port=stack.employer_port, log_level="warning"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.05)
    try:
        yield server
    finally:
        uv.should_exit = True
        await task


async def test_general_record_suspends_expert_and_notifies_employer_once(
    stack: Stack, api: httpx.AsyncClient, employer: EmployerServer
) -> None:
    expert = f"EXP-T-{id(employer) % 10**8}"
    data = report_data(
        subject_type="expert", subject_id=expert, code="EXP-G-02", reporter_type="agency", subject_name="李四"
    )
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [event(data)])

    suspended = await collect(
        stack.bootstrap,
        EXPERTS,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == event_type("expert.suspended.v1") and e["data"]["expert"]["id"] == expert,
        timeout=60,
    )
    standing = suspended[0]["data"]
    until = standing["suspended_until"]
    assert standing["status"] == "suspended" and standing["may_be_drawn"] is False
    # Not drawn for one year from the record date (recorded today, Asia/Shanghai).
    assert until == add_months(today(), 12).isoformat()

    async def public() -> dict:
        return (await api.get(f"/v1/credit/expert/{expert}")).json()

    body = await eventually(public, until=lambda b: b["expert"].get("status") == "suspended", timeout=30)
    assert body["expert"]["may_be_drawn"] is False and body["expert"]["not_drawable_until"] == until
    assert "score" not in str(body["expert"]) and body["subject"]["name"] == "李*"

    finance = await api.get(f"/v1/experts/{expert}/standing", headers=bearer("finance_officer", "410300", "410300"))
    # Luoyang: Art. 25 only, no score regime (issue 16 point 8).
    assert finance.status_code == 200 and finance.json()["score"] is None
    own = await api.get(f"/v1/experts/{expert}/standing", headers=bearer("subject", expert, "410322"))
    assert own.status_code == 200
    other = await api.get(f"/v1/experts/{expert}/standing", headers=bearer("finance_officer", "410100", "410100"))
    assert other.status_code == 404

    # Temporal retried the refused first attempt; the employer accepted exactly one notification.
    await eventually(lambda: _accepted(employer, expert), until=lambda n: n == 1, timeout=30)
    (key,) = [k for k in employer.accepted if k.startswith(f"{expert}:")]
    assert employer.attempts[key] == 2 and employer.accepted[key] == 1
    assert employer.bodies[key]["suspended_until"] == until

    async def audit_row() -> tuple:
        conn = await asyncpg.connect(stack.database_url)
        try:
            row = await conn.fetchrow(
                "SELECT attempts, status FROM evaluation_employer_notification WHERE idempotency_key = $1", key
            )
        finally:
            await conn.close()
        return (row["attempts"], row["status"]) if row else ()

    # The activity records the outcome after the server answered.
    await eventually(audit_row, until=lambda r: r == (2, "delivered"), timeout=30)
    audit = await api.get(f"/v1/experts/{expert}/standing", headers=bearer("finance_officer", "410300", "410300"))
    assert [(n["status"], n["attempts"]) for n in audit.json()["employer_notifications"]] == [("delivered", 2)]
    assert "employer_notifications" not in own.json()


async def _accepted(server: EmployerServer, expert: str) -> int:
    return sum(n for k, n in server.accepted.items() if k.startswith(f"{expert}:"))


async def test_score_under_threshold_waits_for_training(stack: Stack, api: httpx.AsyncClient) -> None:
    """000 §三.3: five general behaviours at 10 points take the score from 100 to 50, under 60 the
    qualification is suspended until training; `expert.training.completed.v1` lifts that reason.
    Luoyang sets no score regime: the records are in the labelled fixture county 410397 that does."""
    expert = f"EXP-S-{uuid.uuid4().hex[:8]}"
    agency = bearer("agency", AGENCY_ID, "410397")
    for code in ("EXP-G-01", "EXP-G-02", "EXP-G-03", "EXP-G-04", "EXP-G-05"):
        data = report_data(subject_type="expert", subject_id=expert, code=code, reporter_type="agency", region="410397")
        assert (await api.post("/v1/reports", json=data, headers=agency)).status_code == 201
    finance = bearer("finance_officer", "410300", "410300")

    async def standing() -> dict:
        r = await api.get(f"/v1/experts/{expert}/standing", headers=finance)
        return r.json() if r.status_code == 200 else {}

    low = await eventually(standing, until=lambda s: s.get("score") == 50, timeout=60)
    assert "low_score" in {r["kind"] for r in low["reasons"]}
    assert [e["change"] for e in low["score_history"]] == [-10] * 5

    training = build_event(
        type=event_type("expert.training.completed.v1"),
        source="urn:expert-pool:luoyang",
        data={
            "expert": {"id": expert, "name": "王五"},
            "completed_on": today().isoformat(),
            "course": "政府采购评审规则",
        },
    )
    bad = build_event(
        type=event_type("expert.training.completed.v1"),
        source="urn:expert-pool:luoyang",
        data={"expert": {"id": "not an id!", "name": "?"}, "completed_on": today().isoformat(), "course": "x"},
    )
    await produce(stack.bootstrap, INBOUND_APPLICATIONS, [training, bad], key_of=lambda e: e["data"]["expert"]["id"])
    trained = await eventually(standing, until=lambda s: s.get("score") == 60, timeout=60)
    assert "low_score" not in {r["kind"] for r in trained["reasons"]}
    # Still suspended: the general records keep the expert out for a year each (001 Art. 25).
    assert trained["status"] == "suspended"
    dead = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 1,
        match=lambda e: isinstance(v := e["data"]["original"].get("value"), dict) and v.get("id") == bad["id"],
    )
    assert dead[0]["data"]["reason"] == "invalid_identifier"
