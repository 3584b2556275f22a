"""The consumer frame (services/common/frame.py) with a toy consumer of training events on SQLite:
what it marks processed, what it dead-letters and with which reason, what it passes over, and what
a handler sees. The consumers built on it have their own tests; this one pins the frame's rules."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import build_event, encode_structured
from services.common.contracts.applications import TRAINING, TrainingCompleted
from services.common.contracts.decode import Typed
from services.common.contracts.owners import EVALUATION, REPAIR
from services.common.db import create_tables, make_engine
from services.common.frame import (
    DUPLICATE,
    NOT_MINE,
    Accepted,
    Batch,
    Consumer,
    Rejected,
    counts,
    handle_batch,
)
from services.common.inbound import Inbound, from_kafka
from services.common.topics import DEAD_LETTER, INBOUND_APPLICATIONS, REPAIR_REQUESTED, TRAINING_COMPLETED
from services.evaluation.models import MESSAGING, TABLES

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
SEEN: list[str] = []


async def completed(event: Typed[TrainingCompleted], batch: Batch) -> Accepted | Rejected:
    SEEN.append(event.data.course)  # typed: the handler reads the model, not a dict
    if event.data.course == "refuse":
        return Rejected("invalid_identifier", "no such expert")
    if event.data.course == "later":
        return Rejected("record_not_found", "not yet", remember=False)
    batch.rows("done").append({"course": event.data.course})
    return Accepted("signalled", event.data.expert.id)


def consumer(service: str = EVALUATION, **options: Any) -> Consumer:
    return Consumer(service, "urn:credit:test", MESSAGING, (INBOUND_APPLICATIONS,), {TRAINING: completed}, **options)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    e = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'frame.db'}")
    await create_tables(e, TABLES)
    SEEN.clear()
    try:
        yield e
    finally:
        await e.dispose()


def item(id: str, course: str = "c", type: str = TRAINING_COMPLETED, **data: Any) -> Inbound:
    body = {"expert": {"id": "EXP-1", "name": "张三"}, "completed_on": "2026-11-30", "course": course, **data}
    raw, headers = encode_structured(build_event(type=type, source="urn:eproc:t", data=body, id=id))
    (one,) = from_kafka([SimpleNamespace(value=raw, headers=headers, key=b"k")])
    return one


async def run(engine: AsyncEngine, items: list[Inbound], c: Consumer | None = None) -> list[Any]:
    async with engine.begin() as conn:
        return [r.outcome for r in await handle_batch(c or consumer(), conn, items, now=NOW)]


async def processed(engine: AsyncEngine) -> dict[str, str]:
    t = MESSAGING.processed
    async with engine.connect() as conn:
        return {r.event_id: r.outcome for r in await conn.execute(select(t.c.event_id, t.c.outcome))}


async def dead_reasons(engine: AsyncEngine) -> list[str]:
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER))
        return [orjson.loads(r.payload)["data"]["reason"] for r in rows]


async def test_accepted_refused_and_retryable_events_are_marked_by_their_outcome(engine: AsyncEngine) -> None:
    outcomes = await run(engine, [item("a"), item("b", "refuse"), item("c", "later")])
    assert outcomes[0] == Accepted("signalled", "EXP-1")
    assert [o.reason for o in outcomes[1:]] == ["invalid_identifier", "record_not_found"]
    assert await processed(engine) == {"a": "signalled", "b": "rejected:invalid_identifier"}
    assert await dead_reasons(engine) == ["invalid_identifier", "record_not_found"]


async def test_a_redelivery_is_a_duplicate_and_another_payload_under_the_same_id_a_conflict(
    engine: AsyncEngine,
) -> None:
    await run(engine, [item("a")])
    # In one batch: the same event twice, then the id reused for another payload.
    outcomes = await run(engine, [item("a"), item("a"), item("a", course="other")])
    assert outcomes[:2] == [DUPLICATE, DUPLICATE]
    assert outcomes[2].reason == "duplicate_id_conflict" and outcomes[2].status == 409
    assert SEEN == ["c"]  # the handler ran once
    assert await dead_reasons(engine) == ["duplicate_id_conflict"]


async def test_without_the_conflict_check_another_payload_is_a_duplicate(engine: AsyncEngine) -> None:
    await run(engine, [item("a")], consumer(conflicts=False))
    assert await run(engine, [item("a", course="other")], consumer(conflicts=False)) == [DUPLICATE]


async def test_the_answering_service_refuses_what_nobody_reads_and_passes_over_what_others_read(
    engine: AsyncEngine,
) -> None:
    malformed = Inbound(None, "k", reason="malformed_event", message="not JSON", value=b"{")
    unknown = item("u", type=TRAINING_COMPLETED.replace(".v1", ".v2"))
    repair = item("r", type=REPAIR_REQUESTED)
    bad = item("x", completed_on="not a date")
    outcomes = await run(engine, [malformed, unknown, repair, bad])
    assert [getattr(o, "reason", o) for o in outcomes] == ["malformed_event", "unknown_type", NOT_MINE, "invalid_data"]
    assert sorted(await dead_reasons(engine)) == ["invalid_data", "malformed_event", "unknown_type"]
    assert SEEN == []


async def test_another_service_passes_over_all_it_does_not_read_and_refuses_bad_data_of_its_own_type(
    engine: AsyncEngine,
) -> None:
    # As if the repair service read trainings: evaluation answers for the topic, repair does not.
    not_answering = consumer(REPAIR)
    malformed = Inbound(None, "k", reason="malformed_event", message="not JSON", value=b"{")
    outcomes = await run(
        engine, [malformed, item("u", type=REPAIR_REQUESTED), item("x", completed_on="?")], not_answering
    )
    assert outcomes[:2] == [NOT_MINE, NOT_MINE]
    assert outcomes[2].reason == "invalid_data"
    # A replica (refuses_invalid=False) leaves bad data to the topic's owner.
    replica = consumer(REPAIR, refuses_invalid=False)
    assert await run(engine, [item("y", completed_on="?")], replica) == [NOT_MINE]
    assert await dead_reasons(engine) == ["invalid_data"]


async def test_own_types_are_passed_and_finish_writes_what_the_handlers_gathered(engine: AsyncEngine) -> None:
    written: list[list[dict]] = []

    async def finish(batch: Batch) -> None:
        written.append(batch.rows("done"))

    c = consumer(passes=frozenset({REPAIR_REQUESTED}), finish=finish)
    results = await run(engine, [item("a"), item("b", "d"), item("r", type=REPAIR_REQUESTED)], c)
    assert written == [[{"course": "c"}, {"course": "d"}]]
    async with engine.begin() as conn:
        tally = counts(await handle_batch(c, conn, [item("a"), item("z", type=REPAIR_REQUESTED)], now=NOW))
    assert results[2] is NOT_MINE and tally == {"duplicate": 1, "passed": 1}
