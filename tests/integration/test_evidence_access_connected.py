"""Evidence only with an approved, time-limited request, approved by someone else; every read,
refusal, request and approval is audited (002 (十二))."""

import asyncpg
import httpx
import pytest

from tests.conftest import bearer
from tests.support.factories import PURCHASER_ID, report_data
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
ALICE = bearer("finance_officer", "410300", "410300", sub="alice")
BOB = bearer("supervisor", "410300", "410300", sub="bob")
CAROL = bearer("supervisor", "410300", "410300", sub="carol")


@pytest.fixture
async def record_id(api: httpx.AsyncClient) -> str:
    r = await api.post("/v1/reports", json=report_data(), headers=bearer("purchaser", PURCHASER_ID, "410322"))
    return r.json()["record_id"]


async def _record(api: httpx.AsyncClient, record_id: str, who: dict) -> dict:
    return (await api.get(f"/v1/records/{record_id}", headers=who)).json()


async def _audit(api: httpx.AsyncClient, record_id: str) -> list[tuple[str, str]]:
    body = (await api.get("/v1/audit", params={"record_id": record_id}, headers=CAROL)).json()
    return [(e["actor"], e["action"]) for e in reversed(body["entries"])]


async def test_evidence_needs_a_grant_from_someone_else_and_the_grant_expires(
    api: httpx.AsyncClient, record_id: str
) -> None:
    assert "evidence" not in await _record(api, record_id, ALICE)

    request = await api.post(
        f"/v1/records/{record_id}/access-requests", json={"purpose": "核实投诉材料"}, headers=ALICE
    )
    assert request.status_code == 201 and request.json()["state"] == "pending"
    request_id = request.json()["id"]
    # An officer cannot approve; a supervisor of the region can.
    assert (await api.post(f"/v1/access-requests/{request_id}/approve", headers=ALICE)).status_code == 403
    approved = await api.post(f"/v1/access-requests/{request_id}/approve", headers=BOB)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"

    granted = await _record(api, record_id, ALICE)
    assert granted["evidence"][0]["kind"] == "photo" and "evidence" in granted["history"][0]["snapshot"]
    # The grant is Alice's, not her approver's.
    assert "evidence" not in await _record(api, record_id, BOB)

    # The test stack grants for 4 s: afterwards the evidence is withheld again.
    await eventually(lambda: _record(api, record_id, ALICE), until=lambda r: "evidence" not in r, timeout=20)

    log = await _audit(api, record_id)
    assert log[:5] == [
        ("alice", "evidence_withheld"),
        ("alice", "access_requested"),
        ("bob", "access_approved"),
        ("alice", "evidence_read"),
        ("bob", "evidence_withheld"),
    ]
    assert log[-1] == ("alice", "evidence_withheld")


async def test_a_requester_cannot_approve_its_own_request(api: httpx.AsyncClient, record_id: str) -> None:
    request = await api.post(
        f"/v1/records/{record_id}/access-requests", json={"purpose": "复核供应商投诉材料"}, headers=CAROL
    )
    refused = await api.post(f"/v1/access-requests/{request.json()['id']}/approve", headers=CAROL)
    assert refused.status_code == 403 and refused.json()["code"] == "self_approval"
    assert "evidence" not in await _record(api, record_id, CAROL)
    assert ("carol", "approval_refused_own_request") in await _audit(api, record_id)


async def test_the_audit_is_for_supervisors(api: httpx.AsyncClient, record_id: str) -> None:
    assert (await api.get("/v1/audit", params={"record_id": record_id}, headers=ALICE)).status_code == 403
    body = (await api.get("/v1/audit", params={"record_id": record_id}, headers=CAROL)).json()
    assert [c["action"] for c in body["changes"]] == ["record_created"]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE evaluation_audit SET actor = 'nobody'", "DELETE FROM evaluation_audit", "TRUNCATE evaluation_audit"],
)
async def test_the_database_refuses_to_rewrite_the_audit(
    stack, api: httpx.AsyncClient, record_id: str, statement: str
) -> None:  # type: ignore[no-untyped-def]
    await _record(api, record_id, ALICE)  # at least one entry
    conn = await asyncpg.connect(stack.database_url)
    try:
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
    finally:
        await conn.close()
