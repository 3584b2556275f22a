"""The evaluations process: HTTP API, the outbox relay, the yearly run schedules and its Temporal
activity worker on one event loop (STYLE: one process per service). It consumes no topic yet:
figures are read from their sources into its tables."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import EVALUATIONS_ACTIVITIES, LazyClient
from services.evaluations.activities import EvaluationActivities
from services.evaluations.api import router
from services.evaluations.draws_api import router as draws_router
from services.evaluations.models import MESSAGING, MIGRATIONS, TABLES
from services.evaluations.schedules import ensure_run_schedules


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    temporal = LazyClient(settings)

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if not with_temporal:
            return
        acts = EvaluationActivities(rt.engine)

        async def schedules() -> None:
            await ensure_run_schedules(await temporal.get())

        async def worker() -> None:
            await activity_worker(await temporal.get(), task_queue=EVALUATIONS_ACTIVITIES, activities=acts.all()).run()

        yield "run-schedules", schedules
        yield "temporal-worker", worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name="evaluations",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [],
            background=background,
        ) as rt:
            app.state.runtime = rt
            yield

    app = base_app("evaluations", lifespan)
    app.include_router(router)
    app.include_router(draws_router)
    return app
