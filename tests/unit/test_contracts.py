"""Typed event contracts (issue 20): the registry lists every type of topics.py, the decoder turns a
CloudEvent in either mode into its typed data or a refusal with the dead-letter reason, and the
outbound builders write what their models describe."""

from datetime import UTC, date, datetime

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from services.common import topics
from services.common.cloudevents import build_event, encode_structured
from services.common.contracts import registry
from services.common.contracts.decode import Refused, Typed, decode
from services.common.contracts.owners import ANSWERS_UNKNOWN
from services.common.inbound import from_kafka
from services.common.schemas import BehaviourReport
from services.evaluation import events as evaluation_events
from tests.support.factories import report_data

BEHAVIOUR = registry.reading(registry.on_topic(topics.INBOUND_BEHAVIOUR))


def record(value: bytes, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord(topics.INBOUND_BEHAVIOUR, 0, 0, 0, 0, b"k", value, None, len(value), -1, headers)


def structured(event: dict) -> ConsumerRecord:
    return record(*encode_structured(event))


def decoded(rec: ConsumerRecord, accepted=BEHAVIOUR) -> Typed | Refused:  # type: ignore[no-untyped-def]
    [item] = from_kafka([rec])
    return decode(item, accepted)


def test_every_type_constant_of_topics_has_a_contract_and_back() -> None:
    prefix = topics.TYPE_PREFIX
    constants = {
        v for k, v in vars(topics).items() if k != "TYPE_PREFIX" and isinstance(v, str) and v.startswith(prefix)
    }
    assert constants == set(registry.BY_TYPE)
    assert set(topics.ALL_TOPICS) == set(registry.topics())


def test_contracts_say_their_version_and_direction() -> None:
    c = registry.BY_TYPE[topics.RECORD_CREATED]
    assert (c.short, c.version, c.topic, c.direction) == ("record.created.v1", "v1", topics.RECORDS, "outbound")
    assert all(c.version.startswith("v") for c in registry.ALL)
    assert {c.direction for c in registry.on_topic(topics.INBOUND_APPLICATIONS)} == {"inbound"}


def test_each_consumed_shared_topic_has_one_service_answering_for_unknown_types() -> None:
    assert ANSWERS_UNKNOWN[topics.INBOUND_APPLICATIONS] == "evaluation"
    assert ANSWERS_UNKNOWN[topics.RECORDS] == "publication"
    assert set(ANSWERS_UNKNOWN) <= set(registry.topics())


def test_a_structured_event_decodes_to_its_model() -> None:
    data = report_data()
    got = decoded(structured(build_event(type=topics.BEHAVIOUR_REPORTED, source="urn:eproc:ly", data=data, id="e1")))
    assert isinstance(got, Typed)
    assert isinstance(got.data, BehaviourReport)
    assert got.data.subject.id == data["subject"]["id"]
    assert got.identity == ("urn:eproc:ly", "e1")


def test_a_binary_event_decodes_to_its_model() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"e-2"),
        ("ce_source", b"urn:eproc:ly"),
        ("ce_type", topics.BEHAVIOUR_REPORTED.encode()),
        ("ce_time", b"2024-05-01T08:00:00+08:00"),
        ("content-type", b"application/json"),
    ]
    got = decoded(record(orjson.dumps(report_data()), headers))
    assert isinstance(got, Typed) and got.data.region == "410322"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(type=topics.event_type("behaviour.reported.v9")), "unknown_type"),
        (lambda e: e.update(type=topics.RECORD_CREATED), "unknown_type"),
        (lambda e: e["data"].pop("subject"), "invalid_data"),
        (lambda e: e.pop("source"), "malformed_event"),
    ],
)
def test_a_refusal_carries_the_dead_letter_reason(mutate, reason) -> None:  # type: ignore[no-untyped-def]
    event = build_event(type=topics.BEHAVIOUR_REPORTED, source="urn:eproc:ly", data=report_data(), id="e3")
    mutate(event)
    got = decoded(structured(event))
    assert isinstance(got, Refused)
    assert got.reason == reason
    if reason == "unknown_type" and "v9" in event["type"]:
        assert "v1" in got.message  # says which versions are accepted


def test_the_record_builder_writes_what_its_contract_describes() -> None:
    row = {
        "id": "rec-1",
        "version": 2,
        "status": "in_force",
        "subject_type": "supplier",
        "subject_id": "91410300MA0000002X",
        "subject_name": "某公司",
        "behaviour_code": "SUP-G-01",
        "severity": "general",
        "region": "410300",
        "project": {"code": "P", "name": "项目"},
        "reporter_type": "purchaser",
        "reporter_id": "x",
        "reporter_name": "y",
        "occurred_on": date(2026, 1, 2),
        "recorded_on": date(2026, 1, 3),
        "valid_until": date(2027, 1, 3),
        "determination": None,
        "evidence": [],
        "policy_version": "luoyang-1",
    }
    out = evaluation_events.record_event(topics.RECORD_CREATED, row, event_time=datetime.now(UTC))
    contract = registry.BY_TYPE[out.event["type"]]
    assert contract.topic == out.topic
    parsed = contract.model.model_validate(out.event["data"])
    # The model keeps every field the builder wrote: validating changes nothing on the wire.
    assert parsed.model_dump(mode="json", exclude_unset=True) == orjson.loads(orjson.dumps(out.event["data"]))
