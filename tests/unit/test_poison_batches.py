"""`apply_batch` on SQLite with the errors asyncpg raises (`services.common.sql` runs statements on
the driver connection, so they arrive unwrapped): a message refused every time is tried a bounded
number of times, then dead-lettered `processing_failed` with its error class, and the next message
is applied; an outage is raised so the batch is consumed again."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.batches import apply_batch
from services.common.db import create_tables, make_engine
from services.common.db_errors import is_transient
from services.common.inbound import from_http
from services.common.messaging import messaging_tables

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
MESSAGING = messaging_tables("poisontest")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'poison.db'}")
    await create_tables(eng, MESSAGING.all)
    try:
        yield eng
    finally:
        await eng.dispose()


def _item(text: str):  # type: ignore[no-untyped-def]
    return from_http(
        role="purchaser", org="x", event_type="t", data={"description": text}, key="k", idempotency_key=text, now=NOW
    )


class Apply:
    """Applies each item by marking it processed; refuses `poison` with `error` every time."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls: list[list[str]] = []

    async def __call__(self, conn: AsyncConnection, batch: list) -> list[str]:
        ids = [i.envelope.id for i in batch]
        self.calls.append(ids)
        if "poison" in ids:
            raise self.error
        await conn.execute(
            MESSAGING.processed.insert(),
            [{"source": i.identity[0], "event_id": i.identity[1], "outcome": "ok", "processed_at": NOW} for i in batch],
        )
        return ids


async def _run(engine: AsyncEngine, apply: Apply, ids: list[str]) -> list:
    return await apply_batch(
        engine,
        [_item(i) for i in ids],
        apply,
        processed=MESSAGING.processed,
        outbox=MESSAGING.outbox,
        source="urn:test",
        now=NOW,
        attempts=3,
        backoff_seconds=0,
    )


async def test_raw_asyncpg_refusal_is_dead_lettered_after_bounded_attempts(engine: AsyncEngine) -> None:
    refusal = asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')
    apply = Apply(refusal)
    results = await _run(engine, apply, ["first", "poison", "next"])
    assert results == [["first"], ["next"]]
    # The batch once, then one by one: the poison three times, its neighbours once each.
    assert apply.calls.count(["poison"]) == 3
    async with engine.connect() as conn:
        t = MESSAGING.processed
        outcomes = dict((await conn.execute(select(t.c.event_id, t.c.outcome))).all())
        payloads = (await conn.execute(select(MESSAGING.outbox.c.payload))).scalars().all()
    assert outcomes == {"first": "ok", "poison": "rejected", "next": "ok"}
    (dead,) = [orjson.loads(p) for p in payloads]
    assert dead["data"]["reason"] == "processing_failed"
    assert dead["data"]["error_class"] == "CharacterNotInRepertoireError"
    assert "CharacterNotInRepertoireError" in dead["data"]["message"]


async def test_python_error_of_one_message_is_dead_lettered_too(engine: AsyncEngine) -> None:
    apply = Apply(KeyError("subject"))
    assert await _run(engine, apply, ["poison", "next"]) == [["next"]]
    async with engine.connect() as conn:
        (payload,) = (await conn.execute(select(MESSAGING.outbox.c.payload))).scalars().all()
    assert orjson.loads(payload)["data"]["error_class"] == "KeyError"


async def test_outage_is_raised_not_dead_lettered(engine: AsyncEngine) -> None:
    apply = Apply(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"))
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        await _run(engine, apply, ["poison", "next"])
    async with engine.connect() as conn:
        assert (await conn.execute(select(MESSAGING.outbox.c.seq))).all() == []


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (asyncpg.exceptions.CannotConnectNowError("starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating"), True),
        (asyncpg.exceptions.SerializationError("could not serialize"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (asyncpg.exceptions.InterfaceError("cannot perform operation: connection is closed"), True),
        (asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"), False),
        (asyncpg.exceptions.StringDataRightTruncationError("value too long"), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (asyncpg.exceptions.RaiseError("refused by a trigger"), False),
        (ValueError("bad"), False),
    ],
)
def test_transient_or_the_message(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
