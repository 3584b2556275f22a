"""Issue 15 on the real stack — Tansu, PostgreSQL, the Temporal dev server, every service: a year of
figures for three purchasers of Shenyang (good, average, poor), the yearly run started as its
Schedule starts it, the review task decided through casework's HTTP API, the results on
credit.notices and over HTTP through the gateway, the poor purchaser's supervision_interview task,
an officer's adjustment with its reason in the published provenance.

The purchasers' figures are loaded into the evaluations service's tables, not fetched: Shenyang has
no deadline layer in the watch (its procurement events are refused `no_policy`, so the run's
`collect_figures` finds no figures there), no measures list purchaser behaviours (no purchaser
records), and no service holds whether a purchaser checked credit (`credit_check_rate`). The
agencies' year goes through the real path: tests/integration/test_evaluations_real_path.py."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.db import make_engine
from services.common.temporal import WORKFLOW_QUEUE
from services.common.topics import EVALUATION_PUBLISHED, NOTICES
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.evaluations_year import AVERAGE, GOOD, PERIOD, POOR, PURCHASERS, load_year
from tests.support.kafka import collect
from tests.support.poll import eventually
from workflows.annual_evaluation.inputs import EvaluationRunInput, EvaluationRunResult, review_task_id
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow

pytestmark = pytest.mark.connected

SHENYANG = bearer("finance_officer", "210100", "210100", sub="shenyang-officer")


@pytest.fixture(scope="module")
async def temporal(stack: Stack) -> AsyncIterator[Client]:
    yield await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)


@pytest.fixture(scope="module")
async def year(stack: Stack) -> None:
    engine = make_engine(stack.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            await load_year(conn)
    finally:
        await engine.dispose()


async def review(
    api: httpx.AsyncClient, temporal: Client, kind: str, region: str, officer: dict
) -> EvaluationRunResult:
    inp = EvaluationRunInput(
        kind=kind,
        region=region,
        period=PERIOD,
        review_due_working_days=10,  # type: ignore[arg-type]
        interview_due_working_days=20,
    )
    handle = await temporal.start_workflow(
        AnnualEvaluationWorkflow.run,
        inp,
        id=f"evaluation-run:{kind}:{region}:{uuid.uuid4().hex[:8]}",
        task_queue=WORKFLOW_QUEUE,
    )
    task_id = review_task_id(kind, region, PERIOD, 1)
    task = await eventually(
        lambda: api.get(f"/v1/tasks/{task_id}", headers=officer), until=lambda r: r.status_code == 200
    )
    assert task.json()["kind"] == "evaluation_review"
    if kind == "purchaser":
        # The officer adjusts the average purchaser before publishing, with a reason.
        body = {"region": "210102", "period": PERIOD, "points": 2, "reason": "一项逾期系系统故障所致"}
        r = await api.post(f"/v1/purchasers/{AVERAGE}/assessment/entries/adjustment", json=body, headers=officer)
        assert r.status_code == 201, r.text
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=officer)).status_code == 200
    body = {"decision": "publish", "reason": "数据已核对"}
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=officer)
    assert r.status_code == 200, r.text
    return await handle.result()


async def test_a_year_of_purchasers_ranked_published_and_the_poor_one_interviewed(
    stack: Stack, api: httpx.AsyncClient, temporal: Client, year: None
) -> None:
    result = await review(api, temporal, "purchaser", "210100", SHENYANG)
    assert result.state == "published"
    assert [(r.subject_id, r.grade) for r in result.published] == [
        (GOOD, "优秀"),
        (AVERAGE, "良好"),
        (POOR, PURCHASERS[POOR][5]),
    ]
    listed = (await api.get(f"/v1/purchasers?region=210100&period={PERIOD}", headers=SHENYANG)).json()["items"]
    assert [(i["subject_id"], i["total"]) for i in listed] == [(GOOD, 98), (AVERAGE, 76), (POOR, 27.5)]
    answer = (
        await api.get(f"/v1/purchasers/{AVERAGE}/assessment?region=210102&period={PERIOD}", headers=SHENYANG)
    ).json()
    assert answer["state"] == "published" and answer["lines"][-1]["reason"] == "一项逾期系系统故障所致"
    interviews = await eventually(
        lambda: api.get("/v1/tasks", params={"kind": "supervision_interview", "limit": 500}, headers=SHENYANG),
        until=lambda r: r.status_code == 200 and any(t["subject"]["id"] == POOR for t in r.json()["items"]),
    )
    assert {t["subject"]["id"] for t in interviews.json()["items"]} == {POOR}
    events = await collect(
        stack.bootstrap,
        NOTICES,
        lambda kept: len(kept) >= 3,
        match=lambda e: e.get("type") == EVALUATION_PUBLISHED and e["data"]["kind"] == "purchaser",
    )
    by_subject = {e["data"]["subject_id"]: e["data"] for e in events}
    assert set(by_subject) == {GOOD, AVERAGE, POOR}
    assert by_subject[POOR]["interview"] and not by_subject[GOOD]["interview"]
    assert by_subject[AVERAGE]["lines"][-1]["reason"] == "一项逾期系系统故障所致"
