"""Feeding the expert-standing workflows (001 Art. 25): each change of an expert's record (read back
from credit.records, so only committed records count) and each completed training
(`expert.training.completed.v1` on credit.inbound.applications) becomes a signal to the expert's
workflow, started on first use (signal-with-start, id `expert:{id}`). Experts' records are a small
share of intake, so Temporal is not on the bulk path; the workflow ignores a repeated signal."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from services.common.batches import consume_each, processing_failed, retry_each
from services.common.contracts.applications import TRAINING, TrainingCompleted
from services.common.contracts.decode import Typed
from services.common.contracts.owners import EVALUATION
from services.common.contracts.records import (
    RECORD_CORRECTED,
    RECORD_CREATED,
    RECORD_EXPIRED,
    RECORD_REPAIRED,
    RECORD_UPHELD,
)
from services.common.frame import Accepted, Batch, Consumer, Rejected
from services.common.identifiers import is_valid_expert_id
from services.common.inbound import Inbound, from_kafka
from services.common.lawdates import local_date
from services.common.messaging import OutboundEvent, already_processed, mark_processed, write_outbox
from services.common.outages import while_database_down
from services.common.policy import policy_for
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.temporal import WORKFLOW_QUEUE, temporal_unavailable
from services.common.topics import INBOUND_APPLICATIONS, RECORDS
from services.evaluation.events import SOURCE
from services.evaluation.models import MESSAGING
from workflows.expert_standing.inputs import ExpertRecordChange, ExpertStandingInput
from workflows.expert_standing.inputs import TrainingCompleted as TrainingSignal
from workflows.expert_standing.workflow import ExpertStandingWorkflow

log = structlog.get_logger(__name__)
# While Temporal does not answer, a batch fails after this pause and is consumed again.
OUTAGE_PAUSE_SECONDS = 1.0
TRAINING_COMPLETED = TRAINING.type
EXPERT_MARK = b'"type":"expert"'
# The changes of a record an expert's standing follows (appealed changes nothing for it).
RECORD_TYPES = {c.type for c in (RECORD_CREATED, RECORD_CORRECTED, RECORD_UPHELD, RECORD_REPAIRED, RECORD_EXPIRED)}


class Signals:
    """Signal-with-start of experts' workflows, through the process's Temporal client (the
    Runtime's, connected on first use: the service starts even if Temporal is late)."""

    def __init__(self, client: Callable[[], Awaitable[Client]], default_region: str) -> None:
        self.client = client
        self.default_region = default_region

    async def send(self, expert_id: str, name: str, region: str, signal: str, arg: BaseModel) -> None:
        rules = policy_for(region, local_date(datetime.now(UTC))).expert
        start = ExpertStandingInput(
            expert_id=expert_id,
            expert_name=name,
            region=region,
            suspension_months=rules.general_suspension_months,
            score=rules.score,
        )
        await (await self.client()).start_workflow(
            ExpertStandingWorkflow.run,
            start,
            id=f"expert:{expert_id}",
            task_queue=WORKFLOW_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=signal,
            start_signal_args=[arg],
        )


def record_change(data: dict) -> ExpertRecordChange:
    return ExpertRecordChange(
        record_id=data["record_id"],
        version=data["version"],
        severity=data["severity"],
        behaviour_code=data["behaviour"]["code"],
        recorded_on=date.fromisoformat(data["recorded_on"]),
        status=data["status"],
    )


def build_router(rt: Runtime, settings: Settings, signals: Signals) -> KafkaRouter:
    router = KafkaRouter()
    common = batch_options(settings, max_records=500, background=True)

    async def each(items: list[Inbound], one: Callable[[Inbound], Awaitable[None]], what: str) -> None:
        """`one(item)` for each item under the poison rule (issue 21): Temporal or the database
        unreachable fails the batch after a pause (it is consumed again, nothing is refused); any
        other failure is tried again a bounded number of times, then the item is dead-lettered
        `processing_failed` with its error class and the partition goes on."""
        now = datetime.now(UTC)
        dead: list[OutboundEvent] = []
        rejected: list[tuple[str, str, str]] = []
        attempts = settings.credit_poison_attempts

        async def refused(item: Inbound, error_class: str, text: str) -> None:
            dead.append(processing_failed(item, error_class, text, attempts=attempts, source=SOURCE, now=now))
            rejected.append((*item.identity, "rejected"))

        await _outage_pause(
            retry_each(
                items,
                one,
                refused,
                attempts=attempts,
                backoff_seconds=settings.credit_poison_backoff_seconds,
                transient=temporal_unavailable,
            ),
            what,
        )
        if dead:
            await _record(rt, rejected, dead, what)

    @router.subscriber(RECORDS, group_id="credit-evaluation-experts", title="expert records", **common)
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        # Experts' records are few: skip parsing the rest. Our relay writes compact JSON, so an
        # expert's record always contains this text; a false match is filtered out below.
        records = [r for r in message.raw_message if r.value and EXPERT_MARK in r.value]
        items = [
            i
            for i in from_kafka(records)
            # the publication service dead-letters what is malformed on this topic
            if i.envelope is not None and i.envelope.type in RECORD_TYPES and _subject_type(i.envelope.data) == "expert"
        ]
        if not items:
            return
        # A record change this consumer already refused is not tried again on redelivery.
        seen = await _seen(rt, items)

        async def one(item: Inbound) -> None:
            data = item.envelope.data  # type: ignore[union-attr]
            subject = data["subject"]
            await signals.send(subject["id"], subject["name"], data["region"], "record_changed", record_change(data))

        await each([i for i in items if i.identity not in seen], one, "expert records consumer")

    training = training_consumer(signals)

    @router.subscriber(INBOUND_APPLICATIONS, group_id="credit-evaluation-training", title="trainings", **common)
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        items = [i for i in from_kafka(message.raw_message) if training.takes(i)]
        if items:
            await _outage_pause(consume_each(rt, items, training, transient=temporal_unavailable), "training consumer")

    return router


def _subject_type(data: Any) -> Any:
    subject = data.get("subject") if isinstance(data, dict) else None
    return subject.get("type") if isinstance(subject, dict) else None


async def _seen(rt: Runtime, items: list[Inbound]) -> set[tuple[str, str]]:
    async def read() -> set[tuple[str, str]]:
        async with rt.engine.begin() as conn:
            return await already_processed(conn, MESSAGING.processed, [i.identity for i in items])

    return await while_database_down("expert consumer", read)


async def _record(rt: Runtime, done: list[tuple[str, str, str]], dead: list[OutboundEvent], what: str) -> None:
    """Marks `done` processed and writes the dead letters, waiting out a database outage."""

    async def write() -> None:
        async with rt.engine.begin() as conn:
            await mark_processed(conn, MESSAGING.processed, done)
            await write_outbox(conn, MESSAGING.outbox, dead)

    await while_database_down(what, write)
    if dead:
        rt.relay.wake()


def training_consumer(signals: Signals) -> Consumer:
    """expert.training.completed.v1 on the frame. The evaluation service answers for the rest of
    credit.inbound.applications (contracts/owners.py): it passes over the applications the repair
    and appeal services read, and dead-letters what nobody reads or cannot be read."""

    async def completed(event: Typed[TrainingCompleted], batch: Batch) -> Accepted | Rejected:
        training = event.data
        if not is_valid_expert_id(training.expert.id):
            return Rejected("invalid_identifier", f"{training.expert.id!r} is not an expert id")
        env = event.envelope
        signal = TrainingSignal(
            event_id=f"{env.source}|{env.id}", completed_on=training.completed_on, course=training.course
        )
        # A training names no region: an expert's workflow exists already (it has the region of its
        # records); one that does not is started under the default policy region.
        expert = training.expert
        await signals.send(expert.id, expert.name, signals.default_region, "training_completed", signal)
        return Accepted("signalled")

    return Consumer(
        service=EVALUATION,
        source=SOURCE,
        messaging=MESSAGING,
        topics=(INBOUND_APPLICATIONS,),
        handlers={TRAINING: completed},
    )


async def _outage_pause(work: Awaitable[Any], what: str) -> None:
    """Await `work`; while Temporal is unreachable it fails after a pause (not a tight loop), and
    the batch is consumed again: nothing is refused because of an outage."""
    try:
        await work
    except Exception as exc:
        if temporal_unavailable(exc):
            log.warning("temporal unavailable; the batch will be consumed again", during=what, error=repr(exc)[:300])
            await asyncio.sleep(OUTAGE_PAUSE_SECONDS)
        raise
