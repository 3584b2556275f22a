"""Expiry on the real stack: the Temporal sweep (dev server) expires a record whose liability ended,
`record.expired.v1` goes out, and the subject leaves the blacklist and public status."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.common.cloudevents import encode_structured, parse_kafka_message
from services.common.db import make_engine
from services.common.inbound import Inbound
from services.common.lawdates import local_date
from services.common.topics import RECORD_EXPIRED, RECORDS
from services.evaluation.intake.ingest import ingest
from tests.conftest import bearer
from tests.stack import Stack
from tests.support.factories import event, new_uscc, report_data
from tests.support.kafka import collect
from tests.support.poll import eventually

pytestmark = pytest.mark.connected


async def test_serious_record_expires_off_the_blacklist(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier = new_uscc()
    # Recorded 400 days ago with a liability that ended two days ago: the sweep owes its expiry.
    recorded = datetime.now(UTC) - timedelta(days=400)
    day = local_date(recorded)
    data = report_data(
        subject_id=supplier,
        code="SUP-S-04",
        reporter_type="finance",
        occurred_on=day - timedelta(days=10),
        determination={
            "decision_no": "洛财购处〔2025〕7号",
            "decided_on": (day - timedelta(days=1)).isoformat(),
            "liability_ends_on": (local_date(datetime.now(UTC)) - timedelta(days=2)).isoformat(),
            "penalty": "一年内禁止参加政府采购活动",
        },
    )
    value, headers = encode_structured(event(data))
    engine = make_engine(stack.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            (outcome,) = await ingest(
                conn, [Inbound(original={}, key=supplier, envelope=parse_kafka_message(value, headers))], now=recorded
            )
    finally:
        await engine.dispose()
    assert outcome.kind == "recorded"

    expired = await collect(
        stack.bootstrap,
        RECORDS,
        lambda kept: len(kept) >= 1,
        match=lambda x: x["type"] == RECORD_EXPIRED and x["data"]["record_id"] == outcome.record_id,
        timeout=60,
    )
    assert expired[0]["data"]["status"] == "expired" and expired[0]["data"]["version"] == 2

    async def public() -> dict:
        return (await api.get(f"/v1/credit/supplier/{supplier}")).json()

    status = await eventually(public, until=lambda b: b["status_version"] >= 2, timeout=30)
    assert status["status"] == "clean" and status["may_participate"] is True and status["records_in_force"] == []
    listed = (await api.get("/v1/blacklist", params={"region": "410300", "limit": 500})).json()
    assert outcome.record_id not in {x["record_id"] for x in listed["entries"]}
    full = (
        await api.get(f"/v1/records/{outcome.record_id}", headers=bearer("finance_officer", "410300", "410300"))
    ).json()
    assert [h["change"] for h in full["history"]] == ["created", "expired"]
    assert full["history"][1]["prev_hash"] == full["history"][0]["hash"]
