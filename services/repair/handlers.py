"""Kafka consumers of the repair service: its replica of `credit.records` (and the repair workflows
it orders), and repair applications on `credit.inbound.applications`."""

from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume, consume_applications
from services.common.inbound import from_kafka
from services.common.metrics import EVENTS_CONSUMED
from services.common.record_owner import RecordOwner
from services.common.replica_lag import ReplicaClock
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import INBOUND_APPLICATIONS, RECORDS
from services.repair.applications import CONSUMER as APPLYING
from services.repair.applications import receive
from services.repair.events import SOURCE
from services.repair.models import MESSAGING, REPLICA
from services.repair.records import CONSUMER as RECORDS_CONSUMER
from services.repair.records import apply_records

OWNER_RETRY_SECONDS = 1.0  # pause before a batch is consumed again while the records' owner does not answer


def build_router(rt: Runtime, settings: Settings, owner: RecordOwner, clock: ReplicaClock) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        RECORDS, title="record replica", **batch_options(settings, group_id="credit-repair-records", background=True)
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, apply_records, messaging=MESSAGING, source=SOURCE, service="repair")
        clock.note(
            [i.envelope.time for i in items if i.envelope is not None and i.envelope.type in RECORDS_CONSUMER.reads]
        )
        rt.wake_commands()
        for counts in results:
            for kind, n in counts.items():
                EVENTS_CONSUMED.labels("repair", kind).inc(n)

    @router.subscriber(
        INBOUND_APPLICATIONS,
        title="repair applications",
        **batch_options(settings, group_id="credit-repair-applications", max_records=500, background=True),
    )
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        # Malformed events and the other applications on this topic (appeals, trainings) are not
        # ours: the evaluation service dead-letters what nobody accepts.
        raw = message.raw_message
        results = await consume_applications(
            rt, raw, APPLYING, receive, owner=owner, replica=REPLICA, pause=OWNER_RETRY_SECONDS
        )
        if results is None:
            return
        rt.wake_commands()
        for outcomes in results:
            for o in outcomes:
                EVENTS_CONSUMED.labels("repair", o.kind).inc()

    return router
