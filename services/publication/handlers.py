"""Kafka consumers of the publication service: its read model from credit.records and credit.subjects."""

from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy, Context
from faststream.kafka import KafkaRouter

from services.common.batches import apply_batch
from services.common.inbound import from_kafka
from services.common.metrics import BATCH_SECONDS, EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import EXPERTS, RECORDS, SUBJECTS
from services.publication.models import MESSAGING
from services.publication.readmodel import SOURCE, apply

GROUP_ID = "credit-publication"


async def _raw(msg: Any) -> None:
    return None  # parsed by the handler itself, see services.evaluation.handlers


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        RECORDS,
        SUBJECTS,
        EXPERTS,
        group_id=GROUP_ID,
        batch=True,
        max_records=settings.kafka_max_batch,
        batch_timeout_ms=settings.kafka_fetch_max_wait_ms,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw,
        title="public read model",
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        now = datetime.now(UTC)
        with BATCH_SECONDS.labels("publication").time():
            async with rt.intake_lock:
                results = await apply_batch(
                    rt.engine,
                    items,
                    lambda conn, batch: apply(conn, batch, now=now),
                    processed=MESSAGING.processed,
                    outbox=MESSAGING.outbox,
                    source=SOURCE,
                    now=now,
                )
        rt.relay.wake()
        for counts in results:
            for kind, n in counts.items():
                EVENTS_CONSUMED.labels("publication", kind).inc(n)

    return router
