"""The appeal process: HTTP API, its Kafka consumers, outbox relay, the starter of review workflows
and its Temporal activity worker on one event loop (STYLE: one process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.appeal.activities import AppealActivities
from services.appeal.api import router
from services.appeal.handlers import build_router
from services.appeal.models import MESSAGING, MIGRATIONS, TABLES
from services.appeal.starter import ReviewStarter
from services.common.activity_failures import activity_worker
from services.common.record_owner import RecordOwner
from services.common.replica_lag import ReplicaClock
from services.common.replica_ready import replica_detail
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import add_readyz, base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import APPEAL_ACTIVITIES, connect


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    holder: dict[str, ReviewStarter] = {}
    clock = ReplicaClock("appeal")

    def starter_of(rt: Runtime) -> ReviewStarter:
        if "starter" not in holder:
            holder["starter"] = ReviewStarter(rt.engine, settings)
        return holder["starter"]

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if with_temporal:
            yield "review-starter", starter_of(rt).run
            yield "temporal-worker", lambda: _run_worker(settings, AppealActivities(rt.engine, rt.relay))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owner = RecordOwner.from_settings("appeal", settings)
        async with service_runtime(
            name="appeal",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings, starter_of(rt), owner, clock)],
            background=background,
        ) as rt:
            app.state.runtime = rt
            app.state.starter = starter_of(rt)
            app.state.owner = owner
            try:
                yield
            finally:
                await owner.aclose()

    app = base_app("appeal", lifespan)
    add_readyz(app, replica_detail(lambda: app.state.runtime.engine, clock))
    app.include_router(router)
    return app


async def _run_worker(settings: Settings, acts: AppealActivities) -> None:
    client = await connect(settings)
    worker = activity_worker(client, task_queue=APPEAL_ACTIVITIES, activities=[acts.record_appeal_change])
    await worker.run()
