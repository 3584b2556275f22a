"""Size limits and what dead letters keep (issue 21, points 8 and 9): request bodies over the limit
are 413, Kafka messages over it are dead-lettered `message_too_large`, evidence items are bounded,
and a dead letter carries no evidence URI nor free text, cut to its limit with a hash of the whole."""

import hashlib
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import orjson
import pytest
from fastapi import Body, FastAPI
from pydantic import ValidationError

from services.common.cloudevents import encode_structured
from services.common.dead_original import bounded_original
from services.common.deadletter import rejected_event
from services.common.guard import RequestGuard
from services.common.inbound import from_http, from_kafka
from services.common.problems import install_problem_handlers
from services.common.schemas import EVIDENCE_MAX, BehaviourReport
from tests.support.factories import event, evidence, report_data

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def _kafka(e: dict, key: bytes = b"k"):  # type: ignore[no-untyped-def]
    value, headers = encode_structured(e)
    return SimpleNamespace(value=value, headers=headers, key=key)


def test_dead_letter_of_a_kafka_event_has_hashes_not_evidence_nor_description() -> None:
    e = event(report_data(code="SUP-G-99") | {"evidence": evidence(3)})
    record = _kafka(e)
    (item,) = from_kafka([record])
    dead = rejected_event(item, reason="unknown_behaviour_code", message="m", source="urn:t", now=NOW).event
    text = orjson.dumps(dead).decode()
    for ev in e["data"]["evidence"]:
        assert ev["uri"] not in text
    assert e["data"]["description"] not in text
    kept = dead["data"]["original"]["value"]["data"]["evidence"]
    assert kept[0] == {
        "kind": "photo",
        "sha256": e["data"]["evidence"][0]["sha256"],
        "uri_sha256": hashlib.sha256(e["data"]["evidence"][0]["uri"].encode()).hexdigest(),
    }
    assert dead["data"]["original_sha256"] == hashlib.sha256(record.value).hexdigest()
    assert dead["data"]["original"]["value"]["id"] == e["id"]


def test_dead_letter_of_an_http_refusal_has_no_evidence() -> None:
    data = report_data() | {"evidence": evidence(2)}
    item = from_http(role="purchaser", org="x", event_type="t", data=data, key="k", idempotency_key="i", now=NOW)
    dead = rejected_event(item, reason="invalid_identifier", message="m", source="urn:t", now=NOW).event
    text = orjson.dumps(dead).decode()
    assert all(ev["uri"] not in text for ev in data["evidence"]) and data["description"] not in text


def test_a_large_original_is_cut_with_the_hash_of_the_whole() -> None:
    e = event(report_data() | {"project": {"code": "P", "name": "x" * 100_000}})
    record = _kafka(e)
    (item,) = from_kafka([record])
    dead = rejected_event(item, reason="invalid_data", message="m", source="urn:t", now=NOW).event
    original = dead["data"]["original"]
    assert original["truncated"] is True and original["size"] > 100_000
    assert len(orjson.dumps(dead)) < 20_000
    assert dead["data"]["original_sha256"] == hashlib.sha256(record.value).hexdigest()


def test_unparseable_text_keeps_a_prefix_without_uris() -> None:
    original = {"value": "oops https://evidence.example/secret.jpg " + "y" * 1000, "value_encoding": "text"}
    kept = bounded_original(original, max_bytes=16_384)
    assert "evidence.example" not in kept["value"] and kept["value"].startswith("oops <uri sha256:")
    assert kept["value_chars"] == len(original["value"])


def test_kafka_message_over_the_limit_is_not_parsed_and_dead_lettered() -> None:
    (item,) = from_kafka([_kafka(event(report_data()))], max_bytes=200)
    assert (item.envelope, item.reason) == (None, "message_too_large")


def test_evidence_items_are_bounded() -> None:
    BehaviourReport.model_validate(report_data() | {"evidence": evidence(EVIDENCE_MAX)})
    with pytest.raises(ValidationError):
        BehaviourReport.model_validate(report_data() | {"evidence": evidence(EVIDENCE_MAX + 1)})


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestGuard, max_body_bytes=2048)

    @app.post("/echo")
    async def echo(body: dict = Body(...)) -> dict:
        return {"n": len(body["x"])}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_request_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async with client:
        assert (await client.post("/echo", json={"x": "a" * 1000})).json() == {"n": 1000}
        r = await client.post("/echo", json={"x": "a" * 5000})
        assert (r.status_code, r.json()["code"], r.json()["max_bytes"]) == (413, "payload_too_large", 2048)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b"a" * 1000

        # Chunked, without Content-Length: cut while reading.
        r = await client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")
