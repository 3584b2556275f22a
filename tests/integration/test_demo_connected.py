"""Issue 22: the first run's demo data set, loaded through the real API of the real stack, fills the
console's queue (an open determination, an appeal review, an overdue task) and the public answers
(a blacklisted supplier with its one-line summary); loading it again changes nothing."""

import asyncio

import httpx
import pytest

from deploy.local.demo import SUPPLIERS, load
from services.common.settings import DEV_JWT_SECRET, Settings
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.poll import eventually

pytestmark = pytest.mark.connected
OFFICER = bearer("finance_officer", "410300", "410300", sub="demo-check")


async def test_the_demo_data_set_fills_the_console_and_the_public_answer(stack: Stack, api: httpx.AsyncClient) -> None:
    casework_db = Settings(database_url=stack.database_url).database_url_for("casework")
    made = await asyncio.to_thread(load, stack.api, DEV_JWT_SECRET, casework_db)
    assert set(made) == {"general_record", "appeal", "blacklisted_record", "open_determination", "overdue_task"}

    async def blacklisted() -> dict:
        return (await api.get(f"/v1/credit/supplier/{SUPPLIERS['乙']}")).json()

    listed = await eventually(blacklisted, until=lambda b: b.get("blacklisted") is True, timeout=60)
    assert listed["summary_zh"].startswith("列入政府采购严重违法失信名单，禁止参加政府采购活动至")
    assert listed["subject"]["name"].startswith("【演示】")

    async def tasks(**params: str) -> list[dict]:
        r = await api.get("/v1/tasks", params={"q": "演示", **params}, headers=OFFICER)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    queue = await eventually(tasks, until=lambda items: len(items) >= 3, timeout=60)
    assert {t["kind"] for t in queue} >= {"determination", "appeal_review"}
    (late,) = await tasks(overdue="true")
    assert late["id"] == made["overdue_task"] and "演示" in late["title"]
    assert made["open_determination"] in {t["id"] for t in queue}

    again = await asyncio.to_thread(load, stack.api, DEV_JWT_SECRET, casework_db)
    assert again == made  # the same Idempotency-Keys and bodies: answered as the first time
    assert len(await tasks()) == len(queue)
