"""What a service process holds while it runs, and the lifespan that builds it: database engine,
own tables, outbox relay, command relay toward Temporal, Kafka consumers, and any other background
loops.

The one wiring pattern. A service's `create_app(settings)` knows its settings only; everything
that needs a connection (the engine, the relays, the Temporal client) is built late, inside the
lifespan, by `service_runtime`, and put on one `Runtime`. Whatever needs those — Kafka routers,
background loops, HTTP handlers (`app.state.runtime`, or the `current_runtime` dependency) — is
given the Runtime and reaches them through it, so nothing is wired through holders, setters or a
second lazy client:

    def create_app(settings):
        def background(rt):  yield "temporal-worker", lambda: worker(rt)
        async def lifespan(app):
            async with service_runtime(..., commands=COMMANDS, routers=lambda rt: [build_router(rt)],
                                       background=background) as rt:
                app.state.runtime = rt
                yield

After a commit that wrote events or commands, call `rt.relay.wake()` / `rt.wake_commands()`."""

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
from temporalio.client import Client

from services.common.command_relay import CommandRelay
from services.common.commands import CommandOutbox
from services.common.db import make_engine
from services.common.measures import sample_forever
from services.common.messaging import MessagingTables
from services.common.migrations import migrate
from services.common.relay import OutboxRelay
from services.common.service import keep_running
from services.common.settings import Settings
from services.common.subscribers import back_off_idle_consumers
from services.common.temporal import LazyClient
from services.common.topics import OUTBOUND_TOPICS


@dataclass
class Runtime:
    engine: AsyncEngine
    relay: OutboxRelay
    # The process's Temporal client, connected on first use (the service starts without Temporal).
    temporal: LazyClient | None = None
    # The relay of the service's command outbox (None for a service that owes Temporal nothing).
    commands: CommandRelay | None = None
    # One writer at a time in this process: Kafka batches and HTTP calls touch the same subjects.
    intake_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wake_commands(self) -> None:
        """After a commit that wrote to the command outbox: deliver now rather than at the next poll."""
        if self.commands is not None:
            self.commands.wake()

    async def client(self) -> Client:
        assert self.temporal is not None, "this runtime was built without Temporal"
        return await self.temporal.get()


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
    commands: CommandOutbox | None = None,
    with_temporal: bool = True,
    command_rate: float = 0,
) -> AsyncIterator[Runtime]:
    """`commands`: the service's command outbox; its relay runs when `with_temporal` (tests without
    Temporal leave the commands pending). `command_rate`: Temporal calls a second at most (0: no limit)."""
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
        linger_seconds=settings.outbox_linger_seconds,
        idle_poll_seconds=settings.outbox_idle_poll_seconds,
        max_message_bytes=settings.kafka_max_message_bytes,
        client_options=settings.kafka_client_options(),
        create_topics=settings.creates_topics(),
    )
    temporal = LazyClient(settings)
    command_relay = (
        CommandRelay(
            engine=engine,
            outbox=commands,
            client=temporal.get,
            service=name,
            on_change=relay.wake,
            rate=command_rate,
            max_attempts=settings.credit_command_attempts,
            backoff_seconds=settings.credit_command_backoff_seconds,
        )
        if commands is not None
        else None
    )
    rt = Runtime(engine=engine, relay=relay, temporal=temporal, commands=command_relay)
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers, client_id=f"credit-{name}", security=settings.kafka_broker_security()
    )
    for router in routers(rt):
        broker.include_router(router)
    loops: list[BackgroundTask] = [
        ("outbox-relay", relay.run),
        ("kafka-consumers", lambda: _run_broker(broker, settings)),
    ]
    if command_relay is not None and with_temporal:
        loops.append(("command-relay", command_relay.run))
    loops += list(background(rt)) if background else []
    loops.append(
        (
            "metrics-sampler",
            lambda: sample_forever(
                name,
                engine,
                messaging,
                settings.credit_metrics_sample_seconds,
                commands.table if commands is not None else None,
            ),
        )
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
        if command_relay is not None:
            await command_relay.stop()
        await engine.dispose()


async def _run_broker(broker: KafkaBroker, settings: Settings) -> None:
    await broker.start()
    back_off_idle_consumers(broker, settings)
    await asyncio.Event().wait()
