"""The repair process: HTTP API, Kafka consumers, outbox relay, the dispatcher of Temporal
commands and the Temporal activity worker (`repair-activities`) on one event loop (STYLE: one
process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from services.common.activity_failures import activity_worker
from services.common.record_owner import RecordOwner
from services.common.replica_lag import ReplicaClock
from services.common.replica_ready import replica_detail
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import add_readyz, base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import REPAIR_ACTIVITIES, LazyClient
from services.repair.activities import RepairActivities
from services.repair.api import router
from services.repair.dispatch import Dispatcher
from services.repair.handlers import build_router
from services.repair.models import MESSAGING, MIGRATIONS, TABLES


class Wiring:
    """The Temporal client, connected on first use (the service starts even if Temporal is late),
    and the dispatcher the consumers and HTTP wake after writing commands."""

    def __init__(self, settings: Settings) -> None:
        self._temporal = LazyClient(settings)
        self.dispatcher: Dispatcher | None = None

    async def client(self) -> Client:
        return await self._temporal.get()

    def wake(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    wiring = Wiring(settings)
    clock = ReplicaClock("repair")

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if with_temporal:
            wiring.dispatcher = Dispatcher(
                rt.engine, wiring.client, on_change=rt.relay.wake, rate=settings.credit_repair_dispatch_per_second
            )
            yield "temporal-dispatch", wiring.dispatcher.run
            yield "temporal-worker", lambda: _run_worker(wiring, RepairActivities(rt.engine, rt.relay))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owner = RecordOwner.from_settings("repair", settings)
        async with service_runtime(
            name="repair",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings, wiring.wake, owner, clock)],
            background=background,
        ) as rt:
            app.state.runtime = rt
            app.state.owner = owner
            try:
                yield
            finally:
                await owner.aclose()

    app = base_app("repair", lifespan)
    add_readyz(app, replica_detail(lambda: app.state.runtime.engine, clock))
    app.state.wiring = wiring
    app.include_router(router)
    return app


async def _run_worker(wiring: Wiring, acts: RepairActivities) -> None:
    worker = activity_worker(
        await wiring.client(),
        task_queue=REPAIR_ACTIVITIES,
        activities=[acts.publish_repair_window, acts.change_application],
    )
    await worker.run()
