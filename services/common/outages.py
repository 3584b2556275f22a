"""Outages look like outages (issue 21, point 11).

While PostgreSQL is down a service answers 503 with `Retry-After` (problem `database_unavailable`),
not 500; `/readyz` fails (503) while the database, the broker or Temporal does not answer, so an
orchestrator takes the replica out of rotation (`/healthz` stays the liveness probe: the process is
alive and will recover by itself, restarting it would not help); and consumers wait for the database
with a growing pause, holding their batch, instead of re-reading it as fast as the broker delivers it
and logging a traceback each time (measured before: ~340 error lines per process in a 23 s outage).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.common.problems import Problem, problem_response
from services.common.settings import get_settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRY_AFTER_SECONDS = 5
# A consumer holds its batch and retries in place for this long, then lets it go back to the broker
# (NACK) so the group's liveness (max.poll.interval) is never at risk; the next read waits again.
CONSUMER_HOLD_SECONDS = 60.0
_BACKOFF_START, _BACKOFF_MAX = 0.5, 15.0
PROBE_TIMEOUT_SECONDS = 2.0

# Errors that say "the database cannot be reached or is not accepting work", as opposed to "it
# refused this statement" (those are the caller's or the data's, and must not be retried blindly).
_UNAVAILABLE = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,
    PoolTimeout,
    asyncpg.exceptions.PostgresConnectionError,  # class 08
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up, shutting down, recovering
    asyncpg.exceptions.AdminShutdownError,  # 57P01
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.exceptions.TooManyConnectionsError,  # 53300
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is the database being unreachable or not accepting work."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _UNAVAILABLE):
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, asyncpg.exceptions.InterfaceError) and "closed" in str(e):
            return True  # "connection is closed": the server went away under it
        stack += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return False


class _Outage:
    """This process's view of a database outage, so it is logged once when it starts and once when it
    ends, not once per attempt."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.attempts = 0

    def failed(self, what: str, exc: BaseException) -> None:
        self.attempts += 1
        if self.since is None:
            self.since = time.monotonic()
            log.warning("database unavailable; waiting with backoff", during=what, error=repr(exc)[:300])

    def recovered(self, what: str) -> None:
        if self.since is not None:
            log.info(
                "database available again",
                during=what,
                outage_seconds=round(time.monotonic() - self.since, 1),
                attempts=self.attempts,
            )
            self.since, self.attempts = None, 0


OUTAGE = _Outage()


async def while_database_down(what: str, attempt: Callable[[], Awaitable[T]], *, hold: float | None = None) -> T:
    """Run `attempt`; while it fails because the database is unavailable, wait (0.5 s doubling to
    15 s) and run it again, for at most `hold` seconds, then raise the last error."""
    hold = CONSUMER_HOLD_SECONDS if hold is None else hold
    deadline = time.monotonic() + hold
    pause = _BACKOFF_START
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            OUTAGE.failed(what, exc)
            if time.monotonic() + pause > deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _BACKOFF_MAX)
            continue
        OUTAGE.recovered(what)
        return result


def unavailable_problem() -> Problem:
    problem = Problem(
        503,
        "database_unavailable",
        "Service Unavailable",
        "The database is not answering; nothing was changed by this request. Retry later.",
    )
    problem.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return problem


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        OUTAGE.failed(f"{request.method} {request.url.path}", exc)
        return problem_response(unavailable_problem(), instance=request.url.path)
    raise exc  # not an outage: the generic handler answers 500 and the traceback is logged


def install_outage_handlers(app: FastAPI) -> None:
    """503 + Retry-After for requests that fail because the database is unavailable."""
    for cls in (DBAPIError, SAOperationalError, SAInterfaceError, PoolTimeout, OSError,
                asyncpg.exceptions.PostgresError, asyncpg.exceptions.InterfaceError):  # fmt: skip
        app.add_exception_handler(cls, _on_database_error)


# -- readiness ---------------------------------------------------------------------------------------


async def _tcp(host: str, port: int) -> None:
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT_SECONDS)
    writer.close()


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit("//" + address.split(",")[0].strip())
    return parts.hostname or "127.0.0.1", parts.port or default_port


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS)
        return name, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said in the answer
        return name, f"unavailable: {type(exc).__name__}"


async def readiness(app: FastAPI) -> JSONResponse:
    """200 when the database answers a query and the broker and Temporal accept connections, else
    503 with Retry-After and which of them failed. The broker and Temporal are probed by a TCP
    connection to their first address (cheap enough for a probe every few seconds); the database by
    `SELECT 1` on the service's own pool."""
    settings = get_settings()
    runtime = getattr(app.state, "runtime", None)
    checks: list[Awaitable[tuple[str, str]]] = []
    if runtime is not None:

        async def database() -> None:
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        checks.append(_check("database", database))
    else:
        checks.append(_no_runtime())
    checks.append(_check("broker", lambda: _tcp(*_host_port(settings.kafka_bootstrap_servers, 9092))))
    checks.append(_check("temporal", lambda: _tcp(*_host_port(settings.temporal_address, 7233))))
    results = dict(await asyncio.gather(*checks))
    extra: dict = {}
    detail = getattr(app.state, "readiness_detail", None)
    if detail is not None:
        try:
            extra = await detail()
        except Exception as exc:  # noqa: BLE001 - not ready, whatever the cause; said in the body
            results["detail"] = f"unavailable: {exc!r}"[:300]
    ready = all(v == "ok" for v in results.values())
    headers = {} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)}
    body = {"status": "ready" if ready else "not_ready", "service": app.title, "checks": results, **extra}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


async def _no_runtime() -> tuple[str, str]:
    return "database", "unavailable: starting"
