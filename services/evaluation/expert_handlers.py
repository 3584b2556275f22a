"""Feeding the expert-standing workflows (001 Art. 25): each change of an expert's record (read back
from credit.records, so only committed records count) and each completed training
(`expert.training.completed.v1` on credit.inbound.applications) becomes a signal to the expert's
workflow, started on first use (signal-with-start, id `expert:{id}`). Experts' records are a small
share of intake, so Temporal is not on the bulk path; the workflow ignores a repeated signal."""

from datetime import UTC, date, datetime
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter
from pydantic import BaseModel, ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from services.common.deadletter import rejected_event
from services.common.identifiers import is_valid_expert_id
from services.common.inbound import Inbound, from_kafka
from services.common.lawdates import local_date
from services.common.messaging import already_processed, mark_processed, write_outbox
from services.common.policy import policy_for
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.temporal import WORKFLOW_QUEUE, LazyClient
from services.common.topics import INBOUND_APPLICATIONS, RECORDS, TYPE_PREFIX, event_type
from services.evaluation.events import SOURCE
from services.evaluation.models import MESSAGING
from workflows.expert_inputs import ExpertRecordChange, ExpertStandingInput, TrainingCompleted
from workflows.expert_standing import ExpertStandingWorkflow

TRAINING_COMPLETED = event_type("expert.training.completed.v1")
EXPERT_MARK = b'"type":"expert"'
# Applications other services handle: not ours to refuse.
OTHERS_APPLICATIONS = {event_type("repair.requested.v1"), event_type("appeal.filed.v1")}
RECORD_TYPES = {TYPE_PREFIX + f"record.{c}.v1" for c in ("created", "corrected", "upheld", "repaired", "expired")}


class _Expert(BaseModel):
    id: str
    name: str


class _Training(BaseModel):
    expert: _Expert
    completed_on: date
    course: str


class Signals:
    """A Temporal client connected on first use (the service starts even if Temporal is late)."""

    def __init__(self, settings: Settings) -> None:
        self._temporal = LazyClient(settings)
        self.default_region = settings.credit_policy_region

    async def client(self) -> Client:
        return await self._temporal.get()

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
    # A failed signal (Temporal down) fails the batch: it is consumed again.
    common = batch_options(settings, max_records=500, background=True)

    @router.subscriber(RECORDS, group_id="credit-evaluation-experts", title="expert records", **common)
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        # Experts' records are few: skip parsing the rest. Our relay writes compact JSON, so an
        # expert's record always contains this text; a false match is filtered out below.
        records = [r for r in message.raw_message if r.value and EXPERT_MARK in r.value]
        for item in from_kafka(records):
            env = item.envelope
            if env is None or env.type not in RECORD_TYPES or env.data.get("subject", {}).get("type") != "expert":
                continue  # the publication service dead-letters what is malformed on this topic
            subject = env.data["subject"]
            await signals.send(
                subject["id"], subject["name"], env.data["region"], "record_changed", record_change(env.data)
            )

    @router.subscriber(INBOUND_APPLICATIONS, group_id="credit-evaluation-training", title="trainings", **common)
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        now = datetime.now(UTC)
        async with rt.engine.begin() as conn:
            seen = await already_processed(conn, MESSAGING.processed, [i.identity for i in items])
        dead, done = [], []
        for item in items:
            if item.identity in seen or (item.envelope is not None and item.envelope.type in OTHERS_APPLICATIONS):
                continue
            problem = await _training(item, signals)
            if problem:
                dead.append(rejected_event(item, reason=problem[0], message=problem[1], source=SOURCE, now=now))
            done.append((*item.identity, "rejected" if problem else "signalled"))
        async with rt.engine.begin() as conn:
            await mark_processed(conn, MESSAGING.processed, done)
            await write_outbox(conn, MESSAGING.outbox, dead)
        if dead:
            rt.relay.wake()

    return router


async def _training(item: Inbound, signals: Signals) -> tuple[str, str] | None:
    env = item.envelope
    if env is None:
        return item.reason or "malformed_event", item.message or "not a CloudEvent"
    if env.type != TRAINING_COMPLETED:
        return "unknown_type", f"{env.type!r} is not accepted on {INBOUND_APPLICATIONS}"
    try:
        training = _Training.model_validate(env.data)
    except ValidationError as exc:
        return "invalid_data", "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
    if not is_valid_expert_id(training.expert.id):
        return "invalid_identifier", f"{training.expert.id!r} is not an expert id"
    signal = TrainingCompleted(
        event_id=f"{env.source}|{env.id}", completed_on=training.completed_on, course=training.course
    )
    # A training names no region: an expert's workflow exists already (it has the region of its
    # records); one that does not is started under the default policy region.
    await signals.send(training.expert.id, training.expert.name, signals.default_region, "training_completed", signal)
    return None
