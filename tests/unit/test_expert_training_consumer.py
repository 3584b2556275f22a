"""The expert-training consumer (services/evaluation/expert_handlers.py) under FastStream's
TestKafkaBroker with SQLite: a training event redelivered (Kafka is at-least-once) signals the
expert's workflow once, and refused input is dead-lettered once."""

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import BaseModel
from sqlalchemy import select

from services.common.cloudevents import encode_structured
from services.common.db import create_tables, make_engine
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import DEAD_LETTER, INBOUND_APPLICATIONS
from services.evaluation.expert_handlers import TRAINING_COMPLETED, build_router
from services.evaluation.models import MESSAGING, TABLES
from tests.support import factories as f
from tests.unit.test_handlers_testbroker import StubRelay


class RecordingSignals:
    """Stands in for Temporal: records each signal the consumer sends."""

    default_region = "410300"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str, BaseModel]] = []

    async def send(self, expert_id: str, name: str, region: str, signal: str, arg: BaseModel) -> None:
        self.sent.append((expert_id, name, region, signal, arg))


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'evaluation.db'}")
    await create_tables(engine, TABLES)
    try:
        yield Runtime(engine=engine, relay=StubRelay())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@pytest.fixture
def signals() -> RecordingSignals:
    return RecordingSignals()


@pytest.fixture
async def broker(rt: Runtime, signals: RecordingSignals, tmp_path: Path) -> AsyncIterator[KafkaBroker]:
    real = KafkaBroker()
    real.include_router(build_router(rt, Settings(credit_var_dir=tmp_path), signals))  # type: ignore[arg-type]
    async with TestKafkaBroker(real) as br:
        yield br


def training(expert_id: str = "EXP-0001", **data: object) -> dict:
    body = {"expert": {"id": expert_id, "name": "张三"}, "completed_on": "2026-11-30", "course": "评审专家培训", **data}
    return f.event(body, type=TRAINING_COMPLETED, source="urn:eproc:luoyang")


async def publish(broker: KafkaBroker, event: dict) -> None:
    value, headers = encode_structured(event)
    await broker.publish(value, INBOUND_APPLICATIONS, key=b"EXP-0001", headers={k: v.decode() for k, v in headers})


async def processed(rt: Runtime) -> list[tuple]:
    t = MESSAGING.processed
    async with rt.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(select(t))]


async def dead_letters(rt: Runtime) -> list[dict]:
    t = MESSAGING.outbox
    async with rt.engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER))
        return [orjson.loads(r.payload) for r in rows]


async def test_a_training_signals_the_experts_workflow(
    broker: KafkaBroker, rt: Runtime, signals: RecordingSignals
) -> None:
    e = training()
    await publish(broker, e)
    ((expert_id, name, region, signal, arg),) = signals.sent
    assert (expert_id, name, region, signal) == ("EXP-0001", "张三", "410300", "training_completed")
    assert arg.model_dump(mode="json") == {
        "event_id": f"urn:eproc:luoyang|{e['id']}",
        "completed_on": "2026-11-30",
        "course": "评审专家培训",
    }
    assert len(await processed(rt)) == 1


async def test_a_redelivered_training_signals_once(broker: KafkaBroker, rt: Runtime, signals: RecordingSignals) -> None:
    e = training()
    await publish(broker, e)
    await publish(broker, e)  # redelivered, e.g. after a rebalance before the offset commit
    assert len(signals.sent) == 1
    assert len(await processed(rt)) == 1


async def test_a_redelivered_refusal_is_dead_lettered_once(
    broker: KafkaBroker, rt: Runtime, signals: RecordingSignals
) -> None:
    e = training(expert_id="not an id!")
    await publish(broker, e)
    await publish(broker, e)
    (dead,) = await dead_letters(rt)
    assert dead["data"]["reason"] == "invalid_identifier"
    assert signals.sent == []
