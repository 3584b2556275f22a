"""Kafka consumers of the appeal service: objections (`appeal.filed.v1` on
credit.inbound.applications) and the record replica (credit.records)."""

from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter

from services.appeal.events import SOURCE
from services.appeal.filing import file_appeals
from services.appeal.models import MESSAGING, REPLICA
from services.appeal.starter import ReviewStarter
from services.common.batches import consume
from services.common.inbound import from_kafka
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


def build_router(
    rt: Runtime, settings: Settings, starter: ReviewStarter, owner: RecordOwner, clock: ReplicaClock
) -> KafkaRouter:
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
        starter.wake()

    @router.subscriber(
        RECORDS, group_id=RECORDS_GROUP_ID, **batch_options(settings, background=True), title="record replica"
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        rows, times = [], []
        for item in from_kafka(message.raw_message):
            env = item.envelope
            if env is None or env.type not in RECORD_TYPES:
                continue  # the publication service dead-letters what is malformed on this topic
            try:
                rows.append(replica_row(env.data))
                times.append(env.time)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("record event not usable for the replica", identity=item.identity, error=repr(exc))
        if rows:
            # Newer versions win in the upsert, so a redelivered batch changes nothing.
            async with rt.engine.begin() as conn:
                await upsert_replica(conn, REPLICA, rows)
            clock.note(times)

    return router
