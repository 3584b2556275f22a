"""A report travels the real components: Kafka → evaluation → PostgreSQL → outbox → Kafka →
publication → HTTP through the gateway."""

import uuid
from datetime import date

import httpx
import pytest

from services.common.lawdates import add_months
from services.common.topics import (
    INBOUND_BEHAVIOUR,
    RECORD_CREATED,
    RECORDS,
    SUBJECT_STATUS_CHANGED,
    SUBJECTS,
    TASK_CREATED,
    TASKS,
)
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import determination, event, new_uscc, report_data
from tests.support.kafka import collect, drain, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
FINANCE_CITY = bearer("finance_officer", "410300", "410300")


async def credit_of(api: httpx.AsyncClient, subject_id: str, subject_type: str = "supplier") -> dict:
    r = await api.get(f"/v1/credit/{subject_type}/{subject_id}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_report_becomes_record_events_and_public_status(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier = new_uscc()
    e = event(report_data(subject_id=supplier, code="SUP-G-03"))
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [e])

    created = await collect(
        stack.bootstrap,
        RECORDS,
        lambda kept: len(kept) >= 1,
        match=lambda x: x["type"] == RECORD_CREATED and x["data"]["subject"]["id"] == supplier,
    )
    record = created[0]["data"]
    assert record["behaviour"]["code"] == "SUP-G-03" and record["severity"] == "general"
    # 001 Art. 19: a general record stands one year from its recording.
    recorded_on = date.fromisoformat(record["recorded_on"])
    assert record["status"] == "in_force" and record["valid_until"] == add_months(recorded_on, 12).isoformat()
    assert "evidence" not in record and record["evidence_count"] == 1

    statuses = await collect(
        stack.bootstrap,
        SUBJECTS,
        lambda kept: len(kept) >= 1,
        match=lambda x: x["type"] == SUBJECT_STATUS_CHANGED and x["data"]["subject"]["id"] == supplier,
    )
    assert statuses[0]["data"]["status"] == "general_record"
    assert statuses[0]["data"]["may_participate"] is True

    public = await eventually(
        lambda: credit_of(api, supplier), until=lambda b: b["records_in_force"] and b["status_version"] >= 1
    )
    assert public["status"] == "general_record" and public["grade"] == "general_dishonest"
    assert public["records_in_force"][0]["record_id"] == record["record_id"]
    assert "evidence" not in str(public)
    # Published once: by now the topic holds every record event the report led to.
    mine = await drain(stack.bootstrap, RECORDS, match=lambda x: x["data"]["subject"]["id"] == supplier)
    assert [(x["type"], x["data"]["record_id"]) for x in mine] == [(RECORD_CREATED, record["record_id"])]

    # Finance of the city sees the county's record and its history; the subject sees no evidence.
    full = (await api.get(f"/v1/records/{record['record_id']}", headers=FINANCE_CITY)).json()
    # Evidence needs an approved access request (tests/integration/test_evidence_access_connected.py).
    assert "evidence" not in full and full["evidence_access"] == "approval_required"
    assert [h["change"] for h in full["history"]] == ["created"]
    own = await api.get(f"/v1/records/{record['record_id']}", headers=bearer("subject", supplier, "410322"))
    assert own.status_code == 200 and "evidence" not in own.json()
    assert all("evidence" not in h["snapshot"] for h in own.json()["history"])


async def test_determined_misconduct_blacklists(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier = new_uscc()
    data = report_data(subject_id=supplier, code="SUP-S-01", reporter_type="finance", determination=determination())
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [event(data)])
    public = await eventually(
        lambda: credit_of(api, supplier), until=lambda b: b["blacklisted"] and b["records_in_force"]
    )
    assert public["may_participate"] is False
    assert public["blacklisted_until"] == data["determination"]["liability_ends_on"]
    listed = (
        await api.get("/v1/blacklist", params={"region": "410300", "subject_type": "supplier", "limit": 500})
    ).json()
    assert supplier in {x["subject"]["id"] for x in listed["entries"]}
    other_city = (await api.get("/v1/blacklist", params={"region": "410100", "limit": 500})).json()
    assert supplier not in {x["subject"]["id"] for x in other_city["entries"]}


async def test_same_event_twice_records_once(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier = new_uscc()
    e = event(report_data(subject_id=supplier))
    later = event(report_data(subject_id=supplier, code="SUP-G-02"))
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [e, e])
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [e, later])

    async def records() -> list[dict]:
        r = await api.get(
            "/v1/records", params={"subject_type": "supplier", "subject_id": supplier}, headers=FINANCE_CITY
        )
        return r.json()["records"]

    # `later` was produced after the twins on the same partition: once it is in, they all are.
    got = await eventually(records, until=lambda rs: any(x["behaviour"]["code"] == "SUP-G-02" for x in rs))
    assert sorted(x["behaviour"]["code"] for x in got) == ["SUP-G-01", "SUP-G-02"]


async def test_serious_code_from_purchaser_opens_determination_task(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier = new_uscc()
    await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [event(report_data(subject_id=supplier, code="SUP-S-05"))])
    tasks = await collect(
        stack.bootstrap,
        TASKS,
        lambda kept: len(kept) >= 1,
        match=lambda x: x["type"] == TASK_CREATED and x["data"]["subject"]["id"] == supplier,
    )
    assert tasks[0]["data"]["kind"] == "determination" and tasks[0]["data"]["region"] == "410322"
    # Nothing is recorded before the finance department decides.
    public = await credit_of(api, supplier)
    assert public["status"] == "no_record" and public["may_participate"] is True


async def test_http_report_goes_through_the_same_path_and_is_idempotent(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier = new_uscc()
    data = report_data(subject_id=supplier)
    purchaser = bearer("purchaser", data["reporter"]["id"], "410322")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post("/v1/reports", json=data, headers={**purchaser, **key})
    assert first.status_code == 201, first.text
    again = await api.post("/v1/reports", json=data, headers={**purchaser, **key})
    assert again.status_code == 200 and again.json()["record_id"] == first.json()["record_id"]
    assert again.json()["outcome"] == "duplicate"
    public = await eventually(
        lambda: credit_of(api, supplier), until=lambda b: b["records_in_force"] and b["status_version"] >= 1
    )
    assert len(public["records_in_force"]) == 1
