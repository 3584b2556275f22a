"""Size limits and dead letters without evidence (issue 21, points 8 and 9) on the real stack: a
body over the limit is 413 through the gateway; the dead letter of a refused report — over HTTP or
Kafka — carries the evidence's hashes, never its URIs, nor the reporter's description."""

import uuid

import httpx
import orjson
import pytest

from services.common.topics import DEAD_LETTER, EVENT_REJECTED, INBOUND_BEHAVIOUR
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import event, evidence, new_uscc, report_data
from tests.support.kafka import collect, produce

pytestmark = pytest.mark.connected


async def test_a_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    data = report_data(subject_id=new_uscc()) | {"description": "x" * 2_000_000}
    r = await api.post("/v1/reports", json=data, headers=bearer("purchaser", data["reporter"]["id"], "410322"))
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")


def _has_no_evidence(dead: dict, data: dict) -> None:
    text = orjson.dumps(dead).decode()
    assert all(e["uri"] not in text for e in data["evidence"]), text
    assert data["description"] not in text
    assert dead["data"]["original_sha256"]


async def test_dead_letters_of_http_and_kafka_refusals_carry_no_evidence(stack: Stack, api: httpx.AsyncClient) -> None:
    data = report_data(subject_id=new_uscc(), code="SUP-G-99") | {"evidence": evidence(3)}
    key = str(uuid.uuid4())
    headers = bearer("purchaser", data["reporter"]["id"], "410322") | {"Idempotency-Key": key}
    r = await api.post("/v1/reports", json=data, headers=headers)
    assert (r.status_code, r.json()["code"]) == (422, "unknown_behaviour_code")
    kafka = event(data)
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [kafka])

    def which(e: dict) -> str | None:
        original = e["data"]["original"]
        if (original.get("http") or {}).get("id") == key:
            return "http"
        if isinstance(original.get("value"), dict) and original["value"].get("id") == kafka["id"]:
            return "kafka"
        return None

    dead = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 2,
        match=lambda e: e["type"] == EVENT_REJECTED and which(e) is not None,
        timeout=60,
    )
    assert sorted(which(d) or "" for d in dead) == ["http", "kafka"]
    for d in dead:
        _has_no_evidence(d, data)
