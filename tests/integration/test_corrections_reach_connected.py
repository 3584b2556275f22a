"""A correction reaches what depended on the record (issue 4) beyond the public status: the expert
pool hears the expert reinstated with the points given back, and the subject's integrity archive
keeps every version with the decision that made it (001 Art. 20; 002 (十), (十一))."""

import httpx
import pytest

from services.common.topics import EXPERTS, event_type
from tests.conftest import bearer
from tests.integration.test_appeals_connected import REVIEWER, appeal_body, appeal_state, review_task
from tests.stack import Stack
from tests.support.factories import report_data
from tests.support.kafka import collect
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
COUNTY = "410322"
RECORDER = bearer("finance_officer", "410300", "410300", sub="officer-a")


async def expert_events(stack: Stack, expert: str, kind: str) -> list[dict]:
    return await collect(
        stack.bootstrap,
        EXPERTS,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == event_type(f"expert.{kind}.v1") and e["data"]["expert"]["id"] == expert,
        timeout=60,
    )


async def test_withdrawing_an_experts_record_reinstates_the_expert(stack: Stack, api: httpx.AsyncClient) -> None:
    expert = "EXP-APPEAL-0001"
    data = report_data(subject_type="expert", subject_id=expert, code="EXP-G-02", reporter_type="finance")
    data["region"] = COUNTY
    made = await api.post("/v1/reports", json=data, headers=RECORDER)
    assert made.status_code == 201, made.text
    record_id = made.json()["record_id"]
    await expert_events(stack, expert, "suspended")
    finance = bearer("finance_officer", "410300", "410300")
    standing = await api.get(f"/v1/experts/{expert}/standing", headers=finance)
    assert standing.json()["score"] is None  # Luoyang: Art. 25 only, no score (issue 16 point 8)

    own = bearer("subject", expert, COUNTY)

    async def file() -> httpx.Response:
        return await api.post("/v1/appeals", json=appeal_body(record_id), headers=own)

    filed = await eventually(file, until=lambda r: r.status_code != 404, timeout=60)
    assert filed.status_code == 201, filed.text
    task = await review_task(api, record_id)
    assert (await api.post(f"/v1/tasks/{task['id']}/claim", headers=REVIEWER)).status_code == 200
    done = await api.post(
        f"/v1/tasks/{task['id']}/complete",
        json={"decision": "correct", "reason": "记录有误，予以撤销"},
        headers=REVIEWER,
    )
    assert done.status_code == 200, done.text

    reinstated = await expert_events(stack, expert, "reinstated")
    assert reinstated[0]["data"]["status"] == "drawable"
    public = await eventually(
        lambda: api.get(f"/v1/credit/expert/{expert}"),
        until=lambda r: r.json()["expert"].get("may_be_drawn") is True,
        timeout=30,
    )
    assert public.json()["records_in_force"] == []
    after = await eventually(
        lambda: api.get(f"/v1/experts/{expert}/standing", headers=finance),
        until=lambda r: r.json()["status"] == "drawable",
        timeout=30,
    )
    assert after.json()["reasons"] == []

    # The integrity archive: created, appealed, corrected (withdrawn) with the reason, for the
    # expert itself and for finance; nobody else.
    await appeal_state(api, expert, filed.json()["appeal_id"], "corrected")
    archive = await api.get(f"/v1/archive/expert/{expert}", headers=own)
    assert archive.status_code == 200, archive.text
    (entry,) = archive.json()["records"]
    changes = [(e["change"], e["status"]) for e in entry["entries"]]
    assert changes == [("created", "in_force"), ("appealed", "in_force"), ("corrected", "withdrawn")]
    assert entry["entries"][-1]["decision"]["reason"] == "记录有误，予以撤销"
    assert "evidence" not in entry and entry["evidence_count"] == 1  # evidence is never in the archive view
    stranger = await api.get(f"/v1/archive/expert/{expert}", headers=bearer("subject", "EXP-OTHER-1", COUNTY))
    assert stranger.status_code == 403
