"""The signals process (issue 14): its consumer of `credit.inbound.procurement` and
`credit.inbound.applications`, the loop that closes projects after the department's quiet period,
its outbox relay, the command relay (collusion triages) and the Temporal activity worker
(`signals-activities`), on one event loop (STYLE: one process per service).

Its own service rather than a part of the watch (issue 13): the watch keeps deadline clocks of live
projects; this keeps bids until bidding closes, complaint histories per complainant and commitments,
and asks finance departments for determinations. Each reads the shared topic in its own consumer
group and can be deployed, scaled and migrated on its own."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import FastAPI
from faststream import Context
from faststream.kafka import KafkaRouter

from services.common.activity_failures import activity_worker
from services.common.batches import consume
from services.common.inbound import from_kafka
from services.common.messaging import write_outbox
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.subscribers import batch_options
from services.common.temporal import SIGNALS_ACTIVITIES
from services.common.topics import INBOUND_APPLICATIONS, INBOUND_PROCUREMENT
from services.signals.bid_handler import close_quiet_projects
from services.signals.handlers import SIGNALS, accept
from services.signals.models import MESSAGING, MIGRATIONS, TABLES
from services.signals.requests import SOURCE
from services.signals.triage import OUTBOX, SignalsActivities

log = structlog.get_logger(__name__)
GROUP_ID = "credit-signals"
QUIET_SWEEP_SECONDS = 60


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        INBOUND_PROCUREMENT,
        INBOUND_APPLICATIONS,
        **batch_options(settings, group_id=GROUP_ID, background=True),
        title="bids, awards, complaint decisions, commitments",
    )
    async def on_inbound(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        await consume(rt, items, accept, messaging=MESSAGING, source=SOURCE, service=SIGNALS)

    return router


async def sweep_quiet_projects(rt: Runtime) -> None:
    """Every minute: the projects whose quiet period after the last bid has passed are judged."""
    while True:
        try:
            async with rt.intake_lock, rt.engine.begin() as conn:
                events = await close_quiet_projects(conn, now=datetime.now(UTC))
                await write_outbox(conn, MESSAGING.outbox, events)
            if events:
                rt.relay.wake()
                rt.wake_commands()
        except Exception:  # noqa: BLE001 - a database outage is waited out; the next sweep retries
            log.exception("quiet-project sweep failed")
        await asyncio.sleep(QUIET_SWEEP_SECONDS)


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        yield "quiet-projects", lambda: sweep_quiet_projects(rt)
        if not with_temporal:
            return
        acts = SignalsActivities(rt.engine, rt.relay)

        async def worker() -> None:
            client = await rt.client()
            await activity_worker(client, task_queue=SIGNALS_ACTIVITIES, activities=[acts.refer_collusion]).run()

        yield "temporal-worker", worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name=SIGNALS,
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings)],
            background=background,
            commands=OUTBOX,
            with_temporal=with_temporal,
        ) as rt:
            app.state.runtime = rt
            yield

    return base_app(SIGNALS, lifespan)
