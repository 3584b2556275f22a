"""Issue 14 on the real stack (Tansu, PostgreSQL, Temporal, every service): signals open cases,
never records by themselves. Three bids compiled on one machine → one `collusion.suspected.v1`, no
record, one `collusion_triage` task; `refer` → SUP-S-08 determination tasks → `determine` → listed; three
unfounded complaints within 12 months → a SUP-S-15 determination task in casework; two, or three
over 13 months → none; a breached commitment → a determination task → `determine` → listed."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.common.cloudevents import build_event
from services.common.topics import (
    AWARD_NOTIFIED,
    BID_SUBMITTED,
    COLLUSION_SUSPECTED,
    COMMITMENT_BREACHED,
    COMMITMENT_MADE,
    COMPLAINT_DECIDED,
    INBOUND_APPLICATIONS,
    INBOUND_PROCUREMENT,
    RECORDS,
    WARNINGS,
)
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import PURCHASER_ID, determination, new_uscc
from tests.support.kafka import collect, drain, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected

CITY = bearer("finance_officer", "410300", "410300", sub="signals-officer")
PLATFORM = "urn:platform:luoyang-ggzy"


def event(type_: str, data: dict) -> dict:
    return build_event(type=type_, source=PLATFORM, data=data, id=str(uuid.uuid4()))


async def tasks_of(api: httpx.AsyncClient, subject_id: str) -> list[dict]:
    r = await api.get("/v1/tasks", params={"q": subject_id, "state": "active", "limit": 100}, headers=CITY)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def determine_and_list(api: httpx.AsyncClient, task_id: str, region: str) -> None:
    """The normal path: claim, `determine`, then confirm the listing (issue 16 point 5)."""
    assert (await api.post(f"/v1/tasks/{task_id}/claim", headers=CITY)).status_code == 200
    body = {"decision": "determine", "reason": "查证属实", "determination": determination()}
    r = await api.post(f"/v1/tasks/{task_id}/complete", json=body, headers=CITY)
    assert r.status_code == 200, r.text
    listing_id = f"{task_id}:listing"
    await eventually(
        lambda: api.get(f"/v1/tasks/{listing_id}", headers=CITY), until=lambda r: r.status_code == 200, timeout=60
    )
    assert (await api.post(f"/v1/tasks/{listing_id}/claim", headers=CITY)).status_code == 200
    r = await api.post(f"/v1/tasks/{listing_id}/complete", json={"decision": "confirm", "reason": "确认"}, headers=CITY)
    assert r.status_code == 200, r.text


async def listed(api: httpx.AsyncClient, region: str) -> set[str]:
    page = (await api.get("/v1/blacklist", params={"region": region, "limit": 500})).json()
    return {e["subject"]["id"] for e in page["entries"]}


async def test_three_bids_from_one_machine_give_one_suspicion_and_no_record_refer_lists_them(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    code = f"LYCG-{uuid.uuid4().hex[:8]}"
    fact = {
        "project": {"code": code, "name": "办公设备采购项目"},
        "region": "410302",
        "purchaser": {"id": PURCHASER_ID, "name": "采购人"},
        "at": datetime.now(UTC).isoformat(),
    }
    suppliers = [new_uscc() for _ in range(4)]
    bids = [
        event(
            BID_SUBMITTED,
            {
                **fact,
                "supplier": {"id": s, "name": f"供应商{n}"},
                "price": price,
                "document_fingerprint": f"fp-{n}",
                "document": {"sha256": uuid.uuid4().hex * 2, "machine_id": "MACHINE-1" if n < 3 else f"M-{n}"},
            },
        )
        for n, (s, price) in enumerate(zip(suppliers, ("901234", "955555", "987001", "1000000"), strict=True))
    ]
    award = event(AWARD_NOTIFIED, {**fact, "supplier": {"id": suppliers[0], "name": "供应商0"}, "amount": "901234"})
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, [*bids, award, award], key_of=lambda e: code)
    found = await collect(
        stack.bootstrap,
        WARNINGS,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["data"].get("project", {}).get("code") == code,
    )
    (suspicion,) = found
    assert suspicion["type"] == COLLUSION_SUSPECTED
    assert sorted(s["id"] for s in suspicion["data"]["suppliers"]) == sorted(suppliers[:3])
    assert [i["code"] for i in suspicion["data"]["indicators"]] == ["same_machine"]
    # A signal, never a record.
    records = await drain(stack.bootstrap, RECORDS, match=lambda e: e["data"].get("subject", {}).get("id") in suppliers)
    assert records == []
    assert (
        len(await drain(stack.bootstrap, WARNINGS, match=lambda e: e["data"].get("project", {}).get("code") == code))
        == 1
    )
    # One collusion_triage task; `refer` asks for a SUP-S-08 determination of each chosen supplier.
    triage_id = suspicion["data"]["task_id"]
    triage = await eventually(
        lambda: api.get(f"/v1/tasks/{triage_id}", headers=CITY), until=lambda r: r.status_code == 200, timeout=60
    )
    assert triage.json()["kind"] == "collusion_triage"
    assert (await api.post(f"/v1/tasks/{triage_id}/claim", headers=CITY)).status_code == 200
    stranger = {"decision": "refer", "reason": "同一台电脑编制", "suppliers": [suppliers[3]]}
    r = await api.post(f"/v1/tasks/{triage_id}/complete", json=stranger, headers=CITY)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_request")  # not of the group
    body = {"decision": "refer", "reason": "同一台电脑编制", "suppliers": suppliers[:3]}
    r = await api.post(f"/v1/tasks/{triage_id}/complete", json=body, headers=CITY)
    assert r.status_code == 200, r.text
    for supplier in suppliers[:3]:
        (task,) = await eventually(lambda s=supplier: tasks_of(api, s), until=lambda t: len(t) == 1, timeout=60)
        assert task["kind"] == "determination"
        detail = (await api.get(f"/v1/tasks/{task['id']}", headers=CITY)).json()
        assert "SUP-S-08" in str(detail) and "same_machine" in str(detail)  # the indicators as evidence
        await determine_and_list(api, task["id"], "410302")
    await eventually(lambda: listed(api, "410302"), until=lambda s: set(suppliers[:3]) <= s, timeout=60)
    assert suppliers[3] not in await listed(api, "410302")


def complaint(complainant: str, n: int, decided_on: str) -> dict:
    return event(
        COMPLAINT_DECIDED,
        {
            "project": {"code": f"P-{uuid.uuid4().hex[:6]}", "name": "项目"},
            "region": "410302",
            "complaint_no": f"TS-{complainant[-6:]}-{n}",
            "complainant": {"type": "supplier", "id": complainant, "name": "投诉人公司"},
            "decided_on": decided_on,
            "outcome": "unfounded",
        },
    )


async def test_three_unfounded_complaints_in_12_months_open_a_sup_s_15_task_two_or_13_months_none(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    two, spread, three = new_uscc(), new_uscc(), new_uscc()
    events = [
        complaint(two, 1, "2026-01-10"),
        complaint(two, 2, "2026-05-10"),
        complaint(spread, 1, "2025-10-01"),
        complaint(spread, 2, "2026-04-01"),
        complaint(spread, 3, "2026-11-02"),  # 13 months after the first
        complaint(three, 1, "2026-01-10"),
        complaint(three, 2, "2026-05-10"),
        complaint(three, 3, "2026-11-10"),
    ]
    # One key: one partition, in order; the last complainant's task shows the others were read.
    await produce(stack.bootstrap, INBOUND_PROCUREMENT, events, key_of=lambda e: "complaints")
    (task,) = await eventually(lambda: tasks_of(api, three), until=lambda t: len(t) == 1, timeout=60)
    assert (task["kind"], task["region"]) == ("determination", "410302")
    detail = (await api.get(f"/v1/tasks/{task['id']}", headers=CITY)).json()
    assert "SUP-S-15" in str(detail)
    assert await tasks_of(api, two) == [] and await tasks_of(api, spread) == []


async def test_a_breached_commitment_opens_a_determination_task(stack: Stack, api: httpx.AsyncClient) -> None:
    subject = {"type": "supplier", "id": new_uscc(), "name": "承诺人公司"}
    cid = f"CM-{uuid.uuid4().hex[:8]}"
    made = event(
        COMMITMENT_MADE,
        {"commitment_id": cid, "subject": subject, "kind": "bid", "text": "所附资质真实有效", "made_on": "2026-10-01"},
    )
    breached = event(
        COMMITMENT_BREACHED,
        {
            "commitment_id": cid,
            "subject": subject,
            "region": "410302",
            "found_on": "2026-11-20",
            "finding": "资质证书系伪造",
        },
    )
    await produce(stack.bootstrap, INBOUND_APPLICATIONS, [made, breached], key_of=lambda e: cid)
    (task,) = await eventually(lambda: tasks_of(api, subject["id"]), until=lambda t: len(t) == 1, timeout=60)
    assert task["kind"] == "determination"
    detail = (await api.get(f"/v1/tasks/{task['id']}", headers=CITY)).json()
    assert "资质证书系伪造" in str(detail)  # the finding travels with the task
    # `determine` ends in a record through the normal path (it recorded nothing before).
    await determine_and_list(api, task["id"], "410302")
    await eventually(lambda: listed(api, "410302"), until=lambda s: subject["id"] in s, timeout=60)
    # The commitment is in the archive, breached, with the record its determination made: at once,
    # or once evaluation's background consumer of the applications has read it (signals read it
    # first, and the officer may decide before; the commitment then takes the record on arrival).
    archive = await eventually(
        lambda: api.get(f"/v1/archive/supplier/{subject['id']}", headers=bearer("subject", subject["id"], "410302")),
        until=lambda r: [c["state"] for c in r.json()["commitments"]] == ["breached"],
        timeout=60,
    )
    (record,) = archive.json()["records"]
    assert record["behaviour"]["code"] == "SUP-S-01"
    (commitment,) = archive.json()["commitments"]
    assert (commitment["commitment_id"], commitment["state"]) == (cid, "breached")
    assert (commitment["record_id"], commitment["finding"]) == (record["record_id"], "资质证书系伪造")
    # ... and in the public status.
    public = await eventually(
        lambda: api.get(f"/v1/credit/supplier/{subject['id']}"),
        until=lambda r: r.status_code == 200 and r.json()["commitments_breached"],
        timeout=60,
    )
    (shown,) = public.json()["commitments_breached"]
    assert (shown["commitment_id"], shown["record_id"]) == (cid, record["record_id"])
