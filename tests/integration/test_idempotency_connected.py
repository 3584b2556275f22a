"""An event id or Idempotency-Key reused for another payload (issue 21, point 5), on the real
stack: 409 `idempotency_conflict` over HTTP, dead letter `duplicate_id_conflict` on Kafka; the same
payload replays the first answer, a refusal included."""

import uuid

import asyncpg
import httpx
import pytest

from services.common.topics import DEAD_LETTER, EVENT_REJECTED, INBOUND_BEHAVIOUR
from tests.conftest import bearer
from tests.integration.test_appeals_connected import COUNTY, appeal_body, make_record
from tests.stack import Stack
from tests.support.factories import event, new_uscc, report_data
from tests.support.kafka import collect, original_value, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected


async def test_http_report_key_reused_for_another_body_is_409(api: httpx.AsyncClient) -> None:
    data = report_data(subject_id=new_uscc())
    headers = bearer("purchaser", data["reporter"]["id"], "410322") | {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post("/v1/reports", json=data, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.post("/v1/reports", json=data, headers=headers)
    assert (again.status_code, again.json()["record_id"]) == (200, first.json()["record_id"])
    other = await api.post(
        "/v1/reports", json=data | {"subject": data["subject"] | {"id": new_uscc()}}, headers=headers
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")


async def test_http_refusal_is_replayed_and_a_fixed_body_under_the_same_key_is_409(api: httpx.AsyncClient) -> None:
    data = report_data(subject_id=new_uscc(), with_evidence=False)
    headers = bearer("purchaser", data["reporter"]["id"], "410322") | {"Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):
        r = await api.post("/v1/reports", json=data, headers=headers)
        assert (r.status_code, r.json()["code"]) == (422, "evidence_required")
    fixed = report_data(subject_id=data["subject"]["id"])
    r = await api.post("/v1/reports", json=fixed, headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_conflict")
    # With a new key the fixed report is recorded.
    headers["Idempotency-Key"] = str(uuid.uuid4())
    assert (await api.post("/v1/reports", json=fixed, headers=headers)).status_code == 201


async def test_appeal_key_reused_for_another_body_is_409(api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api, serious=False)
    headers = bearer("subject", supplier, COUNTY) | {"Idempotency-Key": str(uuid.uuid4())}
    body = appeal_body(record_id)
    first = await eventually(
        lambda: api.post("/v1/appeals", json=body, headers=headers), until=lambda r: r.status_code != 404, timeout=60
    )
    assert first.status_code == 201, first.text
    r = await api.post("/v1/appeals", json=body | {"grounds": "另一理由"}, headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_conflict")


async def test_kafka_event_id_reused_for_another_payload_is_dead_lettered(stack: Stack) -> None:
    first = event(report_data(subject_id=new_uscc()))
    other = first | {"data": report_data(subject_id=new_uscc())}
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [first])

    async def recorded() -> int:
        conn = await asyncpg.connect(stack.database_url)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM evaluation_record WHERE source = $1 AND source_event_id = $2",
                first["source"],
                first["id"],
            )
        finally:
            await conn.close()

    await eventually(recorded, until=lambda n: n == 1, timeout=60)
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [other])
    (dead,) = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 1,
        match=lambda e: (
            e["type"] == EVENT_REJECTED and original_value(e).get("data", {}).get("subject") == other["data"]["subject"]
        ),
        timeout=60,
    )
    assert dead["data"]["reason"] == "duplicate_id_conflict"
    assert await recorded() == 1
