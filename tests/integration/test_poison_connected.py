"""A message the database refuses every time (issue 21, point 1) on the real broker and PostgreSQL:
it is dead-lettered `processing_failed` with its error class after a bounded number of tries, and
the next message with the same key is recorded (the partition goes on).

The refusal is made by a trigger that raises for a marker in the text, so the test does not depend
on which inputs the edge refuses: before the fix, any error raised by asyncpg itself (a NUL in a
description, a trigger, a check) blocked the partition, re-read forever."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest

from services.common.topics import APPEAL_FILED, DEAD_LETTER, EVENT_REJECTED, INBOUND_APPLICATIONS, INBOUND_BEHAVIOUR
from tests.integration.test_appeals_connected import COUNTY, GROUNDS, RECORDER, appeal_body, make_record, post_appeal
from tests.stack import Stack
from tests.support.factories import event, evidence, new_uscc, report_data
from tests.support.kafka import collect, original_id, produce
from tests.support.poll import eventually

pytestmark = pytest.mark.connected


@asynccontextmanager
async def refusing(stack: Stack, table: str, column: str, marker: str) -> AsyncIterator[None]:
    """While inside, PostgreSQL refuses any row of `table` whose `column` contains `marker`."""
    name = f"refuse_{marker}"
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION 'refused by the test trigger'; END $$"
        )
        await conn.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
            f"WHEN (NEW.{column} LIKE '%{marker}%') EXECUTE FUNCTION {name}()"
        )
        yield
    finally:
        await conn.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        await conn.execute(f"DROP FUNCTION IF EXISTS {name}()")
        await conn.close()


async def _dead_letter_of(stack: Stack, event_id: str) -> dict:
    (dead,) = await collect(
        stack.bootstrap,
        DEAD_LETTER,
        lambda kept: len(kept) >= 1,
        match=lambda e: e["type"] == EVENT_REJECTED and original_id(e) == event_id,
        timeout=60,
    )
    return dead


async def _count(stack: Stack, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_poison_report_is_dead_lettered_and_the_partition_goes_on(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:12]
    supplier = new_uscc()
    poison = event(report_data(subject_id=supplier) | {"description": f"poison {marker}"})
    after = event(report_data(subject_id=supplier))
    async with refusing(stack, "evaluation_record", "description", marker):
        await produce(stack.bootstrap, INBOUND_BEHAVIOUR, [poison, after], key_of=lambda e: supplier)
        dead = await _dead_letter_of(stack, poison["id"])
        recorded = await eventually(
            lambda: _count(stack, "SELECT count(*) FROM evaluation_record WHERE source_event_id = $1", after["id"]),
            until=lambda n: n == 1,
            timeout=60,
        )
    assert recorded == 1
    assert dead["data"]["reason"] == "processing_failed"
    assert dead["data"]["error_class"] == "RaiseError"
    assert "refused by the test trigger" in dead["data"]["message"]
    assert await _count(stack, "SELECT count(*) FROM evaluation_record WHERE source_event_id = $1", poison["id"]) == 0


async def test_poison_appeal_is_dead_lettered_and_the_partition_goes_on(stack: Stack, api: httpx.AsyncClient) -> None:
    supplier, record_id = await make_record(api, serious=False)
    # Wait until the appeal service's replica has the record (another subject's objection to it
    # is refused `not_subject` only once the record is known).
    probe = await post_appeal(api, new_uscc(), appeal_body(record_id))
    assert probe.json()["code"] == "not_subject"
    marker = uuid.uuid4().hex[:12]
    applicant = {"type": "supplier", "id": supplier, "name": "洛阳某某科技有限公司"}
    poison = event(
        {"record_id": record_id, "applicant": applicant, "grounds": f"{GROUNDS} {marker}", "evidence": evidence(1)},
        type=APPEAL_FILED,
    )
    good = event(
        {"record_id": record_id, "applicant": applicant, "grounds": GROUNDS, "evidence": evidence(1)}, type=APPEAL_FILED
    )
    async with refusing(stack, "appeal_appeal", "grounds", marker):
        await produce(stack.bootstrap, INBOUND_APPLICATIONS, [poison, good], key_of=lambda e: supplier)
        dead = await _dead_letter_of(stack, poison["id"])
        assert dead["data"]["reason"] == "processing_failed", dead["data"]
        filed = await eventually(
            lambda: _count(stack, "SELECT count(*) FROM appeal_appeal WHERE source_event_id = $1", good["id"]),
            until=lambda n: n == 1,
            timeout=60,
        )
    assert filed == 1
    assert dead["data"]["reason"] == "processing_failed"
    assert dead["data"]["error_class"] == "RaiseError"


async def test_a_record_the_appeal_replica_refuses_is_dead_lettered_and_its_partition_goes_on(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    # The appeal service's replica of credit.records (outside the intake frame before): a row its
    # database refuses every time used to be re-read forever, so every later record on that
    # partition never reached the replica.
    marker = uuid.uuid4().hex[:12]
    supplier = new_uscc()

    async def record(name: str, code: str) -> str:
        data = report_data(subject_id=supplier, subject_name=name, code=code, reporter_type="finance", region=COUNTY)
        r = await api.post("/v1/reports", json=data, headers=RECORDER)
        assert r.status_code == 201, r.text
        return r.json()["record_id"]

    async with refusing(stack, "appeal_record", "subject_name", marker):
        refused = await record(f"洛阳某某科技有限公司{marker}", "SUP-G-01")
        kept = await record("洛阳某某科技有限公司", "SUP-G-02")  # the same subject: the same key and partition
        (dead,) = await collect(
            stack.bootstrap,
            DEAD_LETTER,
            lambda found: len(found) >= 1,
            match=lambda e: (
                e["type"] == EVENT_REJECTED and e["source"].endswith(":appeal") and _original_record_id(e) == refused
            ),
            timeout=60,
        )
        replicated = await eventually(
            lambda: _count(stack, "SELECT count(*) FROM appeal_record WHERE record_id = $1", kept),
            until=lambda n: n == 1,
            timeout=60,
        )
    assert replicated == 1
    assert (dead["data"]["reason"], dead["data"]["error_class"]) == ("processing_failed", "RaiseError")
    assert await _count(stack, "SELECT count(*) FROM appeal_record WHERE record_id = $1", refused) == 0


def _original_record_id(dead_letter: dict) -> str | None:
    value = dead_letter["data"]["original"].get("value")
    data = value.get("data") if isinstance(value, dict) else None
    return data.get("record_id") if isinstance(data, dict) else None
