"""The statistics service (issue 17): a read model of the outbound topics (counters per region and
month), its HTTP figures and exports, and the console's dashboard page (`/console/dashboard`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.runtime import service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.statistics.api import router
from services.statistics.dashboard import router as dashboard_router
from services.statistics.handlers import build_router
from services.statistics.models import MESSAGING, MIGRATIONS, TABLES


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name="statistics",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings)],
        ) as rt:
            app.state.runtime = rt
            yield

    app = base_app("statistics", lifespan)
    app.include_router(router)
    app.include_router(dashboard_router)
    return app
