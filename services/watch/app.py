"""The watch process: its Kafka consumers (`credit.inbound.procurement`, `credit.calendar`), the
outbox relay, the command relay (clock starts, stops, re-plans, interceptions), the supplier checks,
the Temporal activity worker (`watch-activities`) and its HTTP API, on one event loop (STYLE: one
process per service). The deadline layers are loaded first: a regional layer looser than the law
stops the start with both sources named."""

from collections.abc import Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.activity_failures import activity_worker
from services.common.calendar_follower import build_follower
from services.common.runtime import BackgroundTask, Runtime, service_runtime
from services.common.service import base_app
from services.common.settings import Settings, get_settings
from services.common.temporal import WATCH_ACTIVITIES
from services.watch.activities import WatchActivities
from services.watch.api import router
from services.watch.checks import SupplierChecks
from services.watch.commands import OUTBOX
from services.watch.deadlines import deadline_policy
from services.watch.handlers import build_router
from services.watch.internal_api import router as internal_router
from services.watch.models import MESSAGING, MIGRATIONS, TABLES
from services.watch.notifier import notifiers


def create_app(settings: Settings | None = None, *, with_temporal: bool = True) -> FastAPI:
    settings = settings or get_settings()
    deadline_policy()  # refuses a looser regional layer before anything starts
    checkers: list[SupplierChecks] = []
    runtimes: list[Runtime] = []

    def wake() -> None:
        """After a consumed batch: its supplier checks and its commands toward Temporal."""
        for c in checkers:
            c.wake()
        for rt in runtimes:
            rt.wake_commands()

    def background(rt: Runtime) -> Iterator[BackgroundTask]:
        if not with_temporal:
            return

        def changed() -> None:
            rt.relay.wake()
            rt.wake_commands()

        checker = SupplierChecks(
            rt.engine, credit_url=settings.credit_watch_credit_url or settings.credit_api_url, on_change=changed
        )
        checkers.append(checker)
        yield "supplier-checks", checker.run
        acts = WatchActivities(rt.engine, rt.relay, notifiers(settings))

        async def worker() -> None:
            await activity_worker(
                await rt.client(),
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
            routers=lambda rt: [build_router(rt, settings, wake), build_follower()],
            background=background,
            commands=OUTBOX,
            with_temporal=with_temporal,
            command_rate=settings.credit_watch_dispatch_per_second,
        ) as rt:
            runtimes.append(rt)
            app.state.runtime = rt
            yield

    app = base_app("watch", lifespan)
    app.include_router(router)
    app.include_router(internal_router)
    return app
