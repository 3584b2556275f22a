"""Blacklist notices (001 Art. 21) written with the read model on SQLite: a serious record is
published at once and pushed to both national platforms, taken down when it leaves force, each
exactly once per record version; general records and objections push nothing."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import create_tables, make_engine
from services.common.topics import NOTICES, RECORD_APPEALED, RECORD_CORRECTED, RECORD_CREATED, RECORD_EXPIRED
from services.evaluation import events
from services.publication.blacklist_notices import changes
from services.publication.models import MESSAGING, TABLES, PublicNotice, PublicRecord, PushDelivery
from services.publication.readmodel import apply
from tests.unit.test_publication_readmodel import NOW, record_row, to_inbound

NOTICES_T = PublicNotice.__table__
PUSHES_T = PushDelivery.__table__
DETERMINATION = {
    "decision_no": "洛财购处〔2026〕7号",
    "decided_on": "2026-11-20",
    "liability_ends_on": "2028-11-20",
    "penalty": "三年内禁止参加政府采购活动",
}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'publication.db'}")
    await create_tables(eng, TABLES)
    try:
        yield eng
    finally:
        await eng.dispose()


def serious(event_type: str = RECORD_CREATED, *, version: int = 1, status: str = "in_force", **extra):  # type: ignore[no-untyped-def]
    row = record_row(version=version, status=status, code=extra.pop("code", "SUP-S-04"), severity="serious")
    row |= {"determination": DETERMINATION, "valid_until": date(2028, 11, 20), **extra}
    return to_inbound(events.record_event(event_type, row, event_time=NOW).event)


async def apply_each(engine: AsyncEngine, *batches: list) -> None:
    for batch in batches:
        async with engine.begin() as conn:
            await apply(conn, batch, now=NOW)


async def notices(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(NOTICES_T.c.notice_id, NOTICES_T.c.kind).order_by(NOTICES_T.c.notice_id))
        return [tuple(r) for r in rows]


async def pushes(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(PUSHES_T.c.idempotency_key, PUSHES_T.c.action, PUSHES_T.c.state).order_by(PUSHES_T.c.idempotency_key)
        )
        return [tuple(r) for r in rows]


async def notice_events(engine: AsyncEngine) -> list[dict]:
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.topic, t.c.payload).order_by(t.c.seq))
        return [orjson.loads(r.payload) for r in rows if r.topic == NOTICES]


async def test_serious_record_is_published_at_once_and_pushed_to_both_platforms(engine: AsyncEngine) -> None:
    await apply_each(engine, [serious()])
    assert await notices(engine) == [("blacklist-rec-1-v1", "blacklist")]
    # Issue 16 point 12: the national platforms and the same-level public credit system (001 Art. 21).
    assert await pushes(engine) == [
        ("credit:rec-1:v1", "publish", "pending"),
        ("procurement:rec-1:v1", "publish", "pending"),
        ("public_credit:rec-1:v1", "publish", "pending"),
    ]
    (event,) = await notice_events(engine)
    assert event["id"] == "blacklist-rec-1-v1" and event["data"]["kind"] == "blacklist"
    (entry,) = event["data"]["entries"]
    assert entry["record_id"] == "rec-1" and entry["determination"]["liability_ends_on"] == "2028-11-20"
    assert "secret" not in orjson.dumps(event).decode() and "evidence" not in entry


async def test_expiry_takes_it_down_once_and_redelivery_changes_nothing(engine: AsyncEngine) -> None:
    created, expired = serious(), serious(RECORD_EXPIRED, version=2, status="expired")
    await apply_each(engine, [created], [expired], [created, expired])
    assert await notices(engine) == [("blacklist-rec-1-v1", "blacklist"), ("removal-rec-1-v2", "blacklist_removal")]
    assert [k for k, a, _ in await pushes(engine) if a == "withdraw"] == [
        "credit:rec-1:v2",
        "procurement:rec-1:v2",
        "public_credit:rec-1:v2",
    ]
    removal = (await notice_events(engine))[1]["data"]
    assert removal["entries"] == [] and removal["withdrawals"][0]["status"] == "expired"


async def test_created_and_expired_in_one_batch_are_both_published(engine: AsyncEngine) -> None:
    await apply_each(engine, [serious(RECORD_EXPIRED, version=2, status="expired"), serious()])
    assert await notices(engine) == [("blacklist-rec-1-v1", "blacklist"), ("removal-rec-1-v2", "blacklist_removal")]
    assert len(await pushes(engine)) == 6


async def test_objection_changes_nothing_published_but_shows(engine: AsyncEngine) -> None:
    appealed = serious(RECORD_APPEALED, version=2, appeal={"appeal_id": "ap-1", "state": "open"})
    await apply_each(engine, [serious()], [appealed])
    assert await notices(engine) == [("blacklist-rec-1-v1", "blacklist")]
    async with engine.connect() as conn:
        t = PublicRecord.__table__
        assert await conn.scalar(select(t.c.under_objection).where(t.c.record_id == "rec-1")) is True


async def test_correction_to_another_serious_code_republishes_and_to_a_general_one_takes_down(
    engine: AsyncEngine,
) -> None:
    recoded = serious(RECORD_CORRECTED, version=2, code="SUP-S-05")
    general = to_inbound(
        events.record_event(RECORD_CORRECTED, record_row(version=3, code="SUP-G-01"), event_time=NOW).event
    )
    await apply_each(engine, [serious()], [recoded], [general])
    assert await notices(engine) == [
        ("blacklist-rec-1-v1", "blacklist"),
        ("blacklist-rec-1-v2", "blacklist"),
        ("removal-rec-1-v3", "blacklist_removal"),
    ]


async def test_general_records_push_nothing(engine: AsyncEngine) -> None:
    general = to_inbound(events.record_event(RECORD_CREATED, record_row(), event_time=NOW).event)
    await apply_each(engine, [general])
    assert await notices(engine) == [] and await pushes(engine) == []


def test_changes_walk_versions_from_the_stored_one() -> None:
    def row(version: int, status: str = "in_force", severity: str = "serious") -> dict:
        return {
            "record_id": "r",
            "version": version,
            "status": status,
            "severity": severity,
            "behaviour_code": "SUP-S-01",
            "valid_until": date(2028, 1, 1),
        }

    assert changes({}, [row(1)]) == [("blacklist", row(1))]
    assert changes({"r": row(1)}, [row(1)]) == []  # a version already stored
    assert changes({"r": row(2, "expired")}, [row(1)]) == []  # an older one arriving late
    assert changes({"r": row(1)}, [row(2, "repaired")]) == [("blacklist_removal", row(2, "repaired"))]
    assert changes({}, [row(1, severity="general")]) == []


def test_point12_serious_records_go_to_three_targets_general_notices_to_none() -> None:
    """Issue 16 point 12 (001 Art. 21): a serious record is pushed to the same-level public credit
    information system as well as 中国政府采购网 and 信用中国; general records' period notices are
    published on the city procurement website (notice event and page) and pushed nowhere."""
    from services.publication.notices import pushes_for

    record = {"record_id": "rec-9", "version": 1, "region": "410322", "subject_type": "supplier"}
    record |= {"subject_id": "x", "subject_name": "y"}
    keys = [p["idempotency_key"] for p in pushes_for("blacklist-rec-9-v1", "publish", region="410322", record=record)]
    assert keys == ["procurement:rec-9:v1", "credit:rec-9:v1", "public_credit:rec-9:v1"]
    assert pushes_for("period-410300-2026-11-01", "publish", region="410300") == []
