"""Every rejection reaches credit.dead-letter with its machine-readable reason (CONTRACT §1, §3, §4)."""

import uuid
from datetime import timedelta

import orjson
import pytest

from services.common.identifiers import is_valid_uscc
from services.common.lawdates import today
from services.common.topics import DEAD_LETTER, EVENT_REJECTED, INBOUND_BEHAVIOUR, RECORD_CREATED, RECORDS
from tests.stack import Stack
from tests.support.factories import determination, event, new_uscc, report_data
from tests.support.kafka import collect, produce, produce_raw

pytestmark = pytest.mark.connected


def _cases() -> dict[str, dict]:
    good = new_uscc()
    # The same code with a wrong check character (never the right one by chance).
    bad_uscc = good[:-1] + ("0" if good[-1] != "0" else "1")
    old = determination()
    old["liability_ends_on"] = (today() - timedelta(days=1)).isoformat()
    old["decided_on"] = (today() - timedelta(days=30)).isoformat()
    return {
        "unknown_type": event(report_data(), type="cn.gov.procurement.credit.behaviour.reported.v9"),
        "invalid_data": event({"subject": {"type": "supplier"}, "behaviour_code": "SUP-G-01"}),
        "invalid_identifier": event(report_data(subject_id=bad_uscc)),
        "unknown_behaviour_code": event(report_data(code="SUP-G-99")),
        "subject_mismatch": event(report_data(code="AGY-G-01")),
        "not_authorised": event(report_data(code="SUP-S-01", determination=determination())),
        "determination_required": event(report_data(code="SUP-S-01", reporter_type="finance")),
        "evidence_required": event(report_data(with_evidence=False)),
        "severity_mismatch": event(report_data(reporter_type="finance", determination=determination())),
        "invalid_date": event(report_data(occurred_on=today() + timedelta(days=2))),
        "liability_ended": event(report_data(code="SUP-S-02", reporter_type="finance", determination=old)),
    }


async def test_each_rejection_is_dead_lettered_with_its_reason(stack: Stack) -> None:
    cases = _cases()
    # A bad USCC check character must really be bad for the case to mean anything.
    assert not is_valid_uscc(cases["invalid_identifier"]["data"]["subject"]["id"])
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, list(cases.values()), key_of=lambda e: "k")
    marker = uuid.uuid4().hex
    not_json = f"not a cloudevent {marker}".encode()
    await produce_raw(
        stack.bootstrap, INBOUND_BEHAVIOUR, not_json, [("content-type", b"application/cloudevents+json")], b"k"
    )
    wanted = {e["id"]: reason for reason, e in cases.items()}

    def original_id(e: dict) -> str | None:
        value = e["data"]["original"].get("value")
        return value.get("id") if isinstance(value, dict) else None

    def ours(e: dict) -> bool:
        return e["type"] == EVENT_REJECTED and (
            original_id(e) in wanted or marker in str(e["data"]["original"].get("value"))
        )

    dead = await collect(stack.bootstrap, DEAD_LETTER, lambda kept: len(kept) >= len(wanted) + 1, match=ours)
    got = {original_id(e): e["data"]["reason"] for e in dead if original_id(e)}
    assert got == wanted
    malformed = [e for e in dead if marker in str(e["data"]["original"].get("value"))]
    assert [e["data"]["reason"] for e in malformed] == ["malformed_event"]
    assert all(e["data"]["message"] for e in dead)


async def test_binary_mode_event_is_accepted(stack: Stack) -> None:
    supplier = new_uscc()
    e = event(report_data(subject_id=supplier))
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", e["id"].encode()),
        ("ce_source", e["source"].encode()),
        ("ce_type", e["type"].encode()),
        ("ce_time", e["time"].encode()),
        ("content-type", b"application/json"),
    ]
    await produce_raw(stack.bootstrap, INBOUND_BEHAVIOUR, orjson.dumps(e["data"]), headers, supplier.encode())
    created = await collect(
        stack.bootstrap,
        RECORDS,
        lambda kept: len(kept) >= 1,
        match=lambda x: x["type"] == RECORD_CREATED and x["data"]["subject"]["id"] == supplier,
    )
    assert created and created[0]["data"]["behaviour"]["code"] == "SUP-G-01"
