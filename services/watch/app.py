"""The watch process: its Kafka consumer of `credit.inbound.procurement`, the outbox relay, the
dispatcher of clock starts and stops, the Temporal activity worker (`watch-activities`) and its
HTTP API, on one event loop (STYLE: one process per service). The deadline layers are loaded
first: a regional layer looser than the law stops the start with both sources named."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.runtime import Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import WATCH_ACTIVITIES, LazyClient
from services.watch.activities import WatchActivities
from services.watch.api import router
from services.watch.deadlines import deadline_policy
from services.watch.dispatch import ClockDispatcher
from services.watch.handlers import build_router
from services.watch.models import MESSAGING, MIGRATIONS, TABLES
from services.watch.notifier import notifiers


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    deadline_policy()  # refuses a looser regional layer before anything starts
    temporal = LazyClient(settings)
    dispatchers: list[ClockDispatcher] = []

    def wake() -> None:
        for d in dispatchers:
            d.wake()

    def background(rt: Runtime):  # type: ignore[no-untyped-def]
        if not with_temporal:
            return
        dispatcher = ClockDispatcher(
            rt.engine,
            temporal.get,
            credit_url=settings.credit_api_url,
            on_change=rt.relay.wake,
            rate=settings.credit_watch_dispatch_per_second,
        )
        dispatchers.append(dispatcher)
        yield "clock-dispatch", dispatcher.run
        acts = WatchActivities(rt.engine, rt.relay, notifiers(settings))

        async def worker() -> None:
            await activity_worker(
                await temporal.get(),
                task_queue=WATCH_ACTIVITIES,
                activities=[
                    acts.raise_warning,
                    acts.deliver_notices,
                    acts.report_overdue_behaviour,
                    acts.report_intercepted_behaviour,
                    acts.settle_clock,
                ],
            ).run()

        yield "temporal-worker", worker

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        async with service_runtime(
            name="watch",
            settings=settings,
            tables=TABLES,
            migrations=MIGRATIONS,
            messaging=MESSAGING,
            routers=lambda rt: [build_router(rt, settings, wake)],
            background=background,
        ) as rt:
            app.state.runtime = rt
            yield

    app = base_app("watch", lifespan)
    app.include_router(router)
    return app
