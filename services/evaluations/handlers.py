"""Kafka consumer of the evaluations service: its replica of `credit.records` (records.py), on the
one consumer frame (idempotent on (source, id); what is malformed is the publication service's to
dead-letter, services/common/contracts/owners.py)."""

from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume
from services.common.inbound import from_kafka
from services.common.replica_lag import ReplicaClock
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import RECORDS
from services.evaluations.models import MESSAGING
from services.evaluations.records import SOURCE, replicate

RECORDS_GROUP_ID = "credit-evaluations-records"


def build_router(rt: Runtime, settings: Settings, clock: ReplicaClock) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        RECORDS, **batch_options(settings, group_id=RECORDS_GROUP_ID, background=True), title="record replica"
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        results = await consume(
            rt, from_kafka(message.raw_message), replicate, messaging=MESSAGING, source=SOURCE, service="evaluations"
        )
        clock.note([t for times in results for t in times])

    return router
