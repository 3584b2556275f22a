"""The case officers' work queue through the gateway, on the real stack: region scoping, claims,
decisions delivered to the task's workflow, and the determination flow of CONTRACT §4 (a purchaser
reports a serious behaviour -> a task for the finance department -> determine -> since issue 16
point 5 the subject is notified and may state its case -> the officer confirms -> blacklisted)."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.temporal import WORKFLOW_QUEUE
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, determination, new_uscc, report_data
from tests.support.poll import eventually
from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow

pytestmark = pytest.mark.connected

COUNTY = bearer("finance_officer", "410322", "410322", sub="county-officer")
CITY_A = bearer("finance_officer", "410300", "410300", sub="city-officer-a")
CITY_B = bearer("finance_officer", "410300", "410300", sub="city-officer-b")
OTHER_CITY = bearer("finance_officer", "410200", "410200", sub="kaifeng-officer")
OTHER_COUNTY = bearer("finance_officer", "410323", "410323", sub="other-county-officer")
PURCHASER = bearer("purchaser", PURCHASER_ID, "410322")


@pytest.fixture(scope="module")
async def temporal(stack: Stack) -> AsyncIterator[Client]:
    yield await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)


async def open_task(temporal: Client, api: httpx.AsyncClient, *, kind: str = "push_failure") -> str:
    """A task as a parent workflow opens one: HumanTaskWorkflow with a TaskSpec."""
    task_id = f"task-{uuid.uuid4()}"
    spec = TaskSpec(
        task_id=task_id,
        kind=kind,
        region="410322",
        title="推送失败：全国信用平台",
        subject={"type": "supplier", "id": new_uscc(), "name": "洛阳某某科技有限公司"},
        due_working_days=5,
        excluded_officers=["county-recorder"],
    )
    await temporal.start_workflow(HumanTaskWorkflow.run, spec, id=task_workflow_id(task_id), task_queue=WORKFLOW_QUEUE)
    await eventually(lambda: api.get(f"/v1/tasks/{task_id}", headers=COUNTY), until=lambda r: r.status_code == 200)
    return task_id


async def ids(api: httpx.AsyncClient, headers: dict) -> set[str]:
    r = await api.get("/v1/tasks", params={"state": "active", "limit": 500}, headers=headers)
    assert r.status_code == 200, r.text
    return {t["id"] for t in r.json()["items"]}


async def test_a_county_task_is_visible_to_its_city_not_to_another_city(
    api: httpx.AsyncClient, temporal: Client
) -> None:
    task_id = await open_task(temporal, api)
    assert task_id in await ids(api, COUNTY)
    assert task_id in await ids(api, CITY_A)
    assert task_id not in await ids(api, OTHER_CITY)
    assert task_id not in await ids(api, OTHER_COUNTY)
    assert (await api.get(f"/v1/tasks/{task_id}", headers=OTHER_CITY)).status_code == 404
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=OTHER_CITY)).status_code == 404
    # Deny unless a role allows: no token, or a purchaser's.
    assert (await api.get("/v1/tasks")).status_code == 401
    assert (await api.get("/v1/tasks", headers=PURCHASER)).status_code == 403
    task = (await api.get(f"/v1/tasks/{task_id}", headers=CITY_A)).json()
    assert [a["action"] for a in task["audit"]] == ["created"] and task["due_on"] >= task["opened_on"]
    assert "/v1/tasks/{task_id}/complete" in (await api.get("/openapi.json")).json()["paths"]


async def test_claim_by_one_officer_blocks_another(api: httpx.AsyncClient, temporal: Client) -> None:
    task_id = await open_task(temporal, api)
    r = await api.post(f"/v1/tasks/{task_id}/claim", headers=CITY_A)
    assert r.status_code == 200 and r.json()["assignee"] == "city-officer-a"
    r = await api.post(f"/v1/tasks/{task_id}/claim", headers=CITY_B)
    assert (r.status_code, r.json()["code"]) == (409, "already_claimed")
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await api.post(f"/v1/tasks/{task_id}/complete", json={"decision": "acknowledge", "reason": "r"}, headers=CITY_B)
    assert (r.status_code, r.json()["code"]) == (403, "not_assignee")
    recorder = bearer("finance_officer", "410322", "410322", sub="county-recorder")
    r = await api.post(f"/v1/tasks/{task_id}/claim", headers=recorder)
    assert (r.status_code, r.json()["code"]) == (403, "conflict_of_interest")
    mine = await api.get("/v1/tasks", params={"assignee": "city-officer-a"}, headers=CITY_A)
    assert task_id in {t["id"] for t in mine.json()["items"]}
    counts = (await api.get("/v1/tasks/counts", headers=CITY_A)).json()
    assert any(o["assignee"] == "city-officer-a" and o["open"] >= 1 for o in counts["by_officer"])
    assert any(r["region"] == "410322" and r["open"] >= 1 for r in counts["by_region"])


async def test_completing_an_unclaimed_task_is_refused_and_a_decision_reaches_the_workflow(
    api: httpx.AsyncClient, temporal: Client
) -> None:
    task_id = await open_task(temporal, api)
    body = {"decision": "acknowledge", "reason": "平台已修复"}
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=COUNTY)
    assert (r.status_code, r.json()["code"]) == (409, "not_claimed")
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=COUNTY)).status_code == 200
    r = await api.post(f"/v1/tasks/{task_id}/complete", json={"decision": "acknowledge"}, headers=COUNTY)
    assert (r.status_code, r.json()["code"]) == (422, "reason_required")
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=COUNTY)
    assert r.status_code == 200 and r.json()["state"] == "completed"
    handle = temporal.get_workflow_handle_for(HumanTaskWorkflow.run, task_workflow_id(task_id))
    outcome: TaskOutcome = await handle.result()
    assert outcome.decision is not None
    assert (outcome.decision.decision, outcome.decision.decided_by) == ("acknowledge", "county-officer")
    task = (await api.get(f"/v1/tasks/{task_id}", headers=COUNTY)).json()
    assert [a["action"] for a in task["audit"]] == ["created", "claimed", "completed"]
    assert task["decision_delivered"] is True
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=COUNTY)).json()["code"] == "task_closed"


async def report_serious(api: httpx.AsyncClient) -> tuple[str, str]:
    data = report_data(code="SUP-S-03", region="410322")
    r = await api.post("/v1/reports", json=data, headers=PURCHASER)
    assert r.status_code == 202, r.text
    return r.json()["task_id"], data["subject"]["id"]


async def test_a_reported_serious_behaviour_is_determined_and_blacklisted(api: httpx.AsyncClient) -> None:
    """Issue 16 point 5: `determine` no longer lists at once (it did before): a listing_confirmation
    task opens, the subject files its statement, and the officer's confirm lists."""
    task_id, supplier = await report_serious(api)
    task = await eventually(
        lambda: api.get(f"/v1/tasks/{task_id}", headers=CITY_A), until=lambda r: r.status_code == 200, timeout=60
    )
    assert task.json()["kind"] == "determination" and task.json()["links"]["report"] == f"/v1/determinations/{task_id}"
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=CITY_A)).status_code == 200
    body = {"decision": "determine", "reason": "查证属实", "determination": determination()}
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=CITY_A)
    assert r.status_code == 200, r.text

    async def listed() -> set[str]:
        page = (await api.get("/v1/blacklist", params={"region": "410322", "limit": 500})).json()
        return {e["subject"]["id"] for e in page["entries"]}

    listing_id = f"{task_id}:listing"
    listing = await eventually(
        lambda: api.get(f"/v1/tasks/{listing_id}", headers=CITY_A), until=lambda r: r.status_code == 200, timeout=60
    )
    assert listing.json()["kind"] == "listing_confirmation"
    assert supplier not in await listed()  # not listed before its confirmation
    # The notice is in the subject's integrity archive, with the basis and no evidence.
    archive = (await api.get(f"/v1/archive/supplier/{supplier}", headers=bearer("subject", supplier, "410322"))).json()
    (intended,) = archive["intended_determinations"]
    assert intended["request_id"] == task_id and "evidence" not in str(archive)
    url = f"/v1/intended-determinations/{task_id}/statement"
    statement = {"statement": "我方已按合同履约"}
    other = await api.post(url, json=statement, headers=bearer("subject", new_uscc(), "410322"))
    assert other.status_code == 404
    r = await api.post(url, json=statement, headers=bearer("subject", supplier, "410322"))
    assert r.status_code == 201, r.text
    assert (await api.post(f"/v1/tasks/{listing_id}/claim", headers=CITY_A)).status_code == 200
    r = await api.post(
        f"/v1/tasks/{listing_id}/complete", json={"decision": "confirm", "reason": "陈述理由不成立"}, headers=CITY_A
    )
    assert r.status_code == 200, r.text
    await eventually(listed, until=lambda s: supplier in s, timeout=60)
    archive = (await api.get(f"/v1/archive/supplier/{supplier}", headers=bearer("subject", supplier, "410322"))).json()
    assert archive["intended_determinations"] == [] and archive["records"]
