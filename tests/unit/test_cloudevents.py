"""CloudEvents 1.0 on Kafka (CONTRACT §1)."""

import base64
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.v1.event import CloudEvent

from services.common.cloudevents import (
    MALFORMED_EVENT,
    UNKNOWN_TYPE,
    Envelope,
    RejectedEvent,
    build_event,
    check_type,
    encode_structured,
    original_of,
    parse_kafka_message,
)
from services.common.topics import BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED, event_type

DATA = {
    "subject": {"type": "supplier", "id": "91350100M000100Y43", "name": "某某有限公司"},
    "behaviour_code": "SUP-G-01",
    "region": "410300",
}
STRUCTURED = [("content-type", b"application/cloudevents+json")]


def event(**overrides: Any) -> dict[str, Any]:
    e = build_event(type=BEHAVIOUR_REPORTED, source="urn:eproc:luoyang", data=DATA, id="e-1")
    e.update(overrides)
    return {k: v for k, v in e.items() if v is not ...}


def binary_headers(**overrides: bytes | None) -> list[tuple[str, bytes | None]]:
    headers: dict[str, bytes | None] = {
        "ce_specversion": b"1.0",
        "ce_id": b"e-2",
        "ce_source": b"urn:eproc:luoyang",
        "ce_type": BEHAVIOUR_REPORTED.encode(),
        "ce_time": b"2024-05-01T08:00:00+08:00",
        "content-type": b"application/json",
    }
    headers.update(overrides)
    return [(k, v) for k, v in headers.items() if v is not ...]


def rejected(value: bytes | None, headers: Any) -> RejectedEvent:
    with pytest.raises(RejectedEvent) as info:
        parse_kafka_message(value, headers)
    return info.value


# --- accepted -----------------------------------------------------------------------------------


def test_structured_round_trip() -> None:
    sent = build_event(type=BEHAVIOUR_REPORTED, source="urn:eproc:luoyang", data=DATA, subject="91350100M000100Y43")
    value, headers = encode_structured(sent)
    assert headers == [("content-type", b"application/cloudevents+json")]
    env = parse_kafka_message(value, headers)
    assert isinstance(env, Envelope)
    assert (env.specversion, env.id, env.source, env.type) == ("1.0", sent["id"], sent["source"], sent["type"])
    assert env.subject == "91350100M000100Y43"
    assert env.datacontenttype == "application/json"
    assert env.data == DATA
    assert env.time == datetime.fromisoformat(sent["time"])
    assert env.time.tzinfo is not None


def test_build_event_defaults() -> None:
    a = build_event(type="t", source="s", data={})
    b = build_event(type="t", source="s", data={})
    assert a["id"] != b["id"]
    assert "subject" not in a
    assert datetime.fromisoformat(a["time"]).utcoffset() == timedelta(0)
    fixed = datetime(2024, 5, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    assert build_event(type="t", source="s", data={}, id="x", time=fixed)["time"] == "2024-05-01T08:00:00+08:00"
    with pytest.raises(ValueError):
        build_event(type="t", source="s", data={}, time=datetime(2024, 5, 1))


def test_encode_structured_amounts_and_dates() -> None:
    data = {"amount": Decimal("1234.50"), "occurred_on": date(2024, 5, 1)}
    value, _ = encode_structured(build_event(type="t", source="s", data=data))
    assert orjson.loads(value)["data"] == {"amount": "1234.50", "occurred_on": "2024-05-01"}


def test_structured_without_headers_is_recognised() -> None:
    # Producers that set no headers at all: the value alone says it is a CloudEvent.
    env = parse_kafka_message(orjson.dumps(event()), [])
    assert env.id == "e-1"


def test_structured_content_type_with_parameters() -> None:
    headers = [("Content-Type", b"application/cloudevents+json; charset=utf-8")]
    assert parse_kafka_message(orjson.dumps(event()), headers).id == "e-1"


def test_binary_mode() -> None:
    env = parse_kafka_message(orjson.dumps(DATA), binary_headers(ce_subject=b"91350100M000100Y43"))
    assert (env.id, env.type, env.subject) == ("e-2", BEHAVIOUR_REPORTED, "91350100M000100Y43")
    assert env.time == datetime(2024, 5, 1, tzinfo=UTC)
    assert env.data == DATA


def test_binary_mode_extensions_and_mapping_headers() -> None:
    headers = dict(binary_headers(ce_traceparent=b"00-abc-def-01"))
    env = parse_kafka_message(orjson.dumps(DATA), headers)
    assert env.model_extra == {"traceparent": "00-abc-def-01"}


def test_binary_mode_default_content_type() -> None:
    env = parse_kafka_message(orjson.dumps(DATA), binary_headers(**{"content-type": ...}))
    assert env.datacontenttype == "application/json"


def test_events_made_by_the_sdk_are_accepted() -> None:
    attributes = {
        "type": MISCONDUCT_DETERMINED,
        "source": "urn:finance:410300",
        "id": "sdk-1",
        "time": datetime(2024, 5, 1, tzinfo=UTC),
        "datacontenttype": "application/json",
    }
    for to_kafka in (sdk_kafka.to_structured_event, sdk_kafka.to_binary_event):
        message = to_kafka(CloudEvent(dict(attributes), DATA))
        env = parse_kafka_message(message.value, list(message.headers.items()))
        assert (env.id, env.type, env.data) == ("sdk-1", MISCONDUCT_DETERMINED, DATA)


# --- rejected -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "null value"),
        (b"", "empty value"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "array"),
        (orjson.dumps(event(specversion=...)), "no specversion"),
        (orjson.dumps(event(specversion="0.3")), "old specversion"),
        (orjson.dumps(event(specversion=1.0)), "specversion not a string"),
        (orjson.dumps(event(id=...)), "no id"),
        (orjson.dumps(event(id="")), "empty id"),
        (orjson.dumps(event(id=7)), "id not a string"),
        (orjson.dumps(event(source=...)), "no source"),
        (orjson.dumps(event(source="")), "empty source"),
        (orjson.dumps(event(type=...)), "no type"),
        (orjson.dumps(event(time=...)), "no time"),
        (orjson.dumps(event(time="yesterday")), "time not RFC 3339"),
        (orjson.dumps(event(time=1714550400)), "time as a number"),
        (orjson.dumps(event(data=...)), "no data"),
        (orjson.dumps(event(data=None)), "null data"),
        (orjson.dumps(event(data="text")), "data not an object"),
        (orjson.dumps(event(data=..., data_base64="e30=")), "base64 data"),
        (orjson.dumps(event(datacontenttype="application/xml")), "data not JSON"),
        (orjson.dumps(event(subject=5)), "subject not a string"),
    ],
)
def test_structured_malformed(value: bytes | None, why: str) -> None:
    problem = rejected(value, STRUCTURED)
    assert problem.reason == MALFORMED_EVENT, why
    assert problem.message


@pytest.mark.parametrize(
    "time", ["2024-05-01T08:00:00", "2024-05-01 08:00:00", "2024-05-01"], ids=["naive", "space", "date"]
)
def test_time_without_zone_is_rejected(time: str) -> None:
    problem = rejected(orjson.dumps(event(time=time)), STRUCTURED)
    assert problem.reason == MALFORMED_EVENT
    assert "time" in problem.message
    problem = rejected(orjson.dumps(DATA), binary_headers(ce_time=time.encode()))
    assert "time" in problem.message


@pytest.mark.parametrize(
    ("value", "overrides", "why"),
    [
        (orjson.dumps(DATA), {"ce_id": ...}, "no id"),
        (orjson.dumps(DATA), {"ce_id": b""}, "empty id"),
        (orjson.dumps(DATA), {"ce_id": None}, "null id header"),
        (orjson.dumps(DATA), {"ce_specversion": b"0.3"}, "old specversion"),
        (orjson.dumps(DATA), {"ce_source": ...}, "no source"),
        (orjson.dumps(DATA), {"ce_time": ...}, "no time"),
        (orjson.dumps(DATA), {"ce_source": b"\xff"}, "header not UTF-8"),
        (orjson.dumps(DATA), {"ce_data": b"{}"}, "data in a header"),
        (orjson.dumps(DATA), {"content-type": b"text/plain"}, "data not JSON"),
        (None, {}, "no data"),
        (b"not json", {}, "data not JSON"),
        (b'"text"', {}, "data not an object"),
    ],
)
def test_binary_malformed(value: bytes | None, overrides: dict[str, Any], why: str) -> None:
    assert rejected(value, binary_headers(**overrides)).reason == MALFORMED_EVENT, why


def test_binary_repeated_attribute_is_rejected() -> None:
    headers = binary_headers() + [("ce_id", b"other")]
    assert rejected(orjson.dumps(DATA), headers).reason == MALFORMED_EVENT


@pytest.mark.parametrize(
    "headers",
    [
        [],  # JSON object without specversion and no headers
        [("content-type", b"application/json")],
        [("content-type", b"text/plain")],
        [("content-type", b"application/cloudevents-batch+json")],
    ],
)
def test_not_a_cloudevent(headers: list[tuple[str, bytes]]) -> None:
    assert rejected(orjson.dumps(DATA), headers).reason == MALFORMED_EVENT


def test_rejected_event_fields() -> None:
    problem = RejectedEvent("malformed_event", "the message value is empty")
    assert (problem.reason, problem.message) == ("malformed_event", "the message value is empty")
    assert "malformed_event" in str(problem)


# --- types --------------------------------------------------------------------------------------


def test_check_type() -> None:
    known = {BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED}
    check_type(parse_kafka_message(orjson.dumps(event()), STRUCTURED), known)
    with pytest.raises(RejectedEvent) as info:
        check_type(parse_kafka_message(orjson.dumps(event(type=event_type("nothing.v1"))), STRUCTURED), known)
    assert info.value.reason == UNKNOWN_TYPE
    with pytest.raises(RejectedEvent) as info:
        check_type(
            parse_kafka_message(orjson.dumps(event(type=event_type("behaviour.reported.v2"))), STRUCTURED), known
        )
    assert info.value.reason == UNKNOWN_TYPE
    assert "v1" in info.value.message


# --- dead-letter copy ---------------------------------------------------------------------------


def test_original_of_json() -> None:
    value = orjson.dumps(event())
    original = original_of(value, STRUCTURED)
    assert original == {
        "value": orjson.loads(value),
        "value_encoding": "json",
        "headers": {"content-type": "application/cloudevents+json"},
    }
    orjson.dumps(original)  # JSON-safe


def test_original_of_text_binary_and_null() -> None:
    headers = [("ce_id", b"\xffx"), ("x-note", b"a"), ("x-note", b"b"), ("x-null", None)]
    text = original_of(b"{broken", headers)
    assert (text["value"], text["value_encoding"]) == ("{broken", "text")
    assert text["headers"] == {"ce_id": "\\xffx", "x-note": "a, b", "x-null": ""}
    raw = original_of(b"\xff\x00\x01", [])
    assert raw["value_encoding"] == "base64"
    assert base64.b64decode(raw["value"]) == b"\xff\x00\x01"
    assert original_of(None, {})["value_encoding"] == "none"
    for original in (text, raw):
        orjson.dumps(original)
