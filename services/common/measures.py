"""Metrics read from the database and the calendar every CREDIT_METRICS_SAMPLE_SECONDS (issue 18),
and the HTTP latency middleware. The counters that move with each event live where it happens
(services/common/metrics.py).

What an operator must act on (alerts in deploy/k8s/monitoring): an outbox that does not drain
(broker down or refusing), Temporal commands that wait (Temporal down) or were given up, tasks
overdue or escalated, pushes to the national platforms failing, ledger checkpoints that stopped,
and next year's holiday arrangement missing in November.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.calendar_status import calendar_status
from services.common.commands import PENDING
from services.common.correlation import CorrelationMiddleware
from services.common.lawdates import local_date
from services.common.messaging import MessagingTables
from services.common.metrics import (
    CALENDAR_NEXT_YEAR_OFFICIAL,
    CHECKPOINT_AGE,
    COMMANDS_OLDEST_AGE,
    COMMANDS_PENDING,
    HTTP_SECONDS,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    PUSHES,
    TASKS,
)

log = structlog.get_logger(__name__)
CURSOR_NAME = "relay"


async def sample_outbox(engine: AsyncEngine, service: str, messaging: MessagingTables) -> None:
    outbox, cursor = messaging.outbox.name, messaging.cursor.name
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    f"SELECT count(*), min(created_at) FROM {outbox} "  # noqa: S608 - table names are ours
                    f"WHERE seq > coalesce((SELECT max(seq) FROM {cursor}), 0)"
                )
            )
        ).one()
    OUTBOX_BACKLOG.labels(service).set(row[0])
    OUTBOX_OLDEST_AGE.labels(service).set(_age(row[1]))


async def sample_commands(engine: AsyncEngine, service: str, commands: Table) -> None:
    c = commands.c
    async with engine.connect() as conn:
        row = (await conn.execute(select(func.count(), func.min(c.created_at)).where(c.state == PENDING))).one()
    COMMANDS_PENDING.labels(service).set(row[0])
    COMMANDS_OLDEST_AGE.labels(service).set(_age(row[1]))


async def sample_tasks(engine: AsyncEngine) -> None:
    today = local_date(datetime.now(UTC))
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT kind, region, count(*), "
                    "sum(CASE WHEN due_on < :today THEN 1 ELSE 0 END), "
                    "sum(CASE WHEN escalation_level > 0 THEN 1 ELSE 0 END) "
                    "FROM casework_task WHERE state IN ('open', 'claimed') GROUP BY kind, region"
                ),
                {"today": today},
            )
        ).all()
    TASKS.clear()  # a kind and region with no open task any more reads 0 by absence
    for kind, region, open_, overdue, escalated in rows:
        TASKS.labels(kind, region, "open").set(open_)
        TASKS.labels(kind, region, "overdue").set(overdue or 0)
        TASKS.labels(kind, region, "escalated").set(escalated or 0)


async def sample_pushes(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT platform, state, count(*) FROM publication_push GROUP BY platform, state"))
        ).all()
    PUSHES.clear()
    for platform, state, n in rows:
        PUSHES.labels(platform, state).set(n)


async def sample_checkpoint(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        newest = (await conn.execute(text("SELECT max(timestamp) FROM evaluation_ledger_checkpoint"))).scalar()
    if newest is not None:
        CHECKPOINT_AGE.set(_age(newest))


def sample_calendar() -> None:
    status = calendar_status()  # also sets credit_calendar_provisional{year} for this year and next
    CALENDAR_NEXT_YEAR_OFFICIAL.set(1 if status["next_year"]["status"] == "official" else 0)


SERVICE_SAMPLES: dict[str, Callable[[AsyncEngine], Awaitable[None]]] = {
    "casework": sample_tasks,
    "publication": sample_pushes,
    "evaluation": sample_checkpoint,
}


async def sample_forever(
    name: str, engine: AsyncEngine, messaging: MessagingTables, every: float, commands: Table | None = None
) -> None:
    """The service's sampled gauges, refreshed every `every` seconds until cancelled."""
    extra = SERVICE_SAMPLES.get(name)
    while True:
        try:
            await sample_outbox(engine, name, messaging)
            if commands is not None:
                await sample_commands(engine, name, commands)
            if extra is not None:
                await extra(engine)
            sample_calendar()
        except Exception as exc:  # noqa: BLE001 - a missing sample must not stop the service
            log.warning("metrics sample failed", service=name, error=repr(exc)[:300])
        await asyncio.sleep(every)


def _age(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # SQLite gives naive UTC
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - moment).total_seconds())


class HttpMetrics:
    """Latency of every request by route template (never the raw path: ids would explode the
    series). Plain ASGI, so the hot read path pays one histogram observation and nothing else."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")  # set by the router on the same scope when a route matched
            template = getattr(route, "path", None) or "unmatched"
            HTTP_SECONDS.labels(self._service, scope["method"], template, f"{status[0] // 100}xx").observe(
                time.perf_counter() - start
            )


def install_http_metrics(app: FastAPI, service: str) -> None:
    """Latency histograms and the correlation id of every request."""
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(HttpMetrics, service=service)
