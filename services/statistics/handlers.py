"""Kafka consumer of the statistics service: the outbound topics it counts (counting.py)."""

from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume
from services.common.inbound import from_kafka
from services.common.metrics import EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.statistics.counting import CONSUMER, SOURCE, apply_events
from services.statistics.models import MESSAGING


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        *CONSUMER.topics, title="statistics", **batch_options(settings, group_id="credit-statistics", background=True)
    )
    async def on_events(body: Any, message: Any = Context("message")) -> None:
        items = [i for i in from_kafka(message.raw_message) if CONSUMER.takes(i)]
        if not items:
            return
        for counts in await consume(rt, items, apply_events, messaging=MESSAGING, source=SOURCE, service="statistics"):
            for kind, n in counts.items():
                EVENTS_CONSUMED.labels("statistics", kind).inc(n)

    return router
