"""The publication process: public HTTP API, read-model consumers and its outbox relay."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.runtime import service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.publication.api import router
from services.publication.credit import CreditFastPath, CreditReader
from services.publication.handlers import build_router
from services.publication.models import MESSAGING, MIGRATIONS, TABLES


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        async with service_runtime(
            name="publication",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings)],
        ) as rt:
            app.state.runtime = rt
            app.state.credit_reader = await CreditReader.open(rt.engine)
            try:
                yield
            finally:
                await app.state.credit_reader.close()

    app = base_app("publication", lifespan)
    app.include_router(router)
    app.add_middleware(CreditFastPath)
    return app
