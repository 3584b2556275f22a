"""Kafka consumers of the statistics service: the outbound topics it counts (counting.py), and the
push outcomes on `credit.pushes`, which it alone reads and answers for (push_counts.py)."""

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
from services.statistics.push_counts import PUSH_CONSUMER, apply_pushes


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

    @router.subscriber(
        *PUSH_CONSUMER.topics,
        title="statistics of pushes",
        **batch_options(settings, group_id="credit-statistics-pushes", background=True),
    )
    async def on_pushes(body: Any, message: Any = Context("message")) -> None:
        # Everything on the topic is taken: what is not a push outcome is dead-lettered here.
        items = from_kafka(message.raw_message)
        for counts in await consume(rt, items, apply_pushes, messaging=MESSAGING, source=SOURCE, service="statistics"):
            for kind, n in counts.items():
                EVENTS_CONSUMED.labels("statistics", kind).inc(n)

    return router
