"""What a service process holds while it runs, and the lifespan that builds it: database engine,
own tables, outbox relay, Kafka consumers, and any other background loops."""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from faststream.kafka import KafkaBroker, KafkaRouter
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import make_engine
from services.common.measures import sample_forever
from services.common.messaging import MessagingTables
from services.common.migrations import migrate
from services.common.relay import OutboxRelay
from services.common.service import keep_running
from services.common.settings import Settings
from services.common.topics import OUTBOUND_TOPICS


@dataclass
class Runtime:
    engine: AsyncEngine
    relay: OutboxRelay
    # One writer at a time in this process: Kafka batches and HTTP calls touch the same subjects.
    intake_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def current_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the runtime the lifespan put on the app."""
    return request.app.state.runtime


# A route's parameter `rt: RuntimeDep` is the runtime, typed, without repeating the dependency.
RuntimeDep = Annotated[Runtime, Depends(current_runtime)]


# A background loop of a service: its name and the coroutine function that runs it.
BackgroundTask = tuple[str, Callable[[], Coroutine[Any, Any, object]]]
BackgroundFactory = Callable[[Runtime], Iterable[BackgroundTask]]


@asynccontextmanager
async def service_runtime(
    *,
    name: str,
    settings: Settings,
    tables: list[Table],
    migrations: Path,
    messaging: MessagingTables,
    routers: Callable[[Runtime], list[KafkaRouter]],
    background: BackgroundFactory | None = None,
) -> AsyncIterator[Runtime]:
    engine = make_engine(
        settings.database_url_for(name),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        connect_args=settings.database_connect_args(),
    )
    await migrate(engine, name, migrations, tables)
    relay = OutboxRelay(
        engine=engine,
        tables=messaging,
        bootstrap=settings.kafka_bootstrap_servers,
        topics=OUTBOUND_TOPICS,
        batch=settings.outbox_batch,
        poll_seconds=settings.outbox_poll_seconds,
        idle_poll_seconds=settings.outbox_idle_poll_seconds,
        max_message_bytes=settings.kafka_max_message_bytes,
        client_options=settings.kafka_client_options(),
        create_topics=settings.creates_topics(),
    )
    rt = Runtime(engine=engine, relay=relay)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers, client_id=f"credit-{name}", security=settings.kafka_broker_security()
    )
    for router in routers(rt):
        broker.include_router(router)
    loops: list[BackgroundTask] = [("outbox-relay", relay.run), ("kafka-consumers", lambda: _run_broker(broker))]
    loops += list(background(rt)) if background else []
    loops.append(
        ("metrics-sampler", lambda: sample_forever(name, engine, messaging, settings.credit_metrics_sample_seconds))
    )
    tasks = [asyncio.create_task(keep_running(n, f), name=n) for n, f in loops]
    try:
        yield rt
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.stop()
        await relay.stop()
        await engine.dispose()


async def _run_broker(broker: KafkaBroker) -> None:
    await broker.start()
    await asyncio.Event().wait()
