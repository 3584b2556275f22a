"""Kafka consumers of the evaluation service: behaviour reports and determinations, in batches."""

from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy, Context
from faststream.kafka import KafkaRouter

from services.common.batches import apply_batch
from services.common.inbound import from_kafka
from services.common.metrics import BATCH_SECONDS, EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.topics import INBOUND_BEHAVIOUR
from services.evaluation.events import SOURCE
from services.evaluation.intake import ingest
from services.evaluation.models import MESSAGING

GROUP_ID = "credit-evaluation"


async def _raw(msg: Any) -> None:
    # The handler parses CloudEvents itself (structured and binary mode); skipping FastStream's
    # JSON decoding means an undecodable message reaches the handler to be dead-lettered.
    return None


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_BEHAVIOUR,
        group_id=GROUP_ID,
        batch=True,
        max_records=settings.kafka_max_batch,
        batch_timeout_ms=settings.kafka_fetch_max_wait_ms,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        auto_offset_reset="earliest",
        # Offsets are committed only after the database transaction; on error the batch is
        # consumed again and the processed-event table makes the replay a no-op.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw,
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
