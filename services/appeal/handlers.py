"""Kafka consumers of the appeal service: objections (`appeal.filed.v1` on
credit.inbound.applications) and the record replica (credit.records)."""

from datetime import datetime
from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from services.appeal.events import SOURCE
from services.appeal.filing import file_appeals
from services.appeal.models import MESSAGING, REPLICA
from services.common.batches import consume
from services.common.inbound import Inbound, from_kafka
from services.common.messaging import already_processed
from services.common.record_owner import RecordOwner, rows_for_batch
from services.common.record_replica import RECORD_TYPES, replica_row, upsert_replica
from services.common.replica_lag import ReplicaClock
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import APPEAL_FILED, INBOUND_APPLICATIONS, RECORDS

log = structlog.get_logger(__name__)
GROUP_ID = "credit-appeal"
RECORDS_GROUP_ID = "credit-appeal-records"
OWNER_RETRY_SECONDS = 1.0


def build_router(rt: Runtime, settings: Settings, owner: RecordOwner, clock: ReplicaClock) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_APPLICATIONS, group_id=GROUP_ID, **batch_options(settings, background=True), title="appeals"
    )
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        # Repairs and trainings are other services' to judge; the evaluation service dead-letters
        # what is malformed or of an unknown type on this topic, so it is refused exactly once.
        items = [
            i for i in from_kafka(message.raw_message) if i.envelope is not None and i.envelope.type == APPEAL_FILED
        ]
        if not items:
            return
        # Records the replica has not heard of yet are asked of their owner first.
        learned = await rows_for_batch(rt.engine, REPLICA, owner, items, pause=OWNER_RETRY_SECONDS)

        async def apply(conn, batch, *, now):  # type: ignore[no-untyped-def]
            return await file_appeals(conn, batch, now=now, learned=learned)

        await consume(rt, items, apply, messaging=MESSAGING, source=SOURCE, service="appeal")
        rt.wake_commands()

    @router.subscriber(
        RECORDS, group_id=RECORDS_GROUP_ID, **batch_options(settings, background=True), title="record replica"
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        # Under the poison rule of every consumer (issue 21): a row the database refuses every time
        # is dead-lettered `processing_failed` after a bounded number of attempts and the partition
        # goes on; a database outage is waited out.
        results = await consume(
            rt, from_kafka(message.raw_message), replicate, messaging=MESSAGING, source=SOURCE, service="appeal"
        )
        clock.note([t for times in results for t in times])

    return router


async def replicate(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> list[datetime]:
    """Stores the records of `items` in the replica; returns the times of the events it used.
    Newer versions win in the upsert, so a redelivered batch changes nothing; an event this
    consumer dead-lettered is not tried again."""
    ours = [i for i in items if i.envelope is not None and i.envelope.type in RECORD_TYPES]
    # the publication service dead-letters what is malformed on this topic
    seen = await already_processed(conn, MESSAGING.processed, [i.identity for i in ours])
    rows, times = [], []
    for item in ours:
        if item.identity in seen:
            continue
        try:
            rows.append(replica_row(item.envelope.data))  # type: ignore[union-attr]
            times.append(item.envelope.time)  # type: ignore[union-attr]
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("record event not usable for the replica", identity=item.identity, error=repr(exc))
    if rows:
        await upsert_replica(conn, REPLICA, rows)
    return times
