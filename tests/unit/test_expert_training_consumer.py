"""The expert-training consumer (services/evaluation/experts/handlers.py) under FastStream's
TestKafkaBroker with SQLite: a training event redelivered (Kafka is at-least-once) signals the
expert's workflow once, and refused input is dead-lettered once."""

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import BaseModel
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from services.common.cloudevents import encode_structured
from services.common.db import create_tables, make_engine
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import DEAD_LETTER, INBOUND_APPLICATIONS, RECORDS, TYPE_PREFIX
from services.evaluation.experts.handlers import TRAINING_COMPLETED, build_router
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


# --- issue 21, point 1: a poison message never stops the partition ---------------------------


class FlakySignals(RecordingSignals):
    """Refuses the signals of `refused` experts with `error` every time; may be "down"."""

    def __init__(self, refused: set[str], error: Exception) -> None:
        super().__init__()
        self.refused, self.error, self.down, self.tries = refused, error, False, 0

    async def send(self, expert_id: str, name: str, region: str, signal: str, arg: BaseModel) -> None:
        self.tries += 1
        if self.down:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        if expert_id in self.refused:
            raise self.error
        await super().send(expert_id, name, region, signal, arg)


async def flaky_broker(rt: Runtime, signals: RecordingSignals, tmp_path: Path) -> AsyncIterator[KafkaBroker]:
    real = KafkaBroker()
    settings = Settings(credit_var_dir=tmp_path, credit_poison_attempts=3, credit_poison_backoff_seconds=0)
    real.include_router(build_router(rt, settings, signals))  # type: ignore[arg-type]
    async with TestKafkaBroker(real) as br:
        yield br


async def publish_batch(broker: KafkaBroker, topic: str, *events: dict) -> None:
    # One batch, as Kafka delivers it: the consumer sees both in one call.
    encoded = [encode_structured(e) for e in events]
    await broker.publish_batch(*[v for v, _ in encoded], topic=topic, headers={k: v.decode() for k, v in encoded[0][1]})


@pytest.mark.parametrize(
    "error",
    [RPCError("bad request", RPCStatusCode.INVALID_ARGUMENT, b""), ValueError("cannot build the signal")],
    ids=["temporal-refuses", "code-raises"],
)
async def test_a_training_refused_every_time_is_dead_lettered_and_the_next_is_signalled(
    rt: Runtime, tmp_path: Path, error: Exception
) -> None:
    signals = FlakySignals({"EXP-0001"}, error)
    poison, valid = training("EXP-0001"), training("EXP-0002")
    async for broker in flaky_broker(rt, signals, tmp_path):
        await publish_batch(broker, INBOUND_APPLICATIONS, poison, valid)
        await publish(broker, poison)  # redelivered: not tried again
    assert [s[0] for s in signals.sent] == ["EXP-0002"]
    assert signals.tries == 3 + 1  # bounded: three attempts of the poison, one of the valid
    (dead,) = await dead_letters(rt)
    assert dead["data"]["reason"] == "processing_failed"
    assert dead["data"]["error_class"] == type(error).__name__
    assert sorted(r[3] for r in await processed(rt)) == ["rejected", "signalled"]


async def test_temporal_down_fails_the_batch_and_dead_letters_nothing(rt: Runtime, tmp_path: Path) -> None:
    signals = FlakySignals(set(), ValueError())
    signals.down = True
    e = training()
    async for broker in flaky_broker(rt, signals, tmp_path):
        with pytest.raises(RPCError):  # consumed again: an outage is waited out, never dead-lettered
            await publish(broker, e)
        assert signals.tries == 1  # not retried as if it were the message's fault
        assert await dead_letters(rt) == [] and await processed(rt) == []
        signals.down = False
        await publish(broker, e)  # the redelivery once Temporal is back
    assert [s[0] for s in signals.sent] == ["EXP-0001"]


def expert_record(record_id: str, **changes: object) -> dict:
    data = {
        "record_id": record_id,
        "version": 1,
        "status": "in_force",
        "subject": {"type": "expert", "id": "EXP-0001", "name": "张三"},
        "behaviour": {"code": "EXP-G-01", "severity": "general"},
        "severity": "general",
        "region": "410300",
        "recorded_on": "2026-11-30",
        **changes,
    }
    return f.event(data, type=f"{TYPE_PREFIX}record.created.v1", source="urn:credit:evaluation")


async def test_an_expert_record_that_cannot_become_a_signal_is_dead_lettered_and_the_next_is_signalled(
    rt: Runtime, tmp_path: Path
) -> None:
    signals = FlakySignals(set(), ValueError())
    poison = expert_record("rec-1", behaviour=None)  # record_change raises TypeError every time
    valid = expert_record("rec-2")
    async for broker in flaky_broker(rt, signals, tmp_path):
        await publish_batch(broker, RECORDS, poison, valid)
        await publish_batch(broker, RECORDS, poison)  # redelivered: not tried again
    assert [(s[3], s[4].record_id) for s in signals.sent] == [("record_changed", "rec-2")]
    (dead,) = await dead_letters(rt)
    assert (dead["data"]["reason"], dead["data"]["error_class"]) == ("processing_failed", "TypeError")


async def test_applications_other_services_read_are_passed_over_and_unknown_types_refused(
    broker: KafkaBroker, rt: Runtime, signals: RecordingSignals
) -> None:
    # The evaluation service answers for credit.inbound.applications (contracts/owners.py): a repair
    # application is the repair service's, an unknown type nobody's, so it is refused here, once.
    repair = f.event({"record_id": "rec-1", "applicant": {"id": "x"}}, type=f"{TYPE_PREFIX}repair.requested.v1")
    unknown = f.event({"x": 1}, type=f"{TYPE_PREFIX}expert.training.completed.v7")
    for e in (repair, unknown, unknown):
        await publish(broker, e)
    (dead,) = await dead_letters(rt)
    assert dead["data"]["reason"] == "unknown_type"
    assert "v1" in dead["data"]["message"]  # the versions accepted
    assert [r[1] for r in await processed(rt)] == [unknown["id"]]
    assert signals.sent == []
