"""The expert consumers (services/evaluation/experts/handlers.py) under FastStream's TestKafkaBroker
with SQLite: a completed training or a change of an expert's record becomes a signal-with-start
command of the expert's workflow in `evaluation_command` (delivered by the command relay, tested in
test_command_relay.py), written once however often Kafka redelivers; refused input is dead-lettered
once; the consumers never call Temporal, so an outage of Temporal holds nothing up here."""

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import select

from services.common.cloudevents import encode_structured
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import DEAD_LETTER, INBOUND_APPLICATIONS, RECORDS, TYPE_PREFIX
from services.evaluation.experts import handlers
from services.evaluation.experts.commands import RECORD_CHANGED, TRAINING_COMPLETED
from services.evaluation.experts.handlers import build_router
from services.evaluation.models import COMMANDS, MESSAGING
from tests.support import factories as f
from tests.unit import test_handlers_testbroker

# The evaluation database in SQLite, with a stand-in for the outbox relay.
rt = test_handlers_testbroker.rt
TRAINING_TYPE = f"{TYPE_PREFIX}expert.training.completed.v1"


async def make_broker(rt: Runtime, tmp_path: Path) -> AsyncIterator[KafkaBroker]:
    real = KafkaBroker()
    settings = Settings(
        credit_var_dir=tmp_path,
        credit_policy_region="410300",
        credit_poison_attempts=3,
        credit_poison_backoff_seconds=0,
    )
    real.include_router(build_router(rt, settings))
    async with TestKafkaBroker(real) as br:
        yield br


@pytest.fixture
async def broker(rt: Runtime, tmp_path: Path) -> AsyncIterator[KafkaBroker]:
    async for br in make_broker(rt, tmp_path):
        yield br


def training(expert_id: str = "EXP-0001", **data: object) -> dict:
    body = {"expert": {"id": expert_id, "name": "张三"}, "completed_on": "2026-11-30", "course": "评审专家培训", **data}
    return f.event(body, type=TRAINING_TYPE, source="urn:eproc:luoyang")


def expert_record(record_id: str, subject_type: str = "expert", **changes: object) -> dict:
    data = {
        "record_id": record_id,
        "version": 1,
        "status": "in_force",
        "subject": {"type": subject_type, "id": "EXP-0001", "name": "张三"},
        "behaviour": {"code": "EXP-G-01", "severity": "general"},
        "severity": "general",
        "region": "410300",
        "recorded_on": "2026-11-30",
        "valid_until": "2027-11-30",
        **changes,
    }
    return f.event(data, type=f"{TYPE_PREFIX}record.created.v1", source="urn:credit:evaluation")


async def publish(broker: KafkaBroker, event: dict, topic: str = INBOUND_APPLICATIONS) -> None:
    value, headers = encode_structured(event)
    await broker.publish(value, topic, key=b"EXP-0001", headers={k: v.decode() for k, v in headers})


async def publish_batch(broker: KafkaBroker, topic: str, *events: dict) -> None:
    # One batch, as Kafka delivers it: the consumer sees them in one call.
    encoded = [encode_structured(e) for e in events]
    await broker.publish_batch(*[v for v, _ in encoded], topic=topic, headers={k: v.decode() for k, v in encoded[0][1]})


async def processed(rt: Runtime) -> list[tuple]:
    t = MESSAGING.processed
    async with rt.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(select(t))]


async def dead_letters(rt: Runtime) -> list[dict]:
    t = MESSAGING.outbox
    async with rt.engine.connect() as conn:
        rows = await conn.execute(select(t.c.payload).where(t.c.topic == DEAD_LETTER))
        return [orjson.loads(r.payload) for r in rows]


async def commands(rt: Runtime) -> list[dict]:
    async with rt.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(COMMANDS).order_by(COMMANDS.c.seq))]


async def test_a_training_writes_the_signal_of_the_experts_workflow(broker: KafkaBroker, rt: Runtime) -> None:
    e = training()
    await publish(broker, e)
    (c,) = await commands(rt)
    ref = f"urn:eproc:luoyang|{e['id']}"
    assert (c["purpose"], c["ref"], c["action"], c["workflow_id"], c["workflow"], c["name"], c["state"]) == (
        TRAINING_COMPLETED,
        ref,
        "start",  # signal-with-start: the workflow is started on first use
        "expert:EXP-0001",
        "ExpertStandingWorkflow",
        "training_completed",
        "pending",
    )
    assert c["arg"] == {"event_id": ref, "completed_on": "2026-11-30", "course": "评审专家培训"}
    # A training names no region: the default policy region's expert rules start the workflow.
    assert (c["start_arg"]["expert_id"], c["start_arg"]["expert_name"], c["start_arg"]["region"]) == (
        "EXP-0001",
        "张三",
        "410300",
    )
    assert [r[3] for r in await processed(rt)] == ["signalled"]


async def test_a_redelivered_training_is_commanded_once(broker: KafkaBroker, rt: Runtime) -> None:
    e = training()
    await publish(broker, e)
    await publish(broker, e)  # redelivered, e.g. after a rebalance before the offset commit
    assert len(await commands(rt)) == 1
    assert len(await processed(rt)) == 1


async def test_a_redelivered_refusal_is_dead_lettered_once(broker: KafkaBroker, rt: Runtime) -> None:
    e = training(expert_id="not an id!")
    await publish(broker, e)
    await publish(broker, e)
    (dead,) = await dead_letters(rt)
    assert dead["data"]["reason"] == "invalid_identifier"
    assert await commands(rt) == []


# --- issue 21, point 1: a poison message never stops the partition ---------------------------


async def test_a_training_that_fails_every_time_is_dead_lettered_and_the_next_is_commanded(
    rt: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = handlers.standing_command
    tries = {"EXP-0001": 0}

    def failing(purpose: str, ref: str, expert_id: str, *args: object) -> object:
        if expert_id == "EXP-0001":
            tries[expert_id] += 1
            raise ValueError("cannot build the signal")
        return real(purpose, ref, expert_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(handlers, "standing_command", failing)
    poison, valid = training("EXP-0001"), training("EXP-0002")
    async for broker in make_broker(rt, tmp_path):
        await publish_batch(broker, INBOUND_APPLICATIONS, poison, valid)
        await publish(broker, poison)  # redelivered: not tried again
    assert [c["workflow_id"] for c in await commands(rt)] == ["expert:EXP-0002"]
    assert tries["EXP-0001"] == 1 + 3  # the batch once, then three attempts of its own
    (dead,) = await dead_letters(rt)
    assert (dead["data"]["reason"], dead["data"]["error_class"]) == ("processing_failed", "ValueError")
    assert sorted(r[3] for r in await processed(rt)) == ["rejected", "signalled"]


async def test_an_expert_record_that_cannot_become_a_signal_is_dead_lettered_and_the_next_is_commanded(
    rt: Runtime,
    tmp_path: Path,
) -> None:
    # Fits the record contract, but its severity is none the expert workflow knows: the handler
    # raises every time, so it is dead-lettered `processing_failed` and the partition goes on.
    poison = expert_record("rec-1", severity="catastrophic")
    valid = expert_record("rec-2")
    async for broker in make_broker(rt, tmp_path):
        await publish_batch(broker, RECORDS, poison, valid)
        await publish_batch(broker, RECORDS, poison)  # redelivered: not tried again
    ((purpose, name, arg),) = [(c["purpose"], c["name"], c["arg"]) for c in await commands(rt)]
    assert (purpose, name, arg["record_id"], arg["behaviour_code"]) == (
        RECORD_CHANGED,
        "record_changed",
        "rec-2",
        "EXP-G-01",
    )
    (dead,) = await dead_letters(rt)
    assert (dead["data"]["reason"], dead["data"]["error_class"]) == ("processing_failed", "ValidationError")


async def test_a_malformed_record_is_passed_over_for_its_owner_to_dead_letter(broker: KafkaBroker, rt: Runtime) -> None:
    # Before issue 20 this consumer dead-lettered such a record `processing_failed` itself. On the
    # frame the record contract refuses it first, and credit.records is the publication service's
    # to answer for (contracts/owners.py ANSWERS_UNKNOWN): it dead-letters it there once. A second
    # dead letter from here would refuse the same input twice, so this consumer passes it over —
    # no dead letter, no processed mark, no command — and the next record is still commanded.
    poison = expert_record("rec-1", behaviour=None)
    valid = expert_record("rec-2")
    await publish_batch(broker, RECORDS, poison, valid)
    assert [c["arg"]["record_id"] for c in await commands(rt)] == ["rec-2"]
    assert await dead_letters(rt) == []
    assert [r[1] for r in await processed(rt)] == [valid["id"]]


async def test_a_record_of_another_subject_is_passed_over(broker: KafkaBroker, rt: Runtime) -> None:
    # Names an expert in its text (the consumer's quick byte filter lets it through), but its
    # subject is a supplier: the supplier's readers' business, not an expert standing's.
    supplier = expert_record("rec-3", subject_type="supplier", project={"note": {"type": "expert"}})
    await publish(broker, supplier, RECORDS)
    assert await commands(rt) == [] and await processed(rt) == [] and await dead_letters(rt) == []


async def test_applications_other_services_read_are_passed_over_and_unknown_types_refused(
    broker: KafkaBroker,
    rt: Runtime,
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
    assert await commands(rt) == []
