"""The statistics service (issue 17): a read model of the outbound topics (counters per region and
month), its HTTP figures and exports, the console's dashboard page (`/console/dashboard`), and the
annual reports (each region's Temporal Schedule, the activities that make and publish the PDF)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.lawdates import local_date
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import STATISTICS_ACTIVITIES
from services.statistics.api import router
from services.statistics.dashboard import router as dashboard_router
from services.statistics.handlers import build_router
from services.statistics.models import MESSAGING, MIGRATIONS, TABLES
from services.statistics.reports import ReportActivities
from services.statistics.reports_api import router as reports_router
from services.statistics.schedules import ensure_report_schedules


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if not with_temporal:
            return

        async def schedules() -> None:
            await ensure_report_schedules(await rt.client(), local_date(datetime.now(UTC)))

        async def worker() -> None:
            acts = ReportActivities(rt.engine, rt.relay)
            await activity_worker(await rt.client(), task_queue=STATISTICS_ACTIVITIES, activities=acts.all()).run()

        yield "report-schedules", schedules
        yield "temporal-worker", worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name="statistics",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings)],
            background=background,
            with_temporal=with_temporal,
        ) as rt:
            app.state.runtime = rt
            yield

    app = base_app("statistics", lifespan)
    app.include_router(router)
    app.include_router(reports_router)
    app.include_router(dashboard_router)
    return app
