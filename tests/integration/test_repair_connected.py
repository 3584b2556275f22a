"""Credit repair on the real components (issue 3): a general record in the test county 410399
(Luoyang's rules without the six-month wait — the dev server cannot wait; the time-skipping tests
cover the wait), the subject's application over HTTP or Kafka, the review task in the casework
queue, the decision, record.repaired.v1 and the public status; the refusals over HTTP and Kafka."""

import uuid
from datetime import timedelta

import httpx
import pytest

from services.common.lawdates import add_months, today
from services.common.topics import (
    APPLICATIONS,
    DEAD_LETTER,
    INBOUND_APPLICATIONS,
    RECORD_REPAIRED,
    RECORDS,
    REPAIR_CHANGED,
    REPAIR_OPENED,
    REPAIR_REQUESTED,
)
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import determination, event, evidence, new_uscc, report_data
from tests.support.kafka import collect, original_id, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
TEST_COUNTY = "410399"  # tests/fixtures/policies: no repair wait
LUOYANG_COUNTY = "410322"  # the six months of Luoyang
RECORDER = bearer("finance_officer", "410300", "410300", sub="recorder-1")
REVIEWER = bearer("finance_officer", "410300", "410300", sub="reviewer-1")
COMMITMENT = "我单位已对业绩证明材料问题全面整改，承诺今后如实提供投标材料。"


def subject(supplier: str, region: str = TEST_COUNTY) -> dict[str, str]:
    return bearer("subject", supplier, region)


async def make_record(api: httpx.AsyncClient, *, region: str = TEST_COUNTY, serious: bool = False) -> tuple[str, str]:
    supplier = new_uscc()
    data = report_data(
        subject_id=supplier,
        code="SUP-S-01" if serious else "SUP-G-01",
        reporter_type="finance",
        region=region,
        determination=determination() if serious else None,
    )
    r = await api.post("/v1/reports", json=data, headers=RECORDER)
    assert r.status_code == 201, r.text
    return supplier, r.json()["record_id"]


async def repair_of(api: httpx.AsyncClient, supplier: str, record_id: str, region: str = TEST_COUNTY) -> dict:
    """The record's repair once the repair service's replica has it (it follows credit.records)."""

    async def get() -> httpx.Response:
        return await api.get("/v1/repairs", params={"record_id": record_id}, headers=subject(supplier, region))

    r = await eventually(get, until=lambda r: r.status_code != 404, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


async def open_window(api: httpx.AsyncClient, supplier: str, record_id: str) -> dict:
    await repair_of(api, supplier, record_id)

    async def get() -> dict:
        return await repair_of(api, supplier, record_id)

    return await eventually(get, until=lambda b: b["window"]["state"] == "open", timeout=60)


def application(record_id: str, **overrides: object) -> dict:
    return {"record_id": record_id, "commitment": COMMITMENT, "evidence": evidence(1)} | overrides


async def apply(api: httpx.AsyncClient, supplier: str, record_id: str, *, key: str | None = None) -> httpx.Response:
    headers = subject(supplier) | ({"Idempotency-Key": key} if key else {})
    body = application(record_id)
    if key:
        # A retry under the same key sends the same body (another body is a 409 conflict).
        body["evidence"] = [{"kind": "photo", "uri": f"https://evidence.example/e/{key}.jpg", "sha256": "0" * 64}]
    return await api.post("/v1/repairs", json=body, headers=headers)


async def review_task(api: httpx.AsyncClient, record_id: str, *, count: int = 1) -> dict:
    async def tasks() -> list[dict]:
        r = await api.get("/v1/tasks", params={"record_id": record_id, "kind": "repair_review"}, headers=REVIEWER)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    items = await eventually(tasks, until=lambda items: len(items) == count, timeout=60)
    return sorted(items, key=lambda t: t["created_at"])[-1]


async def decide(api: httpx.AsyncClient, task_id: str, body: dict) -> None:
    r = await api.post(f"/v1/tasks/{task_id}/claim", headers=REVIEWER)
    assert r.status_code == 200, r.text
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=REVIEWER)
    assert r.status_code == 200, r.text


async def state_of(api: httpx.AsyncClient, supplier: str, application_id: str, state: str) -> dict:
    async def get() -> dict:
        r = await api.get(f"/v1/repairs/{application_id}", headers=subject(supplier))
        assert r.status_code == 200, r.text
        return r.json()

    return await eventually(get, until=lambda a: a["state"] == state, timeout=60)


async def credit_of(api: httpx.AsyncClient, supplier: str) -> dict:
    r = await api.get(f"/v1/credit/supplier/{supplier}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_application_review_approve_repairs_the_record(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api)
    await eventually(lambda: credit_of(api, supplier), until=lambda b: bool(b["records_in_force"]))
    window = (await open_window(api, supplier, record_id))["window"]
    assert (window["repairable"], window["may_apply_now"], window["opens_on"]) == (True, True, today().isoformat())
    opened = await collect(
        stack.bootstrap,
        APPLICATIONS,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == REPAIR_OPENED and e["data"]["record_id"] == record_id,
    )
    assert opened[0]["data"]["subject"]["id"] == supplier

    key = str(uuid.uuid4())
    r = await apply(api, supplier, record_id, key=key)
    assert r.status_code == 202, r.text
    submitted = r.json()
    assert (submitted["state"], submitted["record_id"], submitted["commitment"]) == ("submitted", record_id, COMMITMENT)
    retry = await apply(api, supplier, record_id, key=key)
    assert retry.status_code == 200 and retry.json()["id"] == submitted["id"]
    twice = await apply(api, supplier, record_id)
    assert twice.status_code == 409 and twice.json()["code"] == "application_open"
    assert twice.json()["application_id"] == submitted["id"]

    task = await review_task(api, record_id)
    assert (task["kind"], task["region"]) == ("repair_review", TEST_COUNTY)
    await state_of(api, supplier, submitted["id"], "under_review")
    await decide(api, task["id"], {"decision": "approve", "reason": "已整改到位，符合修复条件", "opinion": "同意修复"})

    repaired = await collect(
        stack.bootstrap,
        RECORDS,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == RECORD_REPAIRED and e["data"]["record_id"] == record_id,
        timeout=60,
    )
    assert repaired[0]["data"]["status"] == "repaired"
    done = await state_of(api, supplier, submitted["id"], "approved")
    assert (done["reason"], done["opinion"], done["decided_by"]) == (
        "已整改到位，符合修复条件",
        "同意修复",
        "reviewer-1",
    )
    assert [h["state"] for h in done["history"]] == ["submitted", "under_review", "approved"]
    public = await eventually(lambda: credit_of(api, supplier), until=lambda b: not b["records_in_force"])
    assert public["grade"] == "good"
    # The integrity archive: the record's history keeps the repair with its reason and opinion.
    record = (await api.get(f"/v1/records/{record_id}", headers=REVIEWER)).json()
    assert [h["change"] for h in record["history"]] == ["created", "repaired"]
    changes = await collect(
        stack.bootstrap,
        APPLICATIONS,
        lambda kept: len(kept) >= 3,
        match=lambda e: e["type"] == REPAIR_CHANGED and e["data"]["application_id"] == submitted["id"],
    )
    assert [c["data"]["state"] for c in changes] == ["submitted", "under_review", "approved"]
    assert all("evidence" not in c["data"] for c in changes)
    # Repaired once is repaired for good.
    again = await apply(api, supplier, record_id)
    assert again.status_code == 409 and again.json()["code"] == "already_repaired"
    # Finance of the region follows it too; another subject does not see it.
    assert (await api.get(f"/v1/repairs/{submitted['id']}", headers=REVIEWER)).status_code == 200
    other = await api.get(f"/v1/repairs/{submitted['id']}", headers=subject(new_uscc()))
    assert other.status_code == 404


async def test_rejected_then_applied_again(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api)
    await open_window(api, supplier, record_id)
    first = (await apply(api, supplier, record_id)).json()
    task = await review_task(api, record_id)
    await decide(api, task["id"], {"decision": "reject", "reason": "整改报告缺少佐证", "opinion": "补充后可再申请"})
    rejected = await state_of(api, supplier, first["id"], "rejected")
    assert (rejected["reason"], rejected["opinion"]) == ("整改报告缺少佐证", "补充后可再申请")

    second = await apply(api, supplier, record_id)
    assert second.status_code == 202, second.text
    await review_task(api, record_id, count=2)
    await state_of(api, supplier, second.json()["id"], "under_review")
    listing = await repair_of(api, supplier, record_id)
    assert [a["state"] for a in listing["applications"]] == ["under_review", "rejected"]


async def test_refusals_over_http(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api)
    await open_window(api, supplier, record_id)
    early_supplier, early_record = await make_record(api, region=LUOYANG_COUNTY)
    serious_supplier, serious_record = await make_record(api, serious=True)
    await repair_of(api, early_supplier, early_record, LUOYANG_COUNTY)
    await repair_of(api, serious_supplier, serious_record)

    async def refused(body: dict, headers: dict) -> dict:
        r = await api.post("/v1/repairs", json=body, headers=headers)
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        return {"status": r.status_code, **r.json()}

    stranger = await refused(application(record_id), subject(new_uscc()))
    assert (stranger["status"], stranger["code"]) == (403, "not_your_record")
    finance = await refused(application(record_id), REVIEWER)
    assert (finance["status"], finance["code"]) == (403, "forbidden")
    bare = await refused(application(record_id, commitment=""), subject(supplier))
    assert (bare["status"], bare["code"]) == (422, "commitment_required")
    unknown = await refused(application("rec-does-not-exist"), subject(supplier))
    assert (unknown["status"], unknown["code"]) == (404, "record_not_found")
    serious = await refused(application(serious_record), subject(serious_supplier))
    assert (serious["status"], serious["code"]) == (422, "not_repairable")
    early = await refused(application(early_record), subject(early_supplier, LUOYANG_COUNTY))
    assert (early["status"], early["code"]) == (409, "too_early")
    # The day after the half-year (issue 16 point 9).
    assert early["earliest"] == (add_months(today(), 6) + timedelta(days=1)).isoformat()
    assert early["type"].endswith("/too_early")
    # The serious record has no repair at all under Luoyang's rules.
    window = (await repair_of(api, serious_supplier, serious_record))["window"]
    assert (window["repairable"], window["state"], window["refusal"]["code"]) == (False, "closed", "not_repairable")


async def test_kafka_applications_and_refusals_dead_lettered(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api)
    await open_window(api, supplier, record_id)
    early_supplier, early_record = await make_record(api, region=LUOYANG_COUNTY)
    await repair_of(api, early_supplier, early_record, LUOYANG_COUNTY)

    def request(record: str, applicant: str, **overrides: object) -> dict:
        data = {
            "record_id": record,
            "applicant": {"type": "supplier", "id": applicant, "name": "洛阳某某科技有限公司"},
            "commitment": COMMITMENT,
            "evidence": evidence(1),
        } | overrides
        return event(data, type=REPAIR_REQUESTED, source="urn:portal:luoyang")

    cases = {
        "record_not_found": request("rec-nowhere", supplier),
        "not_your_record": request(record_id, new_uscc()),
        "commitment_required": request(record_id, supplier, commitment=" "),
        "too_early": request(early_record, early_supplier),
        "invalid_data": request(record_id, supplier, evidence="none"),
    }
    accepted = request(record_id, supplier)
    key_of = lambda e: e["data"]["applicant"]["id"]  # noqa: E731 - the subject is the key (CONTRACT §1)
    await produce(stack.bootstrap, INBOUND_APPLICATIONS, [*cases.values(), accepted, accepted], key_of=key_of)

    ids = {e["id"]: reason for reason, e in cases.items()}
    dead = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= len(ids),
        # Other tests' dead letters share the topic; an unparseable one carries its value as text.
        match=lambda e: original_id(e) in ids,
        timeout=60,
    )
    assert {d["data"]["original"]["value"]["id"]: d["data"]["reason"] for d in dead} == ids
    # The accepted one (sent twice) is one application, reviewed like any other.
    await review_task(api, record_id)
    listing = await repair_of(api, supplier, record_id)
    assert [(a["state"], a["applicant"]["id"]) for a in listing["applications"]] == [("under_review", supplier)]
    assert not [d for d in dead if d["data"]["original"]["value"]["id"] == accepted["id"]]
