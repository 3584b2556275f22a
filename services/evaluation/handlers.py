"""Kafka consumers of the evaluation service: behaviour reports and determinations, in batches."""

from datetime import UTC, datetime
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import apply_batch
from services.common.inbound import from_kafka
from services.common.metrics import BATCH_SECONDS, EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import INBOUND_BEHAVIOUR
from services.evaluation.events import SOURCE
from services.evaluation.intake import ingest
from services.evaluation.models import MESSAGING

GROUP_ID = "credit-evaluation"


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_BEHAVIOUR,
        group_id=GROUP_ID,
        **batch_options(settings),
        title="behaviour reports and determinations",
    )
    async def on_behaviour(body: Any, message: Any = Context("message")) -> None:
        records = message.raw_message
        items = from_kafka(records)
        now = datetime.now(UTC)
        with BATCH_SECONDS.labels("evaluation").time():
            async with rt.intake_lock:
                results = await apply_batch(
                    rt.engine,
                    items,
                    lambda conn, batch: ingest(conn, batch, now=now),
                    processed=MESSAGING.processed,
                    outbox=MESSAGING.outbox,
                    source=SOURCE,
                    now=now,
                )
        rt.relay.wake()
        for outcomes in results:
            for o in outcomes:
                EVENTS_CONSUMED.labels("evaluation", o.kind).inc()

    return router
