"""The evaluations process: HTTP API, its replica of `credit.records` (handlers.py), the outbox
relay, the yearly run schedules and its Temporal activity worker on one event loop (STYLE: one
process per service). The watch's figures are fetched by the run's `collect_figures` activity."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.replica_lag import ReplicaClock
from services.common.replica_ready import replica_detail
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import add_readyz, base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import EVALUATIONS_ACTIVITIES, LazyClient
from services.evaluations.activities import EvaluationActivities
from services.evaluations.api import router
from services.evaluations.collect import FigureCollection, WatchFigures
from services.evaluations.draws_api import router as draws_router
from services.evaluations.grades_api import router as grades_router
from services.evaluations.handlers import build_router
from services.evaluations.models import MESSAGING, MIGRATIONS, TABLES
from services.evaluations.schedules import ensure_run_schedules


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    temporal = LazyClient(settings)
    clock = ReplicaClock("evaluations")

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if not with_temporal:
            return
        acts = EvaluationActivities(rt.engine)
        collection = FigureCollection(rt.engine, WatchFigures.from_settings(settings))

        async def schedules() -> None:
            await ensure_run_schedules(await temporal.get())

        async def worker() -> None:
            await activity_worker(
                await temporal.get(),
                task_queue=EVALUATIONS_ACTIVITIES,
                activities=[*acts.all(), collection.collect_figures],
            ).run()

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
            routers=lambda rt: [build_router(rt, settings, clock)],
            background=background,
        ) as rt:
            app.state.runtime = rt
            yield

    app = base_app("evaluations", lifespan)
    app.include_router(router)
    app.include_router(grades_router)
    # How far behind the replica the record counts are read from is (shown on /readyz).
    add_readyz(app, replica_detail(lambda: app.state.runtime.engine, clock))
    app.include_router(draws_router)
    return app
