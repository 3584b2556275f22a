"""The repair process: HTTP API, Kafka consumers, outbox relay, the relay of its Temporal commands
(services/repair/commands.py) and the Temporal activity worker (`repair-activities`) on one event
loop (STYLE: one process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.record_owner import RecordOwner
from services.common.replica_lag import ReplicaClock
from services.common.replica_ready import replica_detail
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import add_readyz, base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import REPAIR_ACTIVITIES
from services.repair.activities import RepairActivities
from services.repair.api import router
from services.repair.commands import OUTBOX
from services.repair.handlers import build_router
from services.repair.models import MESSAGING, MIGRATIONS, TABLES


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    clock = ReplicaClock("repair")

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if with_temporal:
            yield "temporal-worker", lambda: _run_worker(rt)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owner = RecordOwner.from_settings("repair", settings)
        async with service_runtime(
            name="repair",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings, owner, clock)],
            background=background,
            commands=OUTBOX,
            with_temporal=with_temporal,
            command_rate=settings.credit_repair_dispatch_per_second,
        ) as rt:
            app.state.runtime = rt
            app.state.owner = owner
            try:
                yield
            finally:
                await owner.aclose()

    app = base_app("repair", lifespan)
    add_readyz(app, replica_detail(lambda: app.state.runtime.engine, clock))
    app.include_router(router)
    return app


async def _run_worker(rt: Runtime) -> None:
    acts = RepairActivities(rt.engine, rt.relay)
    worker = activity_worker(
        await rt.client(),
        task_queue=REPAIR_ACTIVITIES,
        activities=[acts.publish_repair_window, acts.change_application],
    )
    await worker.run()
