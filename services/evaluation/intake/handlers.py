"""Kafka consumers of the evaluation service: behaviour reports and determinations, in batches."""

from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume
from services.common.inbound import from_kafka
from services.common.metrics import EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import INBOUND_BEHAVIOUR
from services.evaluation.events import SOURCE
from services.evaluation.intake.ingest import ingest
from services.evaluation.models import MESSAGING

GROUP_ID = "credit-evaluation"


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_BEHAVIOUR,
        **batch_options(settings, group_id=GROUP_ID),
        title="behaviour reports and determinations",
    )
    async def on_behaviour(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, ingest, messaging=MESSAGING, source=SOURCE, service="evaluation")
        for outcomes in results:
            for o in outcomes:
                EVENTS_CONSUMED.labels("evaluation", o.kind).inc()

    return router
