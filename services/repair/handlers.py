"""Kafka consumers of the repair service: its replica of `credit.records` (and the repair workflows
it orders), and repair applications on `credit.inbound.applications`."""

from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume
from services.common.inbound import from_kafka
from services.common.metrics import EVENTS_CONSUMED
from services.common.record_owner import RecordOwner, rows_for_batch
from services.common.record_replica import RECORD_TYPES
from services.common.replica_lag import ReplicaClock
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import INBOUND_APPLICATIONS, RECORDS, REPAIR_REQUESTED
from services.repair.applications import receive
from services.repair.events import SOURCE
from services.repair.models import MESSAGING, REPLICA
from services.repair.records import apply_records

OWNER_RETRY_SECONDS = 1.0


def build_router(rt: Runtime, settings: Settings, owner: RecordOwner, clock: ReplicaClock) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        RECORDS, group_id="credit-repair-records", title="record replica", **batch_options(settings, background=True)
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, apply_records, messaging=MESSAGING, source=SOURCE, service="repair")
        clock.note([i.envelope.time for i in items if i.envelope is not None and i.envelope.type in RECORD_TYPES])
        rt.wake_commands()
        for counts in results:
            for kind, n in counts.items():
                EVENTS_CONSUMED.labels("repair", kind).inc(n)

    @router.subscriber(
        INBOUND_APPLICATIONS,
        group_id="credit-repair-applications",
        title="repair applications",
        **batch_options(settings, max_records=500, background=True),
    )
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        # Malformed events and the other applications on this topic (appeals, trainings) are not
        # ours: the evaluation service dead-letters what nobody accepts.
        items = [i for i in from_kafka(message.raw_message) if i.envelope and i.envelope.type == REPAIR_REQUESTED]
        if not items:
            return
        # Records the replica has not heard of yet are asked of their owner first.
        learned = await rows_for_batch(rt.engine, REPLICA, owner, items, pause=OWNER_RETRY_SECONDS)

        async def apply(conn, batch, *, now):  # type: ignore[no-untyped-def]
            return await receive(conn, batch, now=now, learned=learned)

        results = await consume(rt, items, apply, messaging=MESSAGING, source=SOURCE, service="repair")
        rt.wake_commands()
        for outcomes in results:
            for o in outcomes:
                EVENTS_CONSUMED.labels("repair", o.kind).inc()

    return router
