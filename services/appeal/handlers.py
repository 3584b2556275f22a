"""Kafka consumers of the appeal service: objections (`appeal.filed.v1` on
credit.inbound.applications), the record replica (credit.records) and the review due dates'
re-planner (`calendar.installed.v1` on credit.calendar, replanner.py)."""

from datetime import datetime
from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from services.appeal.events import SOURCE
from services.appeal.filing import CONSUMER as FILING
from services.appeal.filing import file_appeals
from services.appeal.models import MESSAGING, REPLICA
from services.appeal.replanner import GROUP_ID as REPLAN_GROUP_ID
from services.appeal.replanner import REPLANNER
from services.common.batches import consume, consume_applications
from services.common.contracts.owners import APPEAL
from services.common.frame import Batch, counts, handle_batch
from services.common.inbound import Inbound, from_kafka
from services.common.record_owner import RecordOwner
from services.common.record_replica import replica_consumer, replicated, upsert_replica
from services.common.replica_lag import ReplicaClock
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import CALENDAR, INBOUND_APPLICATIONS, RECORDS

log = structlog.get_logger(__name__)
GROUP_ID = "credit-appeal"
RECORDS_GROUP_ID = "credit-appeal-records"
OWNER_RETRY_SECONDS = 1.0  # pause before a batch is consumed again while the records' owner does not answer


def build_router(rt: Runtime, settings: Settings, owner: RecordOwner, clock: ReplicaClock) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_APPLICATIONS, **batch_options(settings, group_id=GROUP_ID, background=True), title="appeals"
    )
    async def on_applications(body: Any, message: Any = Context("message")) -> None:
        # Repairs and trainings are other services' to judge; the evaluation service dead-letters
        # what is malformed or of an unknown type on this topic, so it is refused exactly once.
        raw = message.raw_message
        if await consume_applications(
            rt, raw, FILING, file_appeals, owner=owner, replica=REPLICA, pause=OWNER_RETRY_SECONDS
        ):
            rt.wake_commands()

    @router.subscriber(
        RECORDS, **batch_options(settings, group_id=RECORDS_GROUP_ID, background=True), title="record replica"
    )
    async def on_records(body: Any, message: Any = Context("message")) -> None:
        # Under the poison rule of every consumer (issue 21): a row the database refuses every time
        # is dead-lettered `processing_failed` after a bounded number of attempts and the partition
        # goes on; a database outage is waited out.
        results = await consume(
            rt, from_kafka(message.raw_message), replicate, messaging=MESSAGING, source=SOURCE, service="appeal"
        )
        clock.note([t for times in results for t in times])

    # The calendar changes a few times a year: nobody waits on the re-planner's fetches.
    @router.subscriber(
        CALENDAR, **batch_options(settings, group_id=REPLAN_GROUP_ID, background=True), title="due re-planner"
    )
    async def on_calendar(body: Any, message: Any = Context("message")) -> None:
        await consume(rt, from_kafka(message.raw_message), replan, messaging=MESSAGING, source=SOURCE, service="appeal")
        rt.wake_commands()

    return router


async def replan(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    return counts(await handle_batch(REPLANNER, conn, items, now=now))


async def replicate(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> list[datetime]:
    """Stores the records of `items` in the replica; returns the times of the events it used.
    Newer versions win in the upsert, so a redelivered batch changes nothing; an event this
    consumer dead-lettered is not tried again."""
    times: list[datetime] = []
    await handle_batch(REPLICA_CONSUMER, conn, items, now=now, context={"times": times})
    return times


async def _store(batch: Batch) -> None:
    rows = [r.row for r in replicated(batch)]
    if rows:
        await upsert_replica(batch.conn, REPLICA, rows)
    batch.context["times"].extend(r.time for r in replicated(batch))


REPLICA_CONSUMER = replica_consumer(service=APPEAL, source=SOURCE, messaging=MESSAGING, finish=_store)
