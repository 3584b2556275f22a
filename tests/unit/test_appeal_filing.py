"""The filing path and the appeal's changes against a real (SQLite) database: accepted appeals, dead
letters with their reasons, idempotency on (source, id), one open appeal per record, and the
changes the review workflow reports."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appeal.activities import AppealActivities
from services.appeal.commands import OUTBOX
from services.appeal.filing import earlier_outcome, file_appeals
from services.appeal.models import APPEALS_T, MESSAGING, REPLICA, TABLES
from services.common.cloudevents import Envelope
from services.common.command_relay import CommandRelay
from services.common.db import create_tables, make_engine
from services.common.inbound import Inbound
from services.common.record_replica import replica_row, upsert_replica
from services.common.topics import APPEAL_CHANGED, APPEAL_FILED, APPLICATIONS, DEAD_LETTER
from tests.support.factories import event, evidence, new_uscc
from workflows.appeal.inputs import AppealChange, AppealReviewInput

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'appeal.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def record_data(record_id: str, subject_id: str, *, status: str = "in_force", version: int = 1) -> dict:
    return {
        "record_id": record_id,
        "version": version,
        "status": status,
        "subject": {"type": "supplier", "id": subject_id, "name": "洛阳某某科技有限公司"},
        "behaviour": {"code": "SUP-G-01", "severity": "general"},
        "severity": "general",
        "region": "410322",
        "recorded_on": "2026-11-30",
        "valid_until": "2027-11-30",
    }


async def replicate(engine: AsyncEngine, *records: dict) -> None:
    async with engine.begin() as conn:
        await upsert_replica(conn, REPLICA, [replica_row(r) for r in records])


def appeal_item(record_id: str, subject_id: str, **overrides: object) -> Inbound:
    data = {
        "record_id": record_id,
        "applicant": {"type": "supplier", "id": subject_id, "name": "洛阳某某科技有限公司"},
        "grounds": "合同已按期签订",
        "evidence": evidence(1),
    } | overrides
    e = event(data, type=APPEAL_FILED)
    return Inbound(original=e, key=subject_id, envelope=Envelope.model_validate(e))


async def file(engine: AsyncEngine, items: list[Inbound]):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        return await file_appeals(conn, items, now=NOW)


async def outbox(engine: AsyncEngine) -> list[tuple[str, dict]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(MESSAGING.outbox).order_by(MESSAGING.outbox.c.seq))
        return [(r.topic, orjson.loads(r.payload)) for r in rows]


async def appeal(engine: AsyncEngine, appeal_id: str) -> dict:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(APPEALS_T).where(APPEALS_T.c.id == appeal_id))).one()._mapping)


async def test_accepted_appeal_is_stored_and_announced(engine: AsyncEngine) -> None:
    supplier = new_uscc()
    await replicate(engine, record_data("rec-1", supplier))
    (outcome,) = await file(engine, [appeal_item("rec-1", supplier)])
    assert outcome.kind == "filed" and outcome.appeal_id
    row = await appeal(engine, outcome.appeal_id)
    assert (row["state"], row["version"], row["open_record_id"], row["region"]) == ("filed", 1, "rec-1", "410322")
    assert row["workflow_started_at"] is None  # the command relay starts the review
    ((topic, e),) = await outbox(engine)
    assert (topic, e["type"], e["id"]) == (APPLICATIONS, APPEAL_CHANGED, f"{outcome.appeal_id}:v1")
    assert e["data"]["state"] == "filed" and e["data"]["evidence_count"] == 1 and "evidence" not in e["data"]
    assert e["data"]["review_due_on"] > e["data"]["filed_at"][:10] and e["data"]["review_working_days"] > 0


class StartRecorder:
    def __init__(self) -> None:
        self.starts: list[tuple] = []

    async def start_workflow(self, workflow, arg, *, id: str, **kw) -> None:  # type: ignore[no-untyped-def]
        self.starts.append((workflow, arg, id))


async def test_an_accepted_appeal_has_its_review_started_once(engine: AsyncEngine) -> None:
    supplier = new_uscc()
    await replicate(engine, record_data("rec-1", supplier))
    (outcome,) = await file(engine, [appeal_item("rec-1", supplier)])
    client = StartRecorder()

    async def connect() -> StartRecorder:
        return client

    relay = CommandRelay(engine=engine, outbox=OUTBOX, client=connect, service="appeal")  # type: ignore[arg-type]
    assert await relay.deliver_once() == (1, 1)
    ((workflow, arg, workflow_id),) = client.starts
    assert (workflow, workflow_id) == ("AppealReviewWorkflow", f"appeal:{outcome.appeal_id}")
    review = AppealReviewInput.model_validate(arg)
    assert (review.appeal_id, review.record_id, review.due_working_days > 0) == (outcome.appeal_id, "rec-1", True)
    assert (await appeal(engine, outcome.appeal_id))["workflow_started_at"] is not None
    assert await relay.deliver_once() == (0, 0)  # nothing owed any more


async def test_refusals_are_dead_lettered_with_their_reason(engine: AsyncEngine) -> None:
    supplier, other = new_uscc(), new_uscc()
    await replicate(engine, record_data("rec-1", supplier), record_data("rec-x", supplier, status="withdrawn"))
    items = [
        appeal_item("rec-1", supplier, evidence=[]),
        appeal_item("rec-1", supplier, grounds=""),
        appeal_item("rec-1", other),
        appeal_item("rec-unknown", supplier),
        appeal_item("rec-x", supplier),
        appeal_item("rec-1", supplier, evidence=[{"kind": "photo", "uri": "not a uri", "sha256": "x"}]),
    ]
    outcomes = await file(engine, items)
    reasons = [o.refusal.reason for o in outcomes]
    expected = [
        "evidence_required",
        "grounds_required",
        "not_subject",
        "record_not_found",
        "record_not_in_force",
        "invalid_data",
    ]
    assert reasons == expected
    dead = [(t, e["data"]["reason"]) for t, e in await outbox(engine)]
    assert dead == [(DEAD_LETTER, r) for r in expected]
    # A retry of a refused HTTP request gets the same refusal.
    source, event_id = items[2].identity
    async with engine.connect() as conn:
        again = await earlier_outcome(conn, source, event_id)
    assert again is not None and again.refusal is not None and again.refusal.reason == "not_subject"
    # An unknown record may only be late in the replica: the same request is judged again.
    await replicate(engine, record_data("rec-unknown", supplier))
    (late,) = await file(engine, [items[3]])
    assert late.kind == "filed"


async def test_same_event_twice_files_once_and_one_open_appeal_per_record(engine: AsyncEngine) -> None:
    supplier = new_uscc()
    await replicate(engine, record_data("rec-1", supplier))
    first = appeal_item("rec-1", supplier)
    outcomes = await file(engine, [first, first, appeal_item("rec-1", supplier)])
    assert [o.kind for o in outcomes] == ["filed", "duplicate", "rejected"]
    assert outcomes[2].refusal.reason == "appeal_open" and outcomes[2].refusal.extra == {
        "appeal_id": outcomes[0].appeal_id
    }
    (again,) = await file(engine, [first])  # redelivered later
    assert again.kind == "duplicate"
    async with engine.connect() as conn:
        earlier = await earlier_outcome(conn, *first.identity)
    assert earlier is not None and earlier.appeal_id == outcomes[0].appeal_id


async def test_changes_are_stored_once_and_a_decision_frees_the_record(engine: AsyncEngine) -> None:
    supplier = new_uscc()
    await replicate(engine, record_data("rec-1", supplier))
    (filed,) = await file(engine, [appeal_item("rec-1", supplier)])
    acts = AppealActivities(engine)
    review = AppealChange(appeal_id=filed.appeal_id, version=2, state="under_review", task_id="review-x")
    await acts.record_appeal_change(review)
    await acts.record_appeal_change(review)  # a retried activity
    decided = AppealChange(
        appeal_id=filed.appeal_id,
        version=3,
        state="upheld",
        task_id="review-x",
        decision="uphold",
        reason="证据不足以证明记录有误",
        decided_by="officer-b",
        decided_at=NOW,
        record_version=3,
        record_status="in_force",
    )
    await acts.record_appeal_change(decided)
    await acts.record_appeal_change(review)  # a late, older change changes nothing
    row = await appeal(engine, filed.appeal_id)
    assert (row["state"], row["version"], row["open_record_id"], row["reason"]) == ("upheld", 3, None, decided.reason)
    events = [e for t, e in await outbox(engine) if t == APPLICATIONS]
    assert [e["data"]["state"] for e in events] == ["filed", "under_review", "upheld"]
    # Decided: the record may be appealed again (new evidence, a new appeal).
    (second,) = await file(engine, [appeal_item("rec-1", supplier)])
    assert second.kind == "filed" and second.appeal_id != filed.appeal_id
