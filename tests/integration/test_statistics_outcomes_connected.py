"""Pushes and evaluations in the statistics on the real stack (issue 17): a serious record listed in
a Luoyang county is pushed to the three national platforms — two subscribers answer 200, the third
keeps answering 503 until the attempts give up, a push_failure task opens and the officer closes it
through casework's API — and the dashboard over HTTP (through the gateway) counts 2 delivered and
1 failed for the county and the city above it; an agency evaluation published by the yearly run
(Temporal, the review task decided over HTTP) is counted by year, kind and grade."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.db import make_engine
from services.common.temporal import WORKFLOW_QUEUE
from services.evaluations.figures import store_figures
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import determination, new_uscc, report_data
from tests.support.platforms import serving
from tests.support.poll import eventually
from workflows.annual_evaluation.inputs import EvaluationRunInput, EvaluationRunResult, review_task_id
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow

pytestmark = pytest.mark.connected
# A Luoyang county no other connected test records in, so its push figures are this test's alone
# (pushes of other tests still being retried may reach the subscribers stood up here).
COUNTY = "410327"
OFFICER = bearer("finance_officer", "410300", "410300", sub="stats-push-officer")
LUOYANG = bearer("supervisor", "410300", "410300", sub="stats-supervisor")
XUCHANG = bearer("finance_officer", "411000", "411000", sub="stats-xuchang-officer")
EVALUATED_YEAR = "2025"  # test_evaluations_connected evaluates 2026: the two never meet


class Subscriber:
    """A national platform's endpoint answering every push with `status`."""

    def __init__(self, status: int) -> None:
        self.attempts: Counter[str] = Counter()
        self.app = FastAPI()

        @self.app.post("/push")
        async def push(request: Request) -> Response:
            self.attempts[request.headers["idempotency-key"]] += 1
            return Response(status_code=status)


@pytest.fixture
async def subscribers(stack: Stack) -> AsyncIterator[dict[str, Subscriber]]:
    servers = {"procurement": Subscriber(200), "credit": Subscriber(503), "public_credit": Subscriber(200)}
    async with serving(stack, {name: server.app for name, server in servers.items()}):
        yield servers


@pytest.fixture
def escalating_soon(stack: Stack) -> Iterator[None]:
    """A push failing for 3 s opens its task: the policy's 72 hours cannot pass on the dev server.
    Publication runs with the override for this test only (a push takes it when its workflow starts)."""
    stack.restart("publication", overrides={"CREDIT_PUSH_ESCALATION_SECONDS": "3"}, log_name="publication-escalating")
    try:
        yield
    finally:
        stack.restart("publication", log_name="publication-after-escalating")


async def dashboard(api: httpx.AsyncClient, region: str, headers: dict[str, str]) -> dict:
    r = await api.get("/v1/statistics/dashboard", params={"region": region}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def pushed(figures: dict) -> tuple[int, int]:
    return figures["summary"]["pushes_delivered"], figures["summary"]["pushes_failed"]


def by_platform(figures: dict) -> dict[str, tuple[int, int]]:
    return {p["platform"]: (p["delivered"], p["failed"]) for p in figures["push_platforms"]}


async def test_pushes_delivered_and_failed_reach_the_dashboard(
    stack: Stack, api: httpx.AsyncClient, subscribers: dict[str, Subscriber], escalating_soon: None
) -> None:
    county_before = await dashboard(api, COUNTY, LUOYANG)
    city_before = await dashboard(api, "410300", LUOYANG)
    assert pushed(county_before) == (0, 0)
    data = report_data(
        subject_id=new_uscc(), code="SUP-S-04", reporter_type="finance", determination=determination(), region=COUNTY
    )
    r = await api.post("/v1/reports", json=data, headers=OFFICER)
    assert r.status_code == 201, r.text
    record_id = r.json()["record_id"]

    # The credit platform keeps refusing: after the attempts give up, a push_failure task; the
    # officer closes it (entered on the platform by hand) and the push ends failed.
    task_id = f"push:credit:{record_id}:v1:r1"
    task = await eventually(
        lambda: api.get(f"/v1/tasks/{task_id}", headers=OFFICER), until=lambda r: r.status_code == 200, timeout=90
    )
    assert task.json()["kind"] == "push_failure" and task.json()["region"] == COUNTY
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=OFFICER)).status_code == 200
    body = {"decision": "acknowledge", "reason": "已在信用中国手工录入"}
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=OFFICER)
    assert r.status_code == 200, r.text

    county = await eventually(lambda: dashboard(api, COUNTY, LUOYANG), until=lambda f: pushed(f) == (2, 1), timeout=90)
    assert by_platform(county) == {"procurement": (1, 0), "public_credit": (1, 0), "credit": (0, 1)}
    this_month = county["pushes"][-1]
    assert (this_month["delivered"], this_month["failed"], this_month["not_configured"]) == (2, 1, 0)
    city = await dashboard(api, "410300", LUOYANG)
    assert pushed(city)[0] >= pushed(city_before)[0] + 2 and pushed(city)[1] >= pushed(city_before)[1] + 1
    assert subscribers["credit"].attempts[f"credit:{record_id}:v1"] >= 2
    assert subscribers["procurement"].attempts[f"procurement:{record_id}:v1"] == 1
    states = (await api.get("/v1/pushes", params={"record_id": record_id}, headers=OFFICER)).json()["pushes"]
    assert sorted((p["platform"], p["state"]) for p in states) == [
        ("credit", "acknowledged"),
        ("procurement", "delivered"),
        ("public_credit", "delivered"),
    ]
    # The figures stay put: each push ended once (a redelivered outcome would be a duplicate).
    assert pushed(await dashboard(api, COUNTY, LUOYANG)) == (2, 1)

    csv = await api.get("/v1/statistics/export/push_platforms.csv", params={"region": COUNTY}, headers=LUOYANG)
    assert csv.status_code == 200 and "信用中国,0,1,0" in csv.content.decode("utf-8-sig")


@pytest.fixture
async def agency_year(stack: Stack) -> str:
    """One agency of Xuchang with its figures for the year, as the evaluations service keeps them."""
    agency = new_uscc()
    engine = make_engine(stack.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            for source, figures in (
                ("records", {"general_in_force": 0, "serious_in_force": 0}),
                ("watch", {"on_time_rate": 0.98}),
            ):
                await store_figures(
                    conn,
                    kind="agency",
                    subject_id=agency,
                    region="411002",
                    period=EVALUATED_YEAR,
                    figures=figures,
                    source=source,
                    source_ref="test",
                    at=datetime.now(UTC),
                )
    finally:
        await engine.dispose()
    return agency


async def test_a_published_evaluation_is_counted(stack: Stack, api: httpx.AsyncClient, agency_year: str) -> None:
    temporal = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    inp = EvaluationRunInput(
        kind="agency", region="411000", period=EVALUATED_YEAR, review_due_working_days=10, interview_due_working_days=20
    )
    handle = await temporal.start_workflow(
        AnnualEvaluationWorkflow.run, inp, id=f"evaluation-run:stats:{uuid.uuid4().hex[:8]}", task_queue=WORKFLOW_QUEUE
    )
    task_id = review_task_id("agency", "411000", EVALUATED_YEAR, 1)
    await eventually(
        lambda: api.get(f"/v1/tasks/{task_id}", headers=XUCHANG), until=lambda r: r.status_code == 200, timeout=60
    )
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=XUCHANG)).status_code == 200
    r = await api.post(
        f"/v1/tasks/{task_id}/complete", json={"decision": "publish", "reason": "已核对"}, headers=XUCHANG
    )
    assert r.status_code == 200, r.text
    result: EvaluationRunResult = await handle.result()
    assert [(p.subject_id, p.grade) for p in result.published] == [(agency_year, "A")]

    def counted(figures: dict) -> bool:
        return any(row["year"] == EVALUATED_YEAR for row in figures["evaluations"])

    figures = await eventually(lambda: dashboard(api, "411000", XUCHANG), until=counted, timeout=60)
    rows = [(e["year"], e["subject_type"], e["grade"], e["published"], e["interviews"]) for e in figures["evaluations"]]
    assert (EVALUATED_YEAR, "agency", "A", 1, 0) in rows
    assert [r for r in rows if r[0] == EVALUATED_YEAR] == [(EVALUATED_YEAR, "agency", "A", 1, 0)]
    assert figures["summary"]["evaluations_published"] >= 1
