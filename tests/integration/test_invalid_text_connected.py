"""Text PostgreSQL cannot store (issue 21, point 2) is refused at every edge with the same rule:
`invalid_text` — 422 over HTTP (bodies, paths, an officer's decision reason), a dead letter on
Kafka — and the next valid event with the same key is recorded."""

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from services.common.topics import DEAD_LETTER, EVENT_REJECTED, INBOUND_BEHAVIOUR
from tests.conftest import bearer
from tests.integration.test_appeals_connected import GROUNDS, appeal_body, make_record
from tests.integration.test_tasks_connected import COUNTY, open_task, temporal  # noqa: F401 - fixture
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, event, new_uscc, report_data
from tests.support.kafka import collect, original_value, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
PURCHASER = bearer("purchaser", PURCHASER_ID, "410322")


def _problem(r: httpx.Response) -> tuple[int, str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return r.status_code, r.json()["code"]


async def test_reports_appeals_and_paths_with_nul_are_refused(api: httpx.AsyncClient) -> None:
    data = report_data() | {"description": "供应商\u0000提供虚假材料"}
    r = await api.post("/v1/reports", json=data, headers=PURCHASER)
    assert _problem(r) == (422, "invalid_text")
    assert r.json()["pointer"] == "/description"
    supplier, record_id = await make_record(api, serious=False)
    subject = bearer("subject", supplier, "410322")
    r = await api.post("/v1/appeals", json=appeal_body(record_id, grounds=f"{GROUNDS}\u0000"), headers=subject)
    assert _problem(r) == (422, "invalid_text")
    for path in ("/v1/records/%00", "/v1/appeals/%00", "/v1/repairs/%00", "/v1/tasks/%00"):
        r = await api.get(path, headers=COUNTY)
        assert _problem(r) == (422, "invalid_text"), path
    r = await api.get("/v1/blacklist", params={"region": "41\u00000300"})
    assert _problem(r) == (422, "invalid_text")


async def test_officer_decision_reason_with_nul_is_refused(api: httpx.AsyncClient, temporal: Client) -> None:  # noqa: F811
    task_id = await open_task(temporal, api)
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=COUNTY)).status_code == 200
    body = {"decision": "acknowledge", "reason": "平台已修复\u0000"}
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=COUNTY)
    assert _problem(r) == (422, "invalid_text")
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body | {"reason": "平台已修复"}, headers=COUNTY)
    assert r.status_code == 200 and r.json()["state"] == "completed"


async def test_event_with_nul_is_dead_lettered_and_the_partition_goes_on(stack: Stack) -> None:
    supplier = new_uscc()
    bad = event(report_data(subject_id=supplier) | {"description": "供应商\u0000提供虚假材料"})
    good = event(report_data(subject_id=supplier))
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [bad, good], key_of=lambda e: supplier)
    (dead,) = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == EVENT_REJECTED and original_value(e).get("id") == bad["id"],
        timeout=60,
    )
    assert dead["data"]["reason"] == "invalid_text"
    assert "/data/description" in dead["data"]["message"]

    async def recorded() -> int:
        conn = await asyncpg.connect(stack.database_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM evaluation_record WHERE source_event_id = $1", good["id"])
        finally:
            await conn.close()

    assert await eventually(recorded, until=lambda n: n == 1, timeout=60) == 1
