"""The one rule for text the database cannot store (issue 21, point 2): NUL and lone surrogates are
refused `invalid_text` in HTTP paths, query strings, JSON and form bodies, and Kafka events."""

from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import orjson
import pytest
from fastapi import Body, FastAPI

from services.common.cloudevents import RejectedEvent, encode_structured, parse_kafka_message
from services.common.deadletter import rejected_event
from services.common.inbound import from_kafka
from services.common.service import base_app
from services.common.text import invalid_text_at, suspect_json
from tests.support.factories import event, report_data


@pytest.mark.parametrize(
    ("value", "pointer"),
    [
        ({"a": "fine 😀 émoji"}, None),
        ({"a": "x\x00"}, "/a"),
        ({"a": [{"b/c": "\ud800"}]}, "/a/0/b~1c"),
        ({"k\x00": 1}, "/k\\u0000"),
        ("\x00", ""),
    ],
)
def test_invalid_text_at(value: object, pointer: str | None) -> None:
    assert invalid_text_at(value) == pointer


def test_suspect_json_is_a_prefilter_only() -> None:
    assert not suspect_json(b'{"a": "plain"}')
    assert suspect_json(b'{"a": "\\u0000"}')
    assert suspect_json(b'{"a": "\\ud83d\\ude00"}')  # a valid pair is walked, and passes


@pytest.fixture
def client() -> httpx.AsyncClient:
    app: FastAPI = base_app("test", None)

    @app.post("/echo")
    async def echo(body: dict = Body(...)) -> dict:
        return body

    @app.get("/items/{item_id}")
    async def item(item_id: str, q: str = "") -> dict:
        return {"id": item_id, "q": q}

    @app.post("/form")
    async def form() -> dict:
        return {"ok": True}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_http_edges(client: httpx.AsyncClient) -> None:
    async with client:
        r = await client.post("/echo", json={"reason": "ok 😀"})
        assert r.status_code == 200 and r.json() == {"reason": "ok 😀"}
        r = await client.post("/echo", json={"reason": "no\x00"})
        assert (r.status_code, r.json()["code"], r.json()["pointer"]) == (422, "invalid_text", "/reason")
        r = await client.post("/echo", content=b'{"reason": "\\udc00"}', headers={"content-type": "application/json"})
        assert r.json()["code"] == "invalid_text"
        r = await client.get("/items/%00")
        assert (r.status_code, r.json()["code"], r.json()["location"]) == (422, "invalid_text", "path")
        r = await client.get("/items/a", params={"q": "x\x00"})
        assert (r.json()["code"], r.json()["location"]) == ("invalid_text", "query")
        r = await client.post("/form", data={"reason": "x\x00"})
        assert r.json()["code"] == "invalid_text"
        assert (await client.post("/form", data={"reason": "fine"})).status_code == 200


def test_kafka_event_with_nul_is_refused_invalid_text() -> None:
    value, headers = encode_structured(event(report_data() | {"description": "a\x00b"}))
    with pytest.raises(RejectedEvent) as info:
        parse_kafka_message(value, headers)
    assert info.value.reason == "invalid_text" and "/data/description" in info.value.message
    binary = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"i\x00d"),
        ("ce_source", b"urn:x"),
        ("ce_type", b"t"),
        ("ce_time", b"2026-12-01T00:00:00Z"),
        ("content-type", b"application/json"),
    ]
    with pytest.raises(RejectedEvent) as info:
        parse_kafka_message(orjson.dumps({"a": 1}), binary)
    assert info.value.reason == "invalid_text"


def test_dead_letter_of_a_nul_key_is_storable() -> None:
    value, headers = encode_structured(event(report_data() | {"description": "a\x00b"}))
    (item,) = from_kafka([SimpleNamespace(value=value, headers=headers, key=b"k\x00" + b"x" * 300)])
    assert item.reason == "invalid_text"
    dead = rejected_event(item, reason=item.reason, message="m", source="urn:t", now=datetime.now(UTC))
    assert dead.key.startswith("sha256:") and "\x00" not in dead.key
