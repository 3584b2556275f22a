"""The evaluations process: HTTP API and the outbox relay on one event loop (STYLE: one process per
service). It consumes no topic yet: figures are read from their sources into its tables."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.runtime import service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.evaluations.api import router
from services.evaluations.models import MESSAGING, MIGRATIONS, TABLES


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name="evaluations",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [],
        ) as rt:
            app.state.runtime = rt
            yield

    app = base_app("evaluations", lifespan)
    app.include_router(router)
    return app
