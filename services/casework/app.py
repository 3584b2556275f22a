"""The casework process: the work queue's HTTP API and console, the consumer of determination
requests, its outbox relay, the Temporal activity worker (`casework-activities`) and the relay of
its commands to Temporal (workflow starts and decisions: commands.py), on one event loop (STYLE:
one process per service)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.casework.activities import CaseworkActivities
from services.casework.api import router
from services.casework.calendar_api import router as calendar_router
from services.casework.calendar_follower import build_follower, load_at_start
from services.casework.commands import OUTBOX
from services.casework.console.evaluation_routes import router as evaluation_console_router
from services.casework.console.routes import router as console_router
from services.casework.console.signal_routes import router as signal_console_router
from services.casework.console.watch_routes import router as watch_console_router
from services.casework.handlers import build_router
from services.casework.models import MESSAGING, MIGRATIONS, TABLES
from services.casework.replanner import build_replanner
from services.common.activity_failures import activity_worker
from services.common.calendar_status import calendar_status
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import CASEWORK_ACTIVITIES


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        yield "calendar-load", lambda: load_at_start(rt.engine)
        if with_temporal:
            yield "temporal-worker", lambda: _run_worker(rt)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            service_runtime(
                name="casework",
                settings=settings,
                tables=TABLES,
                migrations=MIGRATIONS,
                messaging=MESSAGING,
                routers=lambda rt: [
                    build_router(rt, settings),
                    build_follower(),
                    *([build_replanner(rt, settings)] if with_temporal else []),
                ],
                background=background,
                commands=OUTBOX,
                with_temporal=with_temporal,
            ) as rt,
            # The console reads through the one API as the signed-in officer (same authorisation).
            httpx.AsyncClient(base_url=settings.credit_api_url, timeout=15, trust_env=False) as api,
        ):
            app.state.runtime = rt
            app.state.api = api
            yield

    # Calendar warnings are details, not failures: the work goes on, on provisional dates.
    app = base_app("casework", lifespan, details=lambda: {"calendar": calendar_status()})
    app.state.settings = settings
    app.include_router(router)
    app.include_router(calendar_router)
    app.include_router(console_router)
    app.include_router(watch_console_router)
    app.include_router(evaluation_console_router)
    app.include_router(signal_console_router)
    return app


async def _run_worker(rt: Runtime) -> None:
    acts = CaseworkActivities(rt.engine, rt.relay)
    worker = activity_worker(
        await rt.client(),
        task_queue=CASEWORK_ACTIVITIES,
        activities=[
            acts.open_task,
            acts.escalate_task,
            acts.cancel_task,
            acts.replan_task,
            acts.close_statement_window,
        ],
    )
    await worker.run()
