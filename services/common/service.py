"""What every service process shares: logging, /healthz and /metrics, /readyz where a service has
something to say about its readiness, problem handlers, and background tasks that are restarted
if they fail (e.g. Temporal not up yet)."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.lawdates import today
from services.common.policy import validity_warnings
from services.common.problems import install_problem_handlers

log = structlog.get_logger(__name__)


def base_app(title: str, lifespan) -> FastAPI:  # type: ignore[no-untyped-def]
    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    install_problem_handlers(app)
    # A policy past the validity it states (Luoyang Art. 28) is still applied, but said loudly.
    for warning in validity_warnings(today()):
        log.warning("policy past its stated validity", service=title, **warning)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return health_body(title)

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
    """`GET /readyz`: 200 with `detail()` when the service can answer (its database does), else 503
    with the reason. Replica lag is shown, not judged: an idle replica's newest event grows old too."""

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            body = {"status": "ready", "service": app.title, **(await detail())}
        except Exception as exc:  # noqa: BLE001 - not ready, whatever the cause; said in the body
            return JSONResponse({"status": "not_ready", "service": app.title, "error": repr(exc)[:300]}, 503)
        return JSONResponse(body)


async def keep_running(name: str, run: Callable[[], Awaitable[None]], *, backoff: float = 2.0) -> None:
    """Run `run` until cancelled; if it fails, log why and start it again."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a background loop must survive to retry
            log.warning("background task failed, restarting", task=name, error=repr(exc))
            await asyncio.sleep(backoff)
