"""The appeal process: HTTP API, its Kafka consumers (with the calendar follower), outbox relay,
the relay of its commands to Temporal (review workflow starts and re-planned due dates:
commands.py) and its Temporal activity worker on one event loop (STYLE: one process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.appeal.activities import AppealActivities
from services.appeal.api import router
from services.appeal.commands import OUTBOX
from services.appeal.handlers import build_router
from services.appeal.models import MESSAGING, MIGRATIONS, TABLES
from services.common.activity_failures import activity_worker
from services.common.calendar_follower import build_follower
from services.common.record_owner import RecordOwner
from services.common.replica_lag import ReplicaClock
from services.common.replica_ready import replica_detail
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import add_readyz, base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import APPEAL_ACTIVITIES


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    clock = ReplicaClock("appeal")

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if with_temporal:
            yield "temporal-worker", lambda: _run_worker(rt)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owner = RecordOwner.from_settings("appeal", settings)
        async with service_runtime(
            name="appeal",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            # The follower: every replica counts review due dates (filing, GET) on every installed year.
            routers=lambda rt: [build_router(rt, settings, owner, clock), build_follower()],
            background=background,
            commands=OUTBOX,
            with_temporal=with_temporal,
        ) as rt:
            app.state.runtime = rt
            app.state.owner = owner
            try:
                yield
            finally:
                await owner.aclose()

    app = base_app("appeal", lifespan)
    add_readyz(app, replica_detail(lambda: app.state.runtime.engine, clock))
    app.include_router(router)
    return app


async def _run_worker(rt: Runtime) -> None:
    acts = AppealActivities(rt.engine, rt.relay)
    worker = activity_worker(await rt.client(), task_queue=APPEAL_ACTIVITIES, activities=[acts.record_appeal_change])
    await worker.run()
