"""Kafka consumers of the publication service: its read model from credit.records, credit.subjects
and credit.experts, and the blacklist notices written with it."""

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
from services.common.topics import EXPERTS, RECORDS, SUBJECTS
from services.publication.models import MESSAGING
from services.publication.readmodel import SOURCE, apply

GROUP_ID = "credit-publication"


def build_router(rt: Runtime, settings: Settings, *, after_batch: Callable[[], None] | None = None) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        RECORDS,
        SUBJECTS,
        EXPERTS,
        **batch_options(settings, group_id=GROUP_ID),
        title="public read model",
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, apply, messaging=MESSAGING, source=SOURCE, service="publication")
        if after_batch is not None:
            after_batch()  # the pushes of the notices just committed
        for counts in results:
            for kind, n in counts.items():
                EVENTS_CONSUMED.labels("publication", kind).inc(n)

    return router
