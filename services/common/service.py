"""What every service process shares: logging, /healthz and /metrics, /readyz where a service has
something to say about its readiness, problem handlers, and background tasks that are restarted
if they fail (e.g. Temporal not up yet)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.guard import RequestGuard
from services.common.lawdates import today
from services.common.measures import install_http_metrics
from services.common.outages import install_outage_handlers, readiness
from services.common.policy import validity_warnings
from services.common.problems import install_problem_handlers

log = structlog.get_logger(__name__)


def base_app(
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None,
    *,
    details: Callable[[], dict] | None = None,
) -> FastAPI:
    """`details`: what the service adds to /healthz (e.g. casework: the calendar's status)."""
    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)
    # A policy past the validity it states (Luoyang Art. 28) is still applied, but said loudly.
    for warning in validity_warnings(today()):
        log.warning("policy past its stated validity", service=title, **warning)
    install_outage_handlers(app)
    # Outermost but for middleware a service adds later (the publication's credit fast path, which
    # validates its identifier before any query) and the metrics and correlation id, which see a
    # request refused by the guard too.
    app.add_middleware(RequestGuard)
    install_http_metrics(app, title)

    # Liveness: the process answers. It stays 200 through an outage of what it depends on, since a
    # restart would not bring the database back; readiness (below) says whether to send it work.
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return health_body(title) | (details() if details else {})

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        return await readiness(request.app)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    return app


def health_body(service: str | None) -> dict:
    """`/healthz`: up (`status` ok) and, loudly, any policy applied past its stated validity."""
    warnings = validity_warnings(today())
    body: dict = {"status": "ok"} | ({"service": service} if service else {})
    if warnings:
        body["policy_validity"] = "past_validity"
        body["policy_warnings"] = warnings
    return body


def add_readyz(app: FastAPI, detail: Callable[[], Awaitable[dict]]) -> None:
    """What this service adds to `GET /readyz` beside the checks of its database, broker and Temporal
    (services.common.outages.readiness), e.g. the lag of its replica. Lag is shown, not judged: an
    idle replica's newest event grows old too; a detail that cannot be read makes it not ready."""
    app.state.readiness_detail = detail


async def keep_running(
    name: str, run: Callable[[], Awaitable[object]], *, backoff: float = 1.0, max_backoff: float = 30.0
) -> None:
    """Run `run` until cancelled; if it fails, log why and start it again after a pause that doubles
    with each failure in a row (up to `max_backoff`), so a long outage costs a few lines, not a flood.
    A run that lasted longer than `max_backoff` starts the count again."""
    pause = backoff
    while True:
        started = time.monotonic()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a background loop must survive to retry
            if time.monotonic() - started > max_backoff:
                pause = backoff
            log.warning("background task failed, restarting", task=name, error=repr(exc)[:300], in_seconds=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, max_backoff)
