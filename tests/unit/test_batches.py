"""The poison-message fallback of services/common/batches.py: a batch the database refuses for its
data is applied message by message; the message that still fails is dead-lettered with reason
`processing_failed` and marked processed, the others are applied, and the partition moves on.
A failure of the database itself is raised, so the batch is consumed again."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.batches import apply_batch
from services.common.cloudevents import build_event, encode_structured
from services.common.db import create_tables, make_engine
from services.common.inbound import Inbound, from_kafka
from services.common.topics import DEAD_LETTER
from services.evaluation.models import MESSAGING, TABLES

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
SOURCE = "urn:credit:test"
THINGS = Table("things", MetaData(), Column("name", String, primary_key=True), Column("value", String, nullable=False))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    e = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'batches.db'}")
    await create_tables(e, TABLES)
    async with e.begin() as conn:
        await conn.run_sync(THINGS.create)
    try:
        yield e
    finally:
        await e.dispose()


def inbound(name: str, value: str | None) -> Inbound:
    event = build_event(type="test.thing.v1", source="urn:eproc:test", data={"name": name, "value": value}, id=name)
    raw, headers = encode_structured(event)
    (item,) = from_kafka([SimpleNamespace(value=raw, headers=headers, key=name.encode())])
    return item


async def store(conn: AsyncConnection, batch: list[Inbound]) -> int:
    # A value of None breaks the NOT NULL constraint: the database refuses the data.
    await conn.execute(insert(THINGS), [i.envelope.data for i in batch if i.envelope])
    return len(batch)


async def run(engine: AsyncEngine, items: list[Inbound], apply=store) -> list:  # type: ignore[no-untyped-def]
    return await apply_batch(
        engine, items, apply, processed=MESSAGING.processed, outbox=MESSAGING.outbox, source=SOURCE, now=NOW
    )


async def table(engine: AsyncEngine, t: Table) -> list[tuple]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(select(t))]


async def processed(engine: AsyncEngine) -> list[tuple]:
    t = MESSAGING.processed
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(select(t.c.source, t.c.event_id, t.c.outcome))]


async def dead_letters(engine: AsyncEngine) -> list[dict]:
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER))
        return [orjson.loads(r.payload) for r in rows]


async def test_a_good_batch_is_applied_in_one_transaction(engine: AsyncEngine) -> None:
    assert await run(engine, [inbound("a", "1"), inbound("b", "2")]) == [2]
    assert sorted(await table(engine, THINGS)) == [("a", "1"), ("b", "2")]
    assert await dead_letters(engine) == []


async def test_a_poison_message_is_dead_lettered_and_the_others_applied(engine: AsyncEngine) -> None:
    assert await run(engine, [inbound("a", "1"), inbound("poison", None), inbound("c", "3")]) == [1, 1]
    assert sorted(await table(engine, THINGS)) == [("a", "1"), ("c", "3")]
    (dead,) = await dead_letters(engine)
    assert dead["data"]["reason"] == "processing_failed"
    assert dead["data"]["original"]["value"]["id"] == "poison"
    assert "NOT NULL" in dead["data"]["message"]
    assert dead["source"] == SOURCE
    # Marked processed, so a redelivery is skipped by the consumer's processed check.
    assert await processed(engine) == [("urn:eproc:test", "poison", "rejected")]


async def test_a_failure_of_the_database_itself_is_raised(engine: AsyncEngine) -> None:
    async def down(conn: AsyncConnection, batch: list[Inbound]) -> int:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(OperationalError):
        await run(engine, [inbound("a", "1")], apply=down)
    assert await dead_letters(engine) == []
    assert await processed(engine) == []
