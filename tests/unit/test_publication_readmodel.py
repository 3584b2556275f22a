"""The publication read model (`readmodel.apply`) on SQLite: newer versions win whatever the order,
names of natural persons are masked, and what cannot be applied is dead-lettered."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import build_event, encode_structured
from services.common.db import create_tables, make_engine
from services.common.inbound import Inbound, from_kafka
from services.common.topics import DEAD_LETTER, RECORD_CREATED, RECORD_EXPIRED, TYPE_PREFIX
from services.evaluation import events
from services.evaluation.api import get_catalogue
from services.evaluation.records.status import InForce, subject_status
from services.publication.credit_answers import public_record
from services.publication.masking import public_name, public_text
from services.publication.models import MESSAGING, TABLES, PublicRecord, PublicSubject
from services.publication.readmodel import apply

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
RECORDS_T = PublicRecord.__table__  # type: ignore[attr-defined]
SUBJECTS_T = PublicSubject.__table__  # type: ignore[attr-defined]
SUPPLIER_ID = "91410300MA0000002X"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'publication.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def to_inbound(event: dict, key: str = SUPPLIER_ID) -> Inbound:
    value, headers = encode_structured(event)
    (item,) = from_kafka([SimpleNamespace(value=value, headers=headers, key=key.encode())])
    return item


def record_row(
    *,
    record_id: str = "rec-1",
    version: int = 1,
    status: str = "in_force",
    subject_type: str = "supplier",
    subject_id: str = SUPPLIER_ID,
    subject_name: str = "洛阳某某科技有限公司",
    code: str = "SUP-G-01",
    severity: str = "general",
    project: dict | None = None,
) -> dict:
    """A row as the evaluation service stores it; its events are built by the evaluation code."""
    return {
        "id": record_id,
        "subject_key": f"{subject_type}:{subject_id}",
        "subject_type": subject_type,
        "subject_id": subject_id,
        "subject_name": subject_name,
        "behaviour_code": code,
        "severity": severity,
        "region": "410322",
        "reporter_type": "purchaser",
        "reporter_id": "12410300MB0000001X",
        "reporter_name": "报告单位",
        "project": project or {"code": "LYCG-2026-00001", "name": "办公设备采购项目"},
        "occurred_on": date(2026, 11, 19),
        "recorded_on": date(2026, 11, 22),
        "recorded_at": NOW,
        "valid_until": date(2027, 11, 22),
        "status": status,
        "version": version,
        "description": "secret",
        "evidence": [],
        "determination": None,
        "policy_version": "luoyang-2021",
        "source": "urn:eproc:luoyang",
        "source_event_id": "e-1",
    }


def record_event(event_type: str = RECORD_CREATED, **row) -> Inbound:  # type: ignore[no-untyped-def]
    r = record_row(**row)
    return to_inbound(events.record_event(event_type, r, event_time=NOW).event, key=r["subject_id"])


def status_event(version: int, records: list[InForce], *, subject: dict | None = None) -> Inbound:
    subject = subject or {"type": "supplier", "id": SUPPLIER_ID, "name": "洛阳某某科技有限公司"}
    snapshot = {**subject_status(subject, records), "version": version, "cause": "test", "changed_at": NOW.isoformat()}
    return to_inbound(events.status_event(subject["id"], snapshot, event_time=NOW).event, key=subject["id"])


async def apply_batch(engine: AsyncEngine, items: list[Inbound]) -> dict[str, int]:
    async with engine.begin() as conn:
        return await apply(conn, items, now=NOW)


async def rows(engine: AsyncEngine, table) -> list[dict]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(table))]


async def dead_letters(engine: AsyncEngine) -> list[dict]:
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        result = await conn.execute(select(t.c.topic, t.c.payload).order_by(t.c.seq))
        out = []
        for r in result:
            assert r.topic == DEAD_LETTER
            out.append(orjson.loads(r.payload))
        return out


# --- records ------------------------------------------------------------------------------------


async def test_created_record_is_published(engine: AsyncEngine) -> None:
    counts = await apply_batch(engine, [record_event()])
    assert counts == {"applied": 1, "duplicate": 0, "rejected": 0}
    (rec,) = await rows(engine, RECORDS_T)
    assert (rec["record_id"], rec["version"], rec["status"]) == ("rec-1", 1, "in_force")
    assert rec["valid_until"] == date(2027, 11, 22)
    assert rec["behaviour_text"]  # carried from the catalogue by the evaluation event


async def test_point3_published_record_shows_basis_apart_from_references(engine: AsyncEngine) -> None:
    """Issue 16 point 3: SUP-G-01's basis is Luoyang Art. 11 item 1; the Jiangsu/Qingdao/Weihai
    measures are references, in the event and in the public record and notice entry."""
    await apply_batch(engine, [record_event()])
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["legal_basis"] == "《洛阳市政府采购信用评价暂行办法》第十一条第一项"
    shown = public_record(rec)
    assert shown["legal_basis"] == rec["legal_basis"]
    assert shown["references"][0] == "《江苏省政府采购信用管理暂行办法》" and len(shown["references"]) == 3
    body = await get_catalogue(subject="supplier", severity="general")
    g01 = next(b for b in body["behaviours"] if b["code"] == "SUP-G-01")
    assert g01["legal_basis"] == rec["legal_basis"] and g01["references"] == shown["references"]


async def test_created_then_expired_leaves_the_record_expired(engine: AsyncEngine) -> None:
    await apply_batch(engine, [record_event()])
    await apply_batch(engine, [record_event(RECORD_EXPIRED, version=2, status="expired")])
    (rec,) = await rows(engine, RECORDS_T)
    assert (rec["version"], rec["status"]) == (2, "expired")


async def test_expired_arriving_before_created_stays_expired(engine: AsyncEngine) -> None:
    await apply_batch(engine, [record_event(RECORD_EXPIRED, version=2, status="expired")])
    counts = await apply_batch(engine, [record_event()])
    assert counts["applied"] == 1
    (rec,) = await rows(engine, RECORDS_T)
    assert (rec["version"], rec["status"]) == (2, "expired")


async def test_older_version_later_in_the_same_batch_does_not_win(engine: AsyncEngine) -> None:
    await apply_batch(engine, [record_event(RECORD_EXPIRED, version=2, status="expired"), record_event()])
    (rec,) = await rows(engine, RECORDS_T)
    assert (rec["version"], rec["status"]) == (2, "expired")


async def test_repeated_record_event_is_a_duplicate(engine: AsyncEngine) -> None:
    item = record_event()
    await apply_batch(engine, [item])
    counts = await apply_batch(engine, [item])
    assert counts == {"applied": 0, "duplicate": 1, "rejected": 0}


# --- subjects -----------------------------------------------------------------------------------


async def test_newer_subject_snapshot_wins(engine: AsyncEngine) -> None:
    general = InForce("rec-1", "SUP-G-01", "general", date(2027, 11, 22))
    await apply_batch(engine, [status_event(1, [general])])
    await apply_batch(engine, [status_event(2, [])])
    (s,) = await rows(engine, SUBJECTS_T)
    assert (s["version"], s["snapshot"]["status"]) == (2, "clean")


async def test_older_subject_snapshot_arriving_late_changes_nothing(engine: AsyncEngine) -> None:
    general = InForce("rec-1", "SUP-G-01", "general", date(2027, 11, 22))
    await apply_batch(engine, [status_event(2, [])])
    await apply_batch(engine, [status_event(1, [general])])
    (s,) = await rows(engine, SUBJECTS_T)
    assert (s["version"], s["snapshot"]["status"]) == (2, "clean")


# --- masking ------------------------------------------------------------------------------------


async def test_expert_name_is_masked_in_records(engine: AsyncEngine) -> None:
    await apply_batch(
        engine, [record_event(subject_type="expert", subject_id="EXP-0001", subject_name="张三", code="EXP-G-01")]
    )
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["subject_name"] == "张*"


async def test_expert_name_is_masked_in_subject_snapshots(engine: AsyncEngine) -> None:
    expert = {"type": "expert", "id": "EXP-0001", "name": "张三"}
    await apply_batch(engine, [status_event(1, [], subject=expert)])
    (s,) = await rows(engine, SUBJECTS_T)
    assert s["snapshot"]["subject"]["name"] == "张*"
    assert "张三" not in orjson.dumps(s["snapshot"]).decode()


async def test_organisation_name_is_not_masked(engine: AsyncEngine) -> None:
    await apply_batch(engine, [record_event()])
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["subject_name"] == "洛阳某某科技有限公司"


# A sole trader (个体工商户) is registered under its owner's name and often shows the owner's
# resident id; CONTRACT §3: never published unmasked, whatever the subject type.
OWNER_ID = "410302199001011234"
OWNER_ID_MASKED = "410*************34"


async def test_national_id_in_an_organisation_name_is_masked(engine: AsyncEngine) -> None:
    await apply_batch(engine, [record_event(subject_name=f"洛阳市某某五金店（经营者身份证{OWNER_ID}）")])
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["subject_name"] == f"洛阳市某某五金店（经营者身份证{OWNER_ID_MASKED}）"


async def test_national_id_in_a_subject_snapshot_is_masked(engine: AsyncEngine) -> None:
    supplier = {"type": "supplier", "id": SUPPLIER_ID, "name": f"某某五金店 {OWNER_ID}"}
    await apply_batch(engine, [status_event(1, [], subject=supplier)])
    (s,) = await rows(engine, SUBJECTS_T)
    assert s["snapshot"]["subject"]["name"] == f"某某五金店 {OWNER_ID_MASKED}"
    assert OWNER_ID not in orjson.dumps(s["snapshot"]).decode()


async def test_national_id_in_project_text_is_masked(engine: AsyncEngine) -> None:
    project = {"code": "LYCG-2026-00002", "name": f"委托人{OWNER_ID}的维修项目"}
    await apply_batch(engine, [record_event(project=project)])
    (rec,) = await rows(engine, RECORDS_T)
    assert rec["project"] == {"code": "LYCG-2026-00002", "name": f"委托人{OWNER_ID_MASKED}的维修项目"}


def test_public_name_and_text() -> None:
    assert public_name("expert", "欧阳小明") == "欧***"
    # An expert's name is masked as a name, not searched for ids.
    assert public_name("expert", "张三") == "张*"
    for subject_type in ("supplier", "agency", "purchaser"):
        assert public_name(subject_type, f"店 {OWNER_ID}") == f"店 {OWNER_ID_MASKED}"
        assert public_name(subject_type, "洛阳某某科技有限公司") == "洛阳某某科技有限公司"
    assert public_text(f"编号 {OWNER_ID}") == f"编号 {OWNER_ID_MASKED}"
    assert public_text("") == ""
    assert public_text(None) is None


# --- dead letters -------------------------------------------------------------------------------


async def test_unknown_type_is_dead_lettered(engine: AsyncEngine) -> None:
    e = build_event(type=TYPE_PREFIX + "record.deleted.v1", source="urn:credit:evaluation", data={}, id="x-1")
    counts = await apply_batch(engine, [to_inbound(e)])
    assert counts["rejected"] == 1
    (dead,) = await dead_letters(engine)
    assert dead["data"]["reason"] == "unknown_type"
    assert dead["data"]["original"]["value"]["id"] == "x-1"


async def test_malformed_message_is_dead_lettered(engine: AsyncEngine) -> None:
    raw = SimpleNamespace(value=b"{oops", headers=[("content-type", b"application/cloudevents+json")], key=b"k")
    (item,) = from_kafka([raw])
    await apply_batch(engine, [item])
    (dead,) = await dead_letters(engine)
    assert dead["data"]["reason"] == "malformed_event"
    await apply_batch(engine, list(from_kafka([raw])))  # redelivered: still one dead letter
    assert len(await dead_letters(engine)) == 1


@pytest.mark.parametrize("drop", ["record_id", "version", "valid_until", "subject"])
async def test_record_event_with_missing_field_is_invalid_data(engine: AsyncEngine, drop: str) -> None:
    e = events.record_event(RECORD_CREATED, record_row(), event_time=NOW).event
    del e["data"][drop]
    await apply_batch(engine, [to_inbound(e)])
    (dead,) = await dead_letters(engine)
    assert dead["data"]["reason"] == "invalid_data"
    assert await rows(engine, RECORDS_T) == []


async def test_one_bad_event_does_not_stop_the_batch(engine: AsyncEngine) -> None:
    bad = build_event(type=TYPE_PREFIX + "record.created.v9", source="urn:credit:evaluation", data={}, id="x-2")
    counts = await apply_batch(engine, [to_inbound(bad), record_event()])
    assert counts == {"applied": 1, "duplicate": 0, "rejected": 1}
    assert len(await rows(engine, RECORDS_T)) == 1


@pytest.mark.parametrize("field", ["project", "determination"])
async def test_record_event_with_non_object_field_is_invalid_data(engine: AsyncEngine, field: str) -> None:
    e = events.record_event(RECORD_CREATED, record_row(), event_time=NOW).event
    e["data"][field] = ["not", "an", "object"]
    await apply_batch(engine, [to_inbound(e)])
    (dead,) = await dead_letters(engine)
    assert dead["data"]["reason"] == "invalid_data"
