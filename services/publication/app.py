"""The publication process: public HTTP API, read-model consumers, its outbox relay, and — with
Temporal — the notice schedules, the relay of its commands (push workflow starts: commands.py) and
the activity worker (STYLE: one process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.lawdates import local_date
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import PUBLICATION_ACTIVITIES
from services.publication.activities import PublicationActivities
from services.publication.api import router
from services.publication.commands import push_outbox
from services.publication.credit import CreditFastPath, CreditReader
from services.publication.handlers import build_router
from services.publication.models import MESSAGING, MIGRATIONS, TABLES
from services.publication.notices_api import router as notices_router
from services.publication.pushes import platform_urls
from services.publication.pushes_api import router as pushes_router
from services.publication.schedules import ensure_notice_schedules


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if not with_temporal:
            return
        acts = PublicationActivities(
            rt.engine, urls=platform_urls(settings), relay=rt.relay, wake_commands=rt.wake_commands
        )

        async def schedules() -> None:
            await ensure_notice_schedules(await rt.client(), local_date(datetime.now(UTC)))

        async def worker() -> None:
            await activity_worker(await rt.client(), task_queue=PUBLICATION_ACTIVITIES, activities=acts.all()).run()

        yield "notice-schedules", schedules
        yield "temporal-worker", worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(
            name="publication",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings, after_batch=rt.wake_commands)],
            background=background,
            commands=push_outbox(settings),
            with_temporal=with_temporal,
        ) as rt:
            app.state.runtime = rt
            app.state.credit_reader = await CreditReader.open(rt.engine, settings.database_connect_args())
            try:
                yield
            finally:
                await app.state.credit_reader.close()

    app = base_app("publication", lifespan)
    app.include_router(router)
    app.include_router(notices_router)
    app.include_router(pushes_router)
    app.add_middleware(CreditFastPath)
    return app
