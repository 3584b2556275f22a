"""The watch's Kafka consumer: a thin adapter from `credit.inbound.procurement` to intake.receive
(services.common.batches.consume: one transaction per batch, poison messages alone, dead letters
through the outbox). Nothing about procurement is decided here."""

from collections.abc import Callable
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.batches import consume
from services.common.inbound import from_kafka
from services.common.metrics import EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import INBOUND_PROCUREMENT
from services.watch.events import SOURCE
from services.watch.intake import receive
from services.watch.models import MESSAGING


def build_router(rt: Runtime, settings: Settings, wake: Callable[[], None]) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_PROCUREMENT, group_id="credit-watch", title="procurement timelines", **batch_options(settings)
    )
    async def on_procurement(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, receive, messaging=MESSAGING, source=SOURCE, service="watch")
        wake()
        for outcomes in results:
            for o in outcomes:
                EVENTS_CONSUMED.labels("watch", o.kind).inc()

    return router
