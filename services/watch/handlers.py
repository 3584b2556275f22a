"""The watch's Kafka consumers: thin adapters from `credit.inbound.procurement` to intake.receive and from
`credit.calendar` to the clock re-planner, both on the consumer frame (services.common.batches.consume: one
transaction per batch, poison messages alone, dead letters through the outbox). Nothing is decided here."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.batches import consume
from services.common.frame import counts, handle_batch
from services.common.inbound import Inbound, from_kafka
from services.common.metrics import EVENTS_CONSUMED
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import CALENDAR, INBOUND_PROCUREMENT
from services.watch.events import SOURCE
from services.watch.intake import receive
from services.watch.models import MESSAGING
from services.watch.replanner import GROUP_ID as REPLAN_GROUP
from services.watch.replanner import REPLANNER


def build_router(rt: Runtime, settings: Settings, wake: Callable[[], None]) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_PROCUREMENT, title="procurement timelines", **batch_options(settings, group_id="credit-watch")
    )
    async def on_procurement(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, receive, messaging=MESSAGING, source=SOURCE, service="watch")
        wake()
        for outcomes in results:
            for o in outcomes:
                EVENTS_CONSUMED.labels("watch", o.kind).inc()

    # The calendar changes a few times a year: nobody waits on the re-planner's fetches.
    @router.subscriber(
        CALENDAR, title="clock re-planner", **batch_options(settings, group_id=REPLAN_GROUP, background=True)
    )
    async def on_calendar(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        results = await consume(rt, items, replan, messaging=MESSAGING, source=SOURCE, service="watch")
        wake()
        for done in results:
            for kind, n in done.items():
                EVENTS_CONSUMED.labels("watch", kind).inc(n)

    return router


async def replan(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    return counts(await handle_batch(REPLANNER, conn, items, now=now))
