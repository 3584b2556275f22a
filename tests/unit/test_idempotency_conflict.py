"""The same (source, id) with another payload is a conflict, not a duplicate (issue 21, point 5):
dead-lettered `duplicate_id_conflict` and changing nothing; the same payload is a duplicate; a
refusal is kept with its status so a retry of the same payload is refused the same way."""

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.messaging import http_code, payload_hash
from services.common.topics import DEAD_LETTER
from services.evaluation.intake.ingest import find_outcome_of as find_outcome
from tests.unit.test_intake_sqlite import (  # noqa: F401 - the engine fixture
    OUTBOX_T,
    RECORDS_T,
    engine,
    inbound,
    ingest_batch,
    report_event,
    rows,
)


def _dead_letters(outbox: list[dict]) -> list[dict]:
    return [orjson.loads(r["payload"]) for r in outbox if r["topic"] == DEAD_LETTER]


async def test_same_id_other_payload_is_dead_lettered_conflict(engine: AsyncEngine) -> None:  # noqa: F811
    first = report_event()
    other = first | {"data": first["data"] | {"description": "另一份报告"}}
    retry = first | {"time": "2026-11-22T03:00:00+00:00"}  # stamped again by a retrying producer
    assert [o.kind for o in await ingest_batch(engine, [inbound(first)])] == ["recorded"]
    outcomes = await ingest_batch(engine, [inbound(retry), inbound(other)])
    assert [o.kind for o in outcomes] == ["duplicate", "rejected"]
    assert (outcomes[1].reason, outcomes[1].status) == ("duplicate_id_conflict", 409)
    assert http_code(outcomes[1].reason) == "idempotency_conflict"
    assert len(await rows(engine, RECORDS_T)) == 1
    (dead,) = _dead_letters(await rows(engine, OUTBOX_T))
    assert dead["data"]["reason"] == "duplicate_id_conflict"
    # Redelivered: still one dead letter id for that payload.
    await ingest_batch(engine, [inbound(other)])
    dead_ids = {d["id"] for d in _dead_letters(await rows(engine, OUTBOX_T))}
    assert len(dead_ids) == 1


async def test_a_refusal_is_replayed_for_the_same_payload_and_conflicts_for_another(engine: AsyncEngine) -> None:  # noqa: F811
    refused = report_event(with_evidence=False)
    (outcome,) = await ingest_batch(engine, [inbound(refused)])
    assert (outcome.kind, outcome.reason) == ("rejected", "evidence_required")
    async with engine.begin() as conn:
        replay = await find_outcome(conn, refused["source"], refused["id"])
    assert replay is not None and (replay.kind, replay.reason, replay.status) == ("rejected", "evidence_required", 422)
    fixed = report_event() | {"id": refused["id"], "source": refused["source"]}
    (outcome,) = await ingest_batch(engine, [inbound(fixed)])
    assert (outcome.reason, outcome.status) == ("duplicate_id_conflict", 409)
    assert await rows(engine, RECORDS_T) == []


def test_payload_hash_ignores_time_only() -> None:
    e = report_event()
    assert payload_hash(inbound(e)) == payload_hash(inbound(e | {"time": "2026-01-01T00:00:00+00:00"}))
    assert payload_hash(inbound(e)) != payload_hash(inbound(e | {"type": e["type"].replace(".v1", ".v2")}))
