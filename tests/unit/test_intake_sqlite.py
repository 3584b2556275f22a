"""`ingest()` and `expire_due()` against a real (SQLite) database: records, history chain, idempotency,
dead letters, outbox and subject status versions."""

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import encode_structured
from services.common.db import create_tables, make_engine
from services.common.inbound import UNPARSEABLE_SOURCE, Inbound, from_kafka
from services.common.topics import (
    DEAD_LETTER,
    DETERMINATION_REQUESTED,
    EVENT_REJECTED,
    RECORD_CREATED,
    RECORD_EXPIRED,
    RECORDS,
    SUBJECT_STATUS_CHANGED,
    SUBJECTS,
    TASKS,
)
from services.evaluation.intake.ingest import Outcome, ingest
from services.evaluation.ledger.hashes import GENESIS, chain_hash, leaf_hash_hex, ledger_entry
from services.evaluation.models import (
    MESSAGING,
    TABLES,
    CreditRecord,
    DeterminationTask,
    LedgerEntry,
    RecordVersion,
    SubjectState,
)
from services.evaluation.records.expiry import expire_due
from services.evaluation.records.subjects import publish_subject_statuses
from tests.support import factories as f

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: recorded on 2026-11-22
RECORDED_ON = date(2026, 11, 22)
OCCURRED_ON = date(2026, 11, 19)
RECORDS_T = CreditRecord.__table__  # type: ignore[attr-defined]
HISTORY_T = RecordVersion.__table__  # type: ignore[attr-defined]
SUBJECTS_T = SubjectState.__table__  # type: ignore[attr-defined]
LEDGER_T = LedgerEntry.__table__  # type: ignore[attr-defined]
TASKS_T = DeterminationTask.__table__  # type: ignore[attr-defined]
OUTBOX_T = MESSAGING.outbox
PROCESSED_T = MESSAGING.processed


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'evaluation.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def kafka_record(value: bytes | None, headers: list[tuple[str, bytes]], key: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(value=value, headers=headers, key=key.encode() if key else None)


def inbound(event: dict) -> Inbound:
    """An event as the consumer sees it: encoded in structured mode, then parsed from the message."""
    value, headers = encode_structured(event)
    (item,) = from_kafka([kafka_record(value, headers, event["data"]["subject"]["id"])])
    assert item.envelope is not None
    return item


def malformed(value: bytes = b"{not json", key: str = "91410300MA0000002X") -> Inbound:
    (item,) = from_kafka([kafka_record(value, [("content-type", b"application/cloudevents+json")], key)])
    assert item.envelope is None
    return item


def report_event(**overrides) -> dict:  # type: ignore[no-untyped-def]
    overrides.setdefault("occurred_on", OCCURRED_ON)
    return f.event(f.report_data(**overrides))


async def ingest_batch(engine: AsyncEngine, items: list[Inbound], *, now: datetime = NOW) -> list[Outcome]:
    async with engine.begin() as conn:
        return await ingest(conn, items, now=now)


async def rows(engine: AsyncEngine, table, *where, order_by=None) -> list[dict]:  # type: ignore[no-untyped-def]
    q = select(table).where(*where)
    if order_by is not None:
        q = q.order_by(order_by)
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(q)]


async def count(engine: AsyncEngine, table) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(table))


async def outbox(engine: AsyncEngine) -> list[dict]:
    """Outbox rows in order, with their payload decoded."""
    out = []
    for r in await rows(engine, OUTBOX_T, order_by=OUTBOX_T.c.seq):
        out.append({**r, "event": orjson.loads(r["payload"])})
    return out


# --- recording ----------------------------------------------------------------------------------


async def test_report_creates_one_record_in_force(engine: AsyncEngine) -> None:
    e = report_event(code="SUP-G-01")
    (outcome,) = await ingest_batch(engine, [inbound(e)])
    assert (outcome.kind, outcome.status) == ("recorded", 201)
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["id"] == outcome.record_id
    assert rec["subject_id"] == e["data"]["subject"]["id"]
    assert rec["status"] == "in_force"
    assert rec["version"] == 1
    assert rec["recorded_on"] == RECORDED_ON
    assert rec["valid_until"] == date(2027, 11, 22)
    assert (rec["source"], rec["source_event_id"]) == (e["source"], e["id"])


async def test_report_writes_first_history_version_chained_from_genesis(engine: AsyncEngine) -> None:
    (outcome,) = await ingest_batch(engine, [inbound(report_event())])
    (v1,) = await rows(engine, HISTORY_T)
    assert v1["record_id"] == outcome.record_id
    assert (v1["version"], v1["change"]) == (1, "created")
    assert v1["prev_hash"] == GENESIS == "0" * 64
    assert v1["hash"] == chain_hash(GENESIS, v1["snapshot"])
    assert v1["snapshot"]["id"] == outcome.record_id


async def test_each_history_version_gets_its_ledger_leaf_with_the_outbox(engine: AsyncEngine) -> None:
    # The intake hands the leaves to write_outbox (inserted under the writer lock, before the
    # outbox rows): a batch of two reports gives two leaves, one per version, each its entry's hash.
    await ingest_batch(engine, [inbound(report_event(code="SUP-G-01")), inbound(report_event(code="SUP-G-02"))])
    versions = await rows(engine, HISTORY_T, order_by=HISTORY_T.c.record_id)
    leaves = await rows(engine, LEDGER_T, order_by=LEDGER_T.c.record_id)
    assert [(v["record_id"], v["version"]) for v in versions] == [(lf["record_id"], lf["version"]) for lf in leaves]
    for v, leaf in zip(versions, leaves, strict=True):
        assert leaf["entry"] == ledger_entry(v).decode()
        assert leaf["leaf_hash"] == leaf_hash_hex(ledger_entry(v))


async def test_report_is_marked_processed(engine: AsyncEngine) -> None:
    e = report_event()
    await ingest_batch(engine, [inbound(e)])
    (p,) = await rows(engine, PROCESSED_T)
    assert (p["source"], p["event_id"], p["outcome"]) == (e["source"], e["id"], "recorded")


async def test_report_writes_record_created_and_status_changed_to_the_outbox(engine: AsyncEngine) -> None:
    e = report_event(code="SUP-G-01")
    subject_id = e["data"]["subject"]["id"]
    (outcome,) = await ingest_batch(engine, [inbound(e)])
    created, status = await outbox(engine)

    assert (created["topic"], created["key"]) == (RECORDS, subject_id)
    assert created["event"]["type"] == RECORD_CREATED
    assert created["event_id"] == created["event"]["id"]
    assert created["event"]["data"]["record_id"] == outcome.record_id
    assert created["event"]["data"]["valid_until"] == "2027-11-22"
    assert "evidence" not in created["event"]["data"]
    assert "description" not in created["event"]["data"]

    assert (status["topic"], status["key"]) == (SUBJECTS, subject_id)
    assert status["event"]["type"] == SUBJECT_STATUS_CHANGED
    data = status["event"]["data"]
    assert (data["status"], data["version"], data["may_participate"]) == ("general_record", 1, True)
    assert data["subject"]["id"] == subject_id
    assert [r["record_id"] for r in data["records_in_force"]] == [outcome.record_id]


async def test_serious_report_from_purchaser_opens_a_task_and_records_nothing(engine: AsyncEngine) -> None:
    (outcome,) = await ingest_batch(engine, [inbound(report_event(code="SUP-S-01", reporter_type="purchaser"))])
    assert (outcome.kind, outcome.status) == ("determination_opened", 202)
    assert await count(engine, RECORDS_T) == 0
    (task,) = await rows(engine, TASKS_T)
    assert (task["id"], task["state"], task["region"]) == (outcome.task_id, "open", "410322")
    (requested,) = await outbox(engine)
    # The casework service opens the task (task.created.v1) with the request's id.
    assert (requested["topic"], requested["event"]["type"]) == (TASKS, DETERMINATION_REQUESTED)
    data = requested["event"]["data"]
    assert (data["request_id"], data["region"], data["behaviour"]["severity"]) == (outcome.task_id, "410322", "serious")
    assert data["evidence_count"] == 1 and "evidence" not in data and "description" not in data


# --- idempotency --------------------------------------------------------------------------------


async def test_same_event_twice_in_one_batch_records_once(engine: AsyncEngine) -> None:
    item = inbound(report_event())
    first, second = await ingest_batch(engine, [item, item])
    assert (first.kind, second.kind) == ("recorded", "duplicate")
    assert await count(engine, RECORDS_T) == 1
    assert await count(engine, HISTORY_T) == 1
    assert len(await outbox(engine)) == 2  # one record.created, one status


async def test_same_event_in_the_next_batch_is_a_duplicate_and_emits_nothing(engine: AsyncEngine) -> None:
    e = report_event()
    await ingest_batch(engine, [inbound(e)])
    before = await outbox(engine)
    (again,) = await ingest_batch(engine, [inbound(e)], now=NOW + timedelta(minutes=5))
    assert again.kind == "duplicate"
    assert await count(engine, RECORDS_T) == 1
    assert await count(engine, HISTORY_T) == 1
    assert await outbox(engine) == before


async def test_same_id_from_another_source_is_a_different_event(engine: AsyncEngine) -> None:
    a = report_event()
    b = f.event(f.report_data(occurred_on=OCCURRED_ON), source="urn:eproc:henan", id=a["id"])
    outcomes = await ingest_batch(engine, [inbound(a), inbound(b)])
    assert [o.kind for o in outcomes] == ["recorded", "recorded"]
    assert await count(engine, RECORDS_T) == 2


# --- dead letters -------------------------------------------------------------------------------


async def test_rejected_report_is_dead_lettered_with_reason_and_original(engine: AsyncEngine) -> None:
    e = report_event(with_evidence=False)  # a purchaser must attach evidence
    (outcome,) = await ingest_batch(engine, [inbound(e)])
    assert (outcome.kind, outcome.reason) == ("rejected", "evidence_required")
    assert await count(engine, RECORDS_T) == 0
    (dead,) = await outbox(engine)
    assert dead["topic"] == DEAD_LETTER
    assert dead["key"] == e["data"]["subject"]["id"]
    assert dead["event"]["type"] == EVENT_REJECTED
    data = dead["event"]["data"]
    assert data["reason"] == "evidence_required"
    assert data["message"]
    # The original as received, but for the reporter's words (hashed: issue 21.9).
    description = e["data"]["description"]
    assert data["original"]["value"]["data"]["description"] == {
        "sha256": hashlib.sha256(description.encode()).hexdigest(),
        "chars": len(description),
    }
    assert {**data["original"]["value"], "data": {**data["original"]["value"]["data"], "description": description}} == e
    assert data["original"]["headers"]["content-type"] == "application/cloudevents+json"
    (p,) = await rows(engine, PROCESSED_T)
    assert (p["source"], p["event_id"], p["outcome"]) == (e["source"], e["id"], "rejected:422:evidence_required")


async def test_point1_a_report_from_a_region_without_policy_is_dead_lettered_no_policy(engine: AsyncEngine) -> None:
    """Issue 16 point 1: Beijing has no policy here; Luoyang's is not applied there."""
    e = report_event(region="110105", reporter_type="finance", reporter_id="110105")
    (outcome,) = await ingest_batch(engine, [inbound(e)])
    assert (outcome.kind, outcome.reason) == ("rejected", "no_policy")
    assert "110105" in (outcome.message or "")
    (dead,) = await outbox(engine)
    assert dead["topic"] == DEAD_LETTER and dead["event"]["data"]["reason"] == "no_policy"
    assert await count(engine, RECORDS_T) == 0


async def test_rejected_report_redelivered_is_dead_lettered_once(engine: AsyncEngine) -> None:
    item = inbound(report_event(with_evidence=False))
    await ingest_batch(engine, [item])
    (again,) = await ingest_batch(engine, [item])
    assert again.kind == "duplicate"
    assert len(await outbox(engine)) == 1


async def test_unknown_type_on_the_behaviour_topic_is_dead_lettered(engine: AsyncEngine) -> None:
    e = f.event(f.report_data(occurred_on=OCCURRED_ON), type="cn.gov.procurement.credit.behaviour.reported.v2")
    (outcome,) = await ingest_batch(engine, [inbound(e)])
    assert (outcome.kind, outcome.reason) == ("rejected", "unknown_type")
    (dead,) = await outbox(engine)
    assert dead["event"]["data"]["reason"] == "unknown_type"


async def test_data_not_matching_the_schema_is_dead_lettered_as_invalid_data(engine: AsyncEngine) -> None:
    data = f.report_data(occurred_on=OCCURRED_ON)
    del data["project"]
    (outcome,) = await ingest_batch(engine, [inbound(f.event(data))])
    assert (outcome.kind, outcome.reason) == ("rejected", "invalid_data")
    assert "project" in (outcome.message or "")


async def test_bad_region_is_dead_lettered_not_raised(engine: AsyncEngine) -> None:
    (outcome,) = await ingest_batch(engine, [inbound(report_event(region="999999"))])
    assert (outcome.kind, outcome.reason) == ("rejected", "invalid_identifier")


async def test_dead_letter_id_of_a_long_but_valid_source_fits_the_outbox_column(engine: AsyncEngine) -> None:
    source = "urn:eproc:henan:zhengzhou:e-procurement-platform:production"  # 57 characters
    e = f.event(f.report_data(occurred_on=OCCURRED_ON, with_evidence=False), source=source)
    await ingest_batch(engine, [inbound(e)])
    (dead,) = await outbox(engine)
    assert len(dead["event_id"]) <= OUTBOX_T.c.event_id.type.length


async def test_malformed_message_is_dead_lettered_as_malformed_event(engine: AsyncEngine) -> None:
    item = malformed()
    (outcome,) = await ingest_batch(engine, [item])
    assert (outcome.kind, outcome.reason) == ("rejected", "malformed_event")
    (dead,) = await outbox(engine)
    assert dead["topic"] == DEAD_LETTER
    assert dead["event"]["data"]["reason"] == "malformed_event"
    assert dead["event"]["data"]["original"]["value"] == "{not json"
    assert dead["event"]["data"]["original"]["value_encoding"] == "text"
    (p,) = await rows(engine, PROCESSED_T)
    assert p["source"] == UNPARSEABLE_SOURCE


async def test_malformed_message_redelivered_is_dead_lettered_once(engine: AsyncEngine) -> None:
    await ingest_batch(engine, [malformed()])
    # A redelivery is a new message object with the same content: identified by content.
    (again,) = await ingest_batch(engine, [malformed()])
    assert again.kind == "duplicate"
    same_batch = await ingest_batch(engine, [malformed(b"[1, 2]"), malformed(b"[1, 2]")])
    assert [o.kind for o in same_batch] == ["rejected", "duplicate"]
    assert [r["event"]["data"]["reason"] for r in await outbox(engine)] == ["malformed_event", "malformed_event"]


# --- subject status versions --------------------------------------------------------------------


async def status_events(engine: AsyncEngine) -> list[dict]:
    return [r["event"] for r in await outbox(engine) if r["event"]["type"] == SUBJECT_STATUS_CHANGED]


async def test_second_record_for_a_subject_bumps_its_status_version(engine: AsyncEngine) -> None:
    subject_id = f.new_uscc()
    first = await ingest_batch(engine, [inbound(report_event(subject_id=subject_id))])
    second = await ingest_batch(engine, [inbound(report_event(subject_id=subject_id, code="SUP-G-02"))])
    v1, v2 = await status_events(engine)
    assert (v1["data"]["version"], v2["data"]["version"]) == (1, 2)
    assert v1["id"] != v2["id"]
    assert {r["record_id"] for r in v2["data"]["records_in_force"]} == {first[0].record_id, second[0].record_id}
    (state,) = await rows(engine, SUBJECTS_T)
    assert state["version"] == 2


async def test_two_records_for_one_subject_in_one_batch_emit_one_status(engine: AsyncEngine) -> None:
    subject_id = f.new_uscc()
    items = [inbound(report_event(subject_id=subject_id)), inbound(report_event(subject_id=subject_id))]
    await ingest_batch(engine, items)
    (status,) = await status_events(engine)
    assert status["data"]["version"] == 1
    assert len(status["data"]["records_in_force"]) == 2


async def test_unchanged_status_is_not_published_again(engine: AsyncEngine) -> None:
    e = report_event()
    subject = e["data"]["subject"]
    await ingest_batch(engine, [inbound(e)])
    await ingest_batch(engine, [inbound(report_event(subject_id=subject["id"]))])
    async with engine.begin() as conn:
        touched = {f"supplier:{subject['id']}": subject}
        again = await publish_subject_statuses(conn, touched, cause="record.created", now=NOW)
    assert again == []
    (state,) = await rows(engine, SUBJECTS_T)
    assert state["version"] == 2
    assert len(await status_events(engine)) == 2


async def test_rejection_for_a_recorded_subject_does_not_republish_its_status(engine: AsyncEngine) -> None:
    subject_id = f.new_uscc()
    await ingest_batch(engine, [inbound(report_event(subject_id=subject_id))])
    await ingest_batch(engine, [inbound(report_event(subject_id=subject_id, with_evidence=False))])
    assert len(await status_events(engine)) == 1


# --- expiry -------------------------------------------------------------------------------------

VALID_UNTIL = date(2027, 11, 22)  # a general record of 2026-11-22


async def record_one(engine: AsyncEngine) -> str:
    (outcome,) = await ingest_batch(engine, [inbound(report_event())])
    assert outcome.record_id is not None
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["valid_until"] == VALID_UNTIL
    return outcome.record_id


async def test_general_record_is_still_in_force_on_its_last_day(engine: AsyncEngine) -> None:
    await record_one(engine)
    assert await expire_due(engine, as_of=VALID_UNTIL, now=NOW + timedelta(days=365)) == 0
    (rec,) = await rows(engine, RECORDS_T)
    assert (rec["status"], rec["version"]) == ("in_force", 1)
    assert len(await outbox(engine)) == 2


async def test_general_record_expires_the_day_after_valid_until(engine: AsyncEngine) -> None:
    record_id = await record_one(engine)
    assert await expire_due(engine, as_of=VALID_UNTIL + timedelta(days=1), now=NOW + timedelta(days=366)) == 1
    (rec,) = await rows(engine, RECORDS_T)
    assert (rec["id"], rec["status"], rec["version"]) == (record_id, "expired", 2)


async def test_expiry_appends_version_2_chained_to_version_1(engine: AsyncEngine) -> None:
    record_id = await record_one(engine)
    await expire_due(engine, as_of=VALID_UNTIL + timedelta(days=1), now=NOW + timedelta(days=366))
    v1, v2 = await rows(engine, HISTORY_T, HISTORY_T.c.record_id == record_id, order_by=HISTORY_T.c.version)
    assert (v1["version"], v1["change"]) == (1, "created")
    assert (v2["version"], v2["change"], v2["actor"]) == (2, "expired", "system:expiry")
    assert v2["prev_hash"] == v1["hash"]
    assert v2["hash"] == chain_hash(v1["hash"], v2["snapshot"])
    assert (v2["snapshot"]["status"], v2["snapshot"]["version"]) == ("expired", 2)


async def test_expiry_emits_record_expired_and_a_clean_status(engine: AsyncEngine) -> None:
    record_id = await record_one(engine)
    await expire_due(engine, as_of=VALID_UNTIL + timedelta(days=1), now=NOW + timedelta(days=366))
    events = [r["event"] for r in await outbox(engine)][2:]
    expired, status = events
    assert expired["type"] == RECORD_EXPIRED
    assert expired["data"]["record_id"] == record_id
    assert (expired["data"]["status"], expired["data"]["version"]) == ("expired", 2)
    assert expired["id"] != f"{record_id}:v1"
    assert status["type"] == SUBJECT_STATUS_CHANGED
    assert (status["data"]["status"], status["data"]["version"]) == ("clean", 2)
    assert status["data"]["records_in_force"] == []
    assert status["data"]["may_participate"] is True


async def test_expiry_run_twice_expires_once(engine: AsyncEngine) -> None:
    await record_one(engine)
    later = VALID_UNTIL + timedelta(days=2)
    assert await expire_due(engine, as_of=later, now=NOW + timedelta(days=367)) == 1
    assert await expire_due(engine, as_of=later, now=NOW + timedelta(days=367)) == 0
    assert await count(engine, HISTORY_T) == 2
    assert len(await outbox(engine)) == 4


async def test_reporter_region_over_kafka_and_http(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21 (10): over Kafka a purchaser reports where its USCC was registered or where the sending
    platform carries projects (CREDIT_PLATFORM_REGIONS); over HTTP where its token's region is.
    Merged with issue 16 point 1: a report in a region with no policy (Beijing) is refused `no_policy`
    before any scope is judged, so the scope is shown with a Beijing-registered purchaser reporting a
    Luoyang project (main's version reported in Beijing, where Luoyang's measures no longer apply)."""
    from services.common.identifiers import make_uscc
    from services.common.inbound import from_http
    from services.common.settings import get_settings
    from services.common.topics import BEHAVIOUR_REPORTED as REPORTED

    beijing_purchaser = make_uscc("12110105MB0000009")
    (no_policy,) = await ingest_batch(engine, [inbound(report_event(region="110000"))])
    assert (no_policy.kind, no_policy.reason) == ("rejected", "no_policy")
    (refused,) = await ingest_batch(engine, [inbound(report_event(reporter_id=beijing_purchaser))])
    assert (refused.kind, refused.reason, refused.status) == ("rejected", "not_authorised", 403)

    monkeypatch.setenv("CREDIT_PLATFORM_REGIONS", '{"urn:eproc:luoyang": ["410300"]}')
    get_settings.cache_clear()
    try:
        via_luoyang_platform = report_event(reporter_id=beijing_purchaser)
        via_beijing_platform = f.event(
            f.report_data(reporter_id=beijing_purchaser, occurred_on=OCCURRED_ON), source="urn:eproc:beijing"
        )
        outcomes = await ingest_batch(engine, [inbound(via_luoyang_platform), inbound(via_beijing_platform)])
        assert [o.kind for o in outcomes] == ["recorded", "rejected"]
    finally:
        get_settings.cache_clear()

    def over_http(region: str) -> Inbound:
        data = f.report_data(reporter_id=beijing_purchaser, occurred_on=OCCURRED_ON)
        return from_http(role="purchaser", org=beijing_purchaser, event_type=REPORTED, data=data,
                         key=data["subject"]["id"], idempotency_key=None, now=NOW, region=region)  # fmt: skip

    beijing_token, luoyang_token = await ingest_batch(engine, [over_http("110000"), over_http("410300")])
    assert (beijing_token.kind, beijing_token.reason) == ("rejected", "not_authorised")
    assert luoyang_token.kind == "recorded"
