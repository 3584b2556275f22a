"""Objections on the real components (issue 4): a record made by one finance officer, the subject's
appeal over HTTP or Kafka, the review task in the casework queue decided by another officer, and
the correction reaching the public status and the blacklist."""

import uuid

import httpx
import pytest

from services.common.topics import (
    APPEAL_CHANGED,
    APPEAL_FILED,
    APPLICATIONS,
    DEAD_LETTER,
    INBOUND_APPLICATIONS,
    RECORD_APPEALED,
    RECORD_CORRECTED,
    RECORD_UPHELD,
    RECORDS,
)
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import determination, event, evidence, new_uscc, report_data
from tests.support.kafka import collect, original_id, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
COUNTY = "410322"
RECORDER = bearer("finance_officer", "410300", "410300", sub="officer-a")
REVIEWER = bearer("finance_officer", "410300", "410300", sub="officer-b")
GROUNDS = "处罚所依据的投标文件并非我公司提交，见公证书及平台登录日志"


async def make_record(api: httpx.AsyncClient, *, serious: bool) -> tuple[str, str]:
    """A record made over HTTP by officer-a of Luoyang, so the record names its recorder."""
    supplier = new_uscc()
    data = report_data(
        subject_id=supplier,
        code="SUP-S-01" if serious else "SUP-G-01",
        reporter_type="finance",
        region=COUNTY,
        determination=determination() if serious else None,
    )
    r = await api.post("/v1/reports", json=data, headers=RECORDER)
    assert r.status_code == 201, r.text
    return supplier, r.json()["record_id"]


async def credit_of(api: httpx.AsyncClient, supplier: str) -> dict:
    r = await api.get(f"/v1/credit/supplier/{supplier}")
    assert r.status_code == 200, r.text
    return r.json()


def appeal_body(record_id: str, **overrides: object) -> dict:
    return {"record_id": record_id, "grounds": GROUNDS, "evidence": evidence(2)} | overrides


async def post_appeal(api: httpx.AsyncClient, supplier: str, body: dict) -> httpx.Response:
    """POST until the appeal service's replica has the record (it follows credit.records)."""

    async def attempt() -> httpx.Response:
        return await api.post("/v1/appeals", json=body, headers=bearer("subject", supplier, COUNTY))

    return await eventually(attempt, until=lambda r: r.status_code != 404, timeout=60)


async def review_task(api: httpx.AsyncClient, record_id: str) -> dict:
    async def tasks() -> list[dict]:
        r = await api.get("/v1/tasks", params={"record_id": record_id, "kind": "appeal_review"}, headers=REVIEWER)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    (task,) = await eventually(tasks, until=lambda items: len(items) == 1, timeout=60)
    return task


async def appeal_state(api: httpx.AsyncClient, supplier: str, appeal_id: str, state: str) -> dict:
    async def get() -> dict:
        r = await api.get(f"/v1/appeals/{appeal_id}", headers=bearer("subject", supplier, COUNTY))
        assert r.status_code == 200, r.text
        return r.json()

    return await eventually(get, until=lambda a: a["state"] == state, timeout=60)


async def record_events(stack: Stack, record_id: str, event_type: str) -> list[dict]:
    return await collect(
        stack.bootstrap,
        RECORDS,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == event_type and e["data"]["record_id"] == record_id,
        timeout=60,
    )


async def test_appeal_corrected_withdraws_the_record_everywhere(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api, serious=True)
    await eventually(lambda: credit_of(api, supplier), until=lambda b: b["blacklisted"])

    filed = await post_appeal(api, supplier, appeal_body(record_id))
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert (appeal["state"], appeal["record_id"], appeal["evidence_count"]) == ("filed", record_id, 2)
    again = await api.post("/v1/appeals", json=appeal_body(record_id), headers=bearer("subject", supplier, COUNTY))
    assert again.status_code == 409 and again.json()["code"] == "appeal_open"
    assert again.json()["appeal_id"] == appeal["appeal_id"]

    task = await review_task(api, record_id)
    assert task["region"] == COUNTY and task["links"]["appeal"] == f"/v1/appeals/{appeal['appeal_id']}"
    # The appellant was told the review task's own due date (the task opened on the filing day).
    assert (appeal["review_due_on"], appeal["review_due_provisional"]) == (task["due_on"], task["provisional"])
    # Under objection, the record stays in force and published, marked (行政复议期间不停止执行).
    await record_events(stack, record_id, RECORD_APPEALED)
    public = await eventually(
        lambda: credit_of(api, supplier),
        until=lambda b: bool(b["records_in_force"]) and b["records_in_force"][0]["under_objection"],
    )
    assert public["blacklisted"] is True

    # The officer who recorded it may neither claim nor decide the review.
    for action in ("claim", "complete"):
        r = await api.post(
            f"/v1/tasks/{task['id']}/{action}", json={"decision": "uphold", "reason": "x"}, headers=RECORDER
        )
        assert r.status_code == 403 and r.json()["code"] == "conflict_of_interest", r.text

    claimed = await api.post(f"/v1/tasks/{task['id']}/claim", headers=REVIEWER)
    assert claimed.status_code == 200, claimed.text
    reason = "经核查，投标文件系他人冒用我公司名义提交，原记录有误，予以撤销"
    done = await api.post(
        f"/v1/tasks/{task['id']}/complete", json={"decision": "correct", "reason": reason}, headers=REVIEWER
    )
    assert done.status_code == 200, done.text

    decided = await appeal_state(api, supplier, appeal["appeal_id"], "corrected")
    assert (decided["decision"], decided["reason"], decided["record_status"]) == ("correct", reason, "withdrawn")
    (corrected,) = await record_events(stack, record_id, RECORD_CORRECTED)
    assert corrected["data"]["status"] == "withdrawn" and corrected["data"]["appeal"] is None
    public = await eventually(
        lambda: credit_of(api, supplier), until=lambda b: not b["records_in_force"] and not b["blacklisted"]
    )
    assert public["may_participate"] is True
    listed = (await api.get("/v1/blacklist", params={"region": "410300", "limit": 500})).json()
    assert supplier not in {x["subject"]["id"] for x in listed["entries"]}
    # The record keeps its history: the old versions stay, the withdrawal is the current one.
    full = (await api.get(f"/v1/records/{record_id}", headers=REVIEWER)).json()
    assert full["status"] == "withdrawn"
    assert [h["change"] for h in full["history"]][:2] == ["created", "appealed"]
    states = await collect(
        stack.bootstrap,
        APPLICATIONS,
        lambda kept: len(kept) >= 3,
        match=lambda e: e["type"] == APPEAL_CHANGED and e["data"]["appeal_id"] == appeal["appeal_id"],
        timeout=60,
    )
    assert [e["data"]["state"] for e in states] == ["filed", "under_review", "corrected"]
    assert all("evidence" not in e["data"] and "grounds" not in e["data"] for e in states)


async def test_appeal_upheld_keeps_the_record_and_removes_the_mark(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api, serious=False)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = appeal_body(record_id)  # a retry under the same key sends the same body

    async def attempt() -> httpx.Response:
        headers = {**bearer("subject", supplier, COUNTY), **key}
        return await api.post("/v1/appeals", json=body, headers=headers)

    first = await eventually(attempt, until=lambda r: r.status_code != 404, timeout=60)
    assert first.status_code == 201, first.text
    retried = await attempt()  # the same Idempotency-Key: the same appeal
    assert retried.status_code == 200 and retried.json()["appeal_id"] == first.json()["appeal_id"]
    appeal_id = first.json()["appeal_id"]

    task = await review_task(api, record_id)
    assert (await api.post(f"/v1/tasks/{task['id']}/claim", headers=REVIEWER)).status_code == 200
    reason = "所附公证书与本项目无关，不能证明记录有误"
    done = await api.post(
        f"/v1/tasks/{task['id']}/complete", json={"decision": "uphold", "reason": reason}, headers=REVIEWER
    )
    assert done.status_code == 200, done.text

    decided = await appeal_state(api, supplier, appeal_id, "upheld")
    assert (decided["decision"], decided["reason"], decided["record_status"]) == ("uphold", reason, "in_force")
    (upheld,) = await record_events(stack, record_id, RECORD_UPHELD)
    assert upheld["data"]["status"] == "in_force" and upheld["data"]["appeal"] is None
    public = await eventually(
        lambda: credit_of(api, supplier),
        until=lambda b: bool(b["records_in_force"]) and not b["records_in_force"][0]["under_objection"],
    )
    assert public["records_in_force"][0]["record_id"] == record_id
    # Finance of the region sees who decided; another subject sees nothing.
    finance_view = (await api.get(f"/v1/appeals/{appeal_id}", headers=REVIEWER)).json()
    assert finance_view["decided_by"] == "officer-b"
    other = await api.get(f"/v1/appeals/{appeal_id}", headers=bearer("subject", new_uscc(), COUNTY))
    assert other.status_code == 404


async def test_appeals_refused(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api, serious=False)
    subject = bearer("subject", supplier, COUNTY)
    # 谁申请、谁举证: no evidence, no grounds.
    r = await api.post("/v1/appeals", json=appeal_body(record_id, evidence=[]), headers=subject)
    assert r.status_code == 422 and r.json()["code"] == "evidence_required", r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await api.post("/v1/appeals", json=appeal_body(record_id, grounds=""), headers=subject)
    assert r.status_code == 422 and r.json()["code"] == "grounds_required", r.text
    # Another subject's appeal, once the replica knows the record.
    other = new_uscc()
    r = await post_appeal(api, other, appeal_body(record_id))
    assert r.status_code == 403 and r.json()["code"] == "not_subject", r.text
    # Acting as the subject with another subject's token.
    r = await api.post(
        "/v1/appeals", json=appeal_body(record_id, applicant={"id": supplier}), headers=bearer("subject", other, COUNTY)
    )
    assert r.status_code == 403 and r.json()["code"] == "applicant_mismatch", r.text
    r = await api.post("/v1/appeals", json=appeal_body(f"rec-{uuid.uuid4()}"), headers=subject)
    assert r.status_code == 404 and r.json()["code"] == "record_not_found"
    # A finance officer is not a subject: the role is refused.
    r = await api.post("/v1/appeals", json=appeal_body(record_id), headers=REVIEWER)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_appeal_over_kafka_same_path(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api, serious=False)
    applicant = {"type": "supplier", "id": supplier, "name": "洛阳某某科技有限公司"}
    # Wait until the replica has the record (the HTTP path answers 404 before).
    probe = await post_appeal(api, supplier, appeal_body(record_id, evidence=[], grounds=GROUNDS))
    assert probe.json()["code"] == "evidence_required"
    r = await post_appeal(api, new_uscc(), appeal_body(record_id))
    assert r.json()["code"] == "not_subject"

    bad = event({"record_id": record_id, "applicant": applicant, "grounds": GROUNDS, "evidence": []}, type=APPEAL_FILED)
    good = event(
        {"record_id": record_id, "applicant": applicant, "grounds": GROUNDS, "evidence": evidence(1)}, type=APPEAL_FILED
    )
    twin = event(good["data"], type=APPEAL_FILED)  # another event: the record has an open appeal by then
    await produce(stack.bootstrap, INBOUND_APPLICATIONS, [bad, good, good, twin], key_of=lambda e: supplier)

    dead = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 2,
        match=lambda e: original_id(e) in (bad["id"], twin["id"]),
        timeout=60,
    )
    reasons = {original_id(e): e["data"]["reason"] for e in dead}
    assert reasons == {bad["id"]: "evidence_required", twin["id"]: "appeal_open"}
    task = await review_task(api, record_id)  # one appeal, one review, although `good` came twice
    full = (await api.get(f"/v1/tasks/{task['id']}", headers=REVIEWER)).json()
    assert full["context"]["applicant"]["id"] == supplier and full["context"]["grounds"] == GROUNDS
    assert full["excluded_officers"] == ["officer-a"]
