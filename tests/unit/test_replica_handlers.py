"""Issue 23 on the Kafka path, with FastStream's in-memory TestKafkaBroker and SQLite: an objection
or a repair application on credit.inbound.applications for a record the replica has not heard of
is judged against the owner's answer; while the owner does not answer the batch fails (NACK, to
be consumed again) and nothing is refused; record events on credit.records move the lag clock."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.appeal import handlers as appeal_handlers
from services.appeal.models import APPEALS_T
from services.appeal.models import MESSAGING as APPEAL_MESSAGING
from services.appeal.models import REPLICA as APPEAL_REPLICA
from services.appeal.models import TABLES as APPEAL_TABLES
from services.common.cloudevents import build_event, encode_structured
from services.common.db import create_tables, make_engine
from services.common.lawdates import add_months, today
from services.common.record_owner import OwnerUnavailable
from services.common.replica_lag import ReplicaClock
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import (
    APPEAL_FILED,
    DEAD_LETTER,
    INBOUND_APPLICATIONS,
    RECORDS,
    REPAIR_REQUESTED,
    TYPE_PREFIX,
)
from services.repair import handlers as repair_handlers
from services.repair.models import APPLICATIONS, COMMANDS
from services.repair.models import TABLES as REPAIR_TABLES
from tests.support.factories import evidence

SUBJECT = "91410300MA0000001X"
# Luoyang county: its six months of waiting are over, the record is still in force.
RECORDED_ON = add_months(today(), -7)


class Stub:
    def wake(self) -> None:
        pass


class FakeOwner:
    service = "test"

    def __init__(self, *records: dict) -> None:
        self.records = {r["record_id"]: r for r in records}
        self.down = False

    async def fetch(self, record_id: str) -> dict | None:
        if self.down:
            raise OwnerUnavailable("down")
        return self.records.get(record_id)


def record(record_id: str, *, region: str = "410322", version: int = 1) -> dict:
    return {
        "record_id": record_id,
        "version": version,
        "status": "in_force",
        "subject": {"type": "supplier", "id": SUBJECT, "name": "洛阳某某科技有限公司"},
        "behaviour": {"code": "SUP-G-01", "severity": "general"},
        "severity": "general",
        "region": region,
        "recorded_on": RECORDED_ON.isoformat(),
        "valid_until": add_months(RECORDED_ON, 12).isoformat(),
    }


def message(type_: str, data: dict, *, time: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    value, headers = encode_structured(build_event(type=type_, source="urn:portal:test", data=data, time=time))
    return value, {k: v.decode() for k, v in headers}


async def engine_of(tmp_path: Path, name: str, tables: list) -> AsyncEngine:  # type: ignore[type-arg]
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / name}")
    await create_tables(eng, tables)
    return eng


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(appeal_handlers, "OWNER_RETRY_SECONDS", 0)
    monkeypatch.setattr(repair_handlers, "OWNER_RETRY_SECONDS", 0)


@pytest.fixture
async def appeal_side(tmp_path: Path) -> AsyncIterator[tuple[KafkaBroker, Runtime, FakeOwner, ReplicaClock]]:
    engine = await engine_of(tmp_path, "appeal.db", APPEAL_TABLES)
    rt = Runtime(engine=engine, relay=Stub())  # type: ignore[arg-type]
    owner, clock = FakeOwner(record("rec-1")), ReplicaClock("unit-appeal")
    real = KafkaBroker()
    real.include_router(appeal_handlers.build_router(rt, Settings(credit_var_dir=tmp_path), owner, clock))  # type: ignore[arg-type]
    async with TestKafkaBroker(real) as br:
        yield br, rt, owner, clock
    await engine.dispose()


async def rows(engine: AsyncEngine, table) -> list[dict]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(table))]


def objection(record_id: str) -> dict:
    return {"record_id": record_id, "applicant": {"id": SUBJECT}, "grounds": "并非我公司提交", "evidence": evidence(1)}


async def test_an_objection_over_kafka_waits_for_the_owner_and_is_then_filed(appeal_side) -> None:  # type: ignore[no-untyped-def]
    broker, rt, owner, _ = appeal_side
    value, headers = message(APPEAL_FILED, objection("rec-1"))
    owner.down = True
    with pytest.raises(OwnerUnavailable):  # the batch fails: consumed again, nothing refused
        await broker.publish(value, INBOUND_APPLICATIONS, key=SUBJECT.encode(), headers=headers)
    assert await rows(rt.engine, APPEALS_T) == []
    owner.down = False
    await broker.publish(value, INBOUND_APPLICATIONS, key=SUBJECT.encode(), headers=headers)  # the redelivery
    (filed,) = await rows(rt.engine, APPEALS_T)
    assert (filed["record_id"], filed["state"]) == ("rec-1", "filed")


async def test_record_events_move_the_replica_clock(appeal_side) -> None:  # type: ignore[no-untyped-def]
    broker, _, _, clock = appeal_side
    when = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    value, headers = message(f"{TYPE_PREFIX}record.created.v1", record("rec-2"), time=when)
    await broker.publish(value, RECORDS, key=SUBJECT.encode(), headers=headers)
    assert clock.events == 1 and clock.newest == when.timestamp()


async def test_a_repair_over_kafka_for_an_unheard_of_record_starts_the_repair_first(tmp_path: Path) -> None:
    engine = await engine_of(tmp_path, "repair.db", REPAIR_TABLES)
    rt = Runtime(engine=engine, relay=Stub())  # type: ignore[arg-type]
    owner = FakeOwner(record("rec-1"))
    real = KafkaBroker()
    settings = Settings(credit_var_dir=tmp_path)
    router = repair_handlers.build_router(rt, settings, owner, ReplicaClock("unit-repair"))  # type: ignore[arg-type]
    real.include_router(router)
    request = {"record_id": "rec-1", "applicant": {"id": SUBJECT}, "commitment": "承诺已整改", "evidence": evidence(1)}
    value, headers = message(REPAIR_REQUESTED, request)
    async with TestKafkaBroker(real) as broker:
        await broker.publish(value, INBOUND_APPLICATIONS, key=SUBJECT.encode(), headers=headers)
    (application,) = await rows(engine, APPLICATIONS)
    assert application["state"] == "submitted"
    commands = sorted(await rows(engine, COMMANDS), key=lambda c: c["seq"])
    assert [c["purpose"] for c in commands] == ["repair.start", "repair.apply"]
    await engine.dispose()


# --- issue 21, point 1: a record the replica's database refuses never stops the partition -------


class RefusingUpsert:
    """Stands in for the replica's upsert: refuses every batch holding `bad` (as PostgreSQL refuses
    a value too long for its column, raised unwrapped by asyncpg), and fails `outages` times first
    as if the database were restarting."""

    def __init__(self, bad: str, outages: int = 0) -> None:
        self.bad, self.outages, self.calls = bad, outages, 0
        self.real = appeal_handlers.upsert_replica

    async def __call__(self, conn, table, rows):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.outages:
            self.outages -= 1
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        if any(r["record_id"] == self.bad for r in rows):
            raise asyncpg.exceptions.StringDataRightTruncationError("value too long for type character varying(64)")
        await self.real(conn, table, rows)


async def dead_letters_of(engine: AsyncEngine) -> list[dict]:
    t = APPEAL_MESSAGING.outbox
    async with engine.connect() as conn:
        return [
            orjson.loads(r.payload) for r in await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER))
        ]


def records_batch(*datas: dict) -> tuple[list[bytes], dict[str, str]]:
    encoded = [message(f"{TYPE_PREFIX}record.created.v1", d) for d in datas]
    return [v for v, _ in encoded], encoded[0][1]


async def test_a_record_the_replica_refuses_every_time_is_dead_lettered_and_the_next_is_stored(
    appeal_side, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    broker, rt, _, clock = appeal_side
    upsert = RefusingUpsert("rec-bad")
    monkeypatch.setattr(appeal_handlers, "upsert_replica", upsert)
    values, headers = records_batch(record("rec-bad"), record("rec-2"))
    await broker.publish_batch(*values, topic=RECORDS, headers=headers)
    assert [r["record_id"] for r in await rows(rt.engine, APPEAL_REPLICA)] == ["rec-2"]
    (dead,) = await dead_letters_of(rt.engine)
    assert (dead["data"]["reason"], dead["data"]["error_class"]) == (
        "processing_failed",
        "StringDataRightTruncationError",
    )
    calls = upsert.calls  # the batch, then the poison 3 times (bounded) and the valid once
    assert calls == 1 + 3 + 1
    await broker.publish_batch(values[0], topic=RECORDS, headers=headers)  # redelivered: not tried again
    assert upsert.calls == calls and len(await dead_letters_of(rt.engine)) == 1
    assert clock.events == 1


async def test_a_database_outage_on_the_replica_is_waited_out_and_nothing_is_dead_lettered(
    appeal_side, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    broker, rt, _, _ = appeal_side
    monkeypatch.setattr(appeal_handlers, "upsert_replica", RefusingUpsert("none", outages=1))
    values, headers = records_batch(record("rec-3"))
    await broker.publish_batch(*values, topic=RECORDS, headers=headers)
    assert [r["record_id"] for r in await rows(rt.engine, APPEAL_REPLICA)] == ["rec-3"]
    assert await dead_letters_of(rt.engine) == []
