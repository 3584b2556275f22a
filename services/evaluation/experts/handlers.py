"""Feeding the expert-standing workflows (001 Art. 25), on the consumer frame: each change of an
expert's record (read back from credit.records, so only committed records count) and each completed
training (`expert.training.completed.v1` on credit.inbound.applications) becomes a signal-with-start
of the expert's workflow, written as a command (experts/commands.py) in the transaction that marks
the event processed; the command relay delivers it. Neither consumer waits for Temporal: while it
is away the commands wait in `evaluation_command`."""

from datetime import datetime
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume
from services.common.commands import Command, write_commands
from services.common.contracts.applications import COMMITMENT_BREACHED, COMMITMENT_MADE, TRAINING, TrainingCompleted
from services.common.contracts.decode import Typed
from services.common.contracts.owners import EVALUATION
from services.common.contracts.records import (
    RECORD_CORRECTED,
    RECORD_CREATED,
    RECORD_EXPIRED,
    RECORD_REPAIRED,
    RECORD_UPHELD,
    RecordData,
)
from services.common.frame import NOT_MINE, Accepted, Batch, Consumer, Outcome, Rejected, counts, handle_batch
from services.common.identifiers import is_valid_expert_id
from services.common.inbound import Inbound, from_kafka
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import INBOUND_APPLICATIONS, RECORDS
from services.evaluation.events import SOURCE
from services.evaluation.experts.commands import RECORD_CHANGED, TRAINING_COMPLETED, standing_command
from services.evaluation.models import COMMANDS, MESSAGING
from services.evaluation.records.commitments import commitment_breached, commitment_made
from workflows.expert_standing.inputs import ExpertRecordChange
from workflows.expert_standing.inputs import TrainingCompleted as TrainingSignal

EXPERT_MARK = b'"type":"expert"'
# The changes of a record an expert's standing follows (appealed changes nothing for it).
RECORD_CONTRACTS = (RECORD_CREATED, RECORD_CORRECTED, RECORD_UPHELD, RECORD_REPAIRED, RECORD_EXPIRED)


def _ref(event: Typed[Any]) -> str:
    return f"{event.envelope.source}|{event.envelope.id}"


def _command(batch: Batch, command: Command) -> None:
    commands: list[Command] = batch.state("commands", list)
    commands.append(command)


async def _write_commands(batch: Batch) -> None:
    await write_commands(batch.conn, COMMANDS, batch.state("commands", list))


async def _record_changed(event: Typed[RecordData], batch: Batch) -> Outcome:
    record = event.data
    if record.subject.type != "expert":
        return NOT_MINE  # a supplier's or an agency's record: the other readers' business
    # Validated: a severity or status the workflow does not know raises (the poison rule applies).
    change = ExpertRecordChange.model_validate(
        {
            "record_id": record.record_id,
            "version": record.version,
            "severity": record.severity,
            "behaviour_code": record.behaviour.code,
            "recorded_on": record.recorded_on,
            "status": record.status,
        }
    )
    subject = record.subject
    _command(batch, standing_command(RECORD_CHANGED, _ref(event), subject.id, subject.name, record.region, change))
    return Accepted("signalled")


# credit.records is the publication service's to answer for (contracts/owners.py): a record that
# does not fit its contract is dead-lettered there once and passed over here (`refuses_invalid`).
RECORDS_CONSUMER = Consumer(
    service=EVALUATION,
    source=SOURCE,
    messaging=MESSAGING,
    topics=(RECORDS,),
    handlers=dict.fromkeys(RECORD_CONTRACTS, _record_changed),
    conflicts=False,
    refuses_invalid=False,
    finish=_write_commands,
)


def training_consumer(default_region: str) -> Consumer:
    """expert.training.completed.v1 on the frame. The evaluation service answers for the rest of
    credit.inbound.applications (contracts/owners.py): it passes over the applications the repair
    and appeal services read, and dead-letters what nobody reads or cannot be read."""

    async def completed(event: Typed[TrainingCompleted], batch: Batch) -> Accepted | Rejected:
        training = event.data
        expert = training.expert
        if not is_valid_expert_id(expert.id):
            return Rejected("invalid_identifier", f"{expert.id!r} is not an expert id")
        signal = TrainingSignal(event_id=_ref(event), completed_on=training.completed_on, course=training.course)
        # A training names no region: an expert's workflow exists already (it has the region of its
        # records); one that does not is started under the default policy region.
        _command(
            batch, standing_command(TRAINING_COMPLETED, _ref(event), expert.id, expert.name, default_region, signal)
        )
        return Accepted("signalled")

    return Consumer(
        service=EVALUATION,
        source=SOURCE,
        messaging=MESSAGING,
        topics=(INBOUND_APPLICATIONS,),
        handlers={TRAINING: completed, COMMITMENT_MADE: commitment_made, COMMITMENT_BREACHED: commitment_breached},
        finish=_write_commands,
    )


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()
    training = training_consumer(settings.credit_policy_region)

    async def apply(consumer: Consumer, items: list[Inbound]) -> None:
        async def one_batch(conn: Any, batch: list[Inbound], *, now: datetime) -> dict[str, int]:
            return counts(await handle_batch(consumer, conn, batch, now=now))

        await consume(rt, items, one_batch, messaging=MESSAGING, source=SOURCE, service=EVALUATION)
        rt.wake_commands()

    @router.subscriber(
        RECORDS,
        title="expert records",
        **batch_options(settings, group_id="credit-evaluation-experts", max_records=500, background=True),
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        # Experts' records are few: skip parsing the rest. Our relay writes compact JSON, so an
        # expert's record always contains this text; a false match is passed over by the handler.
        records = [r for r in message.raw_message if r.value and EXPERT_MARK in r.value]
        items = [i for i in from_kafka(records) if RECORDS_CONSUMER.takes(i)]
        if items:
            await apply(RECORDS_CONSUMER, items)

    @router.subscriber(
        INBOUND_APPLICATIONS,
        title="trainings",
        **batch_options(settings, group_id="credit-evaluation-training", max_records=500, background=True),
    )
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        items = [i for i in from_kafka(message.raw_message) if training.takes(i)]
        if items:
            await apply(training, items)

    return router
