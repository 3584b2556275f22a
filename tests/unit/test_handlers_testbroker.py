"""The evaluation service's Kafka batch subscriber, driven by FastStream's in-memory TestKafkaBroker
(no real broker): the real router, the real intake, a SQLite database.

Under TestKafkaBroker `message.raw_message` of a batch subscriber is a *list* of aiokafka
ConsumerRecords (the real consumer gives a tuple), each with an extra `correlation_id` header and a
`content-type` header that our headers override; a message published without a key has key b""."""

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import encode_structured
from services.common.db import create_tables, make_engine
from services.common.lawdates import today
from services.common.policy import load_policies
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import DEAD_LETTER, INBOUND_BEHAVIOUR
from services.evaluation.intake.handlers import build_router
from services.evaluation.models import MESSAGING, TABLES, CreditRecord
from tests.support import factories as f

RECORDS_T = CreditRecord.__table__  # type: ignore[attr-defined]


class StubRelay:
    """Stands in for the outbox relay: the handler only wakes it after each batch."""

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'evaluation.db'}")
    await create_tables(engine, TABLES)
    try:
        yield Runtime(engine=engine, relay=StubRelay())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@pytest.fixture
async def broker(rt: Runtime, tmp_path: Path) -> AsyncIterator[KafkaBroker]:
    real = KafkaBroker()
    real.include_router(build_router(rt, Settings(credit_var_dir=tmp_path)))
    async with TestKafkaBroker(real) as br:
        yield br


def report() -> dict:
    # The handler stamps `now` from the real clock, so dates are relative to today.
    return f.event(f.report_data(occurred_on=today() - timedelta(days=1)))


def structured(event: dict) -> tuple[bytes, dict[str, str]]:
    value, headers = encode_structured(event)
    return value, {k: v.decode() for k, v in headers}


async def records(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(RECORDS_T))]


async def dead_letters(engine: AsyncEngine) -> list[dict]:
    t = MESSAGING.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER).order_by(t.c.seq))
        return [orjson.loads(r.payload) for r in rows]


async def test_structured_event_on_the_behaviour_topic_is_recorded(broker: KafkaBroker, rt: Runtime) -> None:
    e = report()
    value, headers = structured(e)
    await broker.publish(value, INBOUND_BEHAVIOUR, key=e["data"]["subject"]["id"].encode(), headers=headers)
    (rec,) = await records(rt.engine)
    assert (rec["source"], rec["source_event_id"]) == (e["source"], e["id"])
    assert rec["subject_id"] == e["data"]["subject"]["id"]
    assert rec["status"] == "in_force"
    assert rec["valid_until"] > today()
    assert rt.relay.wakes == 1  # type: ignore[attr-defined]


async def test_binary_mode_event_is_recorded(broker: KafkaBroker, rt: Runtime) -> None:
    e = report()
    headers = {
        "ce_specversion": "1.0",
        "ce_id": e["id"],
        "ce_source": e["source"],
        "ce_type": e["type"],
        "ce_time": e["time"],
        "content-type": "application/json",
    }
    await broker.publish(orjson.dumps(e["data"]), INBOUND_BEHAVIOUR, key=b"k", headers=headers)
    (rec,) = await records(rt.engine)
    assert rec["source_event_id"] == e["id"]


async def test_structured_event_without_headers_or_key_is_recorded(broker: KafkaBroker, rt: Runtime) -> None:
    e = report()
    value, _ = structured(e)
    await broker.publish(value, INBOUND_BEHAVIOUR)
    assert len(await records(rt.engine)) == 1


async def test_a_batch_is_recorded_in_one_delivery(broker: KafkaBroker, rt: Runtime) -> None:
    events = [report() for _ in range(3)]
    await broker.publish_batch(
        *(structured(e)[0] for e in events), topic=INBOUND_BEHAVIOUR, headers=structured(events[0])[1]
    )
    assert {r["source_event_id"] for r in await records(rt.engine)} == {e["id"] for e in events}
    assert rt.relay.wakes == 1  # type: ignore[attr-defined]


async def test_redelivered_event_is_recorded_once(broker: KafkaBroker, rt: Runtime) -> None:
    value, headers = structured(report())
    await broker.publish(value, INBOUND_BEHAVIOUR, headers=headers)
    await broker.publish(value, INBOUND_BEHAVIOUR, headers=headers)
    assert len(await records(rt.engine)) == 1


async def test_undecodable_message_reaches_the_handler_and_is_dead_lettered(broker: KafkaBroker, rt: Runtime) -> None:
    headers = {"content-type": "application/cloudevents+json"}
    await broker.publish(b"\xff\xfe not json", INBOUND_BEHAVIOUR, key=b"k", headers=headers)
    (dead,) = await dead_letters(rt.engine)
    assert dead["data"]["reason"] == "malformed_event"
    assert dead["data"]["original"]["value_encoding"] == "base64"
    assert await records(rt.engine) == []


async def test_rejected_report_is_dead_lettered_by_the_handler(broker: KafkaBroker, rt: Runtime) -> None:
    e = f.event(f.report_data(occurred_on=today() - timedelta(days=1), code="SUP-X-99"))
    value, headers = structured(e)
    await broker.publish(value, INBOUND_BEHAVIOUR, key=b"k", headers=headers)
    (dead,) = await dead_letters(rt.engine)
    assert dead["data"]["reason"] == "unknown_behaviour_code"
    assert dead["data"]["original"]["value"]["id"] == e["id"]


@pytest.fixture
def wuhan_from_2030(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A region whose only policy version is not yet in force: reports there have no rules to apply.
    base = load_policies()["410300"].versions[0].model_dump(mode="json")
    version = base | {"version": "wuhan-2030", "effective_from": "2030-01-01", "effective_to": None}
    instrument = {"number": "TEST FIXTURE", "title": "test fixture policy", "issuer": "tests", "validity_years": None}
    policy = {"region": "420100", "name": "test: not yet in force", "instrument": instrument, "versions": [version]}
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "wuhan.json").write_text(orjson.dumps(policy).decode(), encoding="utf-8")
    monkeypatch.setenv("CREDIT_POLICY_DIR", str(tmp_path / "policies"))
    load_policies.cache_clear()
    yield
    monkeypatch.delenv("CREDIT_POLICY_DIR")
    load_policies.cache_clear()


async def test_report_in_a_region_without_a_policy_in_force_is_no_policy(
    wuhan_from_2030: None, broker: KafkaBroker, rt: Runtime
) -> None:
    e = f.event(f.report_data(occurred_on=today() - timedelta(days=1), region="420102", reporter_type="purchaser"))
    value, headers = structured(e)
    await broker.publish(value, INBOUND_BEHAVIOUR, key=b"k", headers=headers)
    (dead,) = await dead_letters(rt.engine)
    assert dead["data"]["reason"] == "no_policy"
    assert "420100" in dead["data"]["message"]
    assert await records(rt.engine) == []
