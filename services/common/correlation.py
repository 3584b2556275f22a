"""The correlation id (issue 18): taken from the caller's `X-Correlation-Id` (or made), bound to
every structlog line of the request, echoed in the response, and written as the CloudEvents
extension attribute `correlationid` on every event built while handling it — so an event leaving
through the outbox names the request that caused it. Kafka consumers bind the inbound event ids of
a batch to their log lines (services/common/batches.py)."""

import re
import uuid
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-correlation-id"
_VALID = re.compile(r"^[A-Za-z0-9._:/#@\-]{1,200}$")
CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    return CORRELATION_ID.get()


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER.encode()), "")
        cid = given if _VALID.match(given) else uuid.uuid4().hex
        token = CORRELATION_ID.set(cid)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER.encode(), cid.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=cid):
            try:
                await self.app(scope, receive, sending)
            finally:
                CORRELATION_ID.reset(token)


def follow(item: object, outer: str | None) -> None:
    """While one inbound event is handled: its own `correlationid` if it carries one, else the
    request's (`outer`, over HTTP), else the event's id — so every event built for it names its cause.
    The caller puts `outer` back when its loop ends (restore)."""
    env = getattr(item, "envelope", None)
    if env is None:
        CORRELATION_ID.set(outer)
        return
    given = (env.model_extra or {}).get("correlationid")
    cid = given if isinstance(given, str) and _VALID.match(given) else (outer or f"{env.source}#{env.id}"[:200])
    CORRELATION_ID.set(cid)
    structlog.contextvars.bind_contextvars(correlation_id=cid)


def restore(outer: str | None) -> None:
    CORRELATION_ID.set(outer)
    if outer is None:
        structlog.contextvars.unbind_contextvars("correlation_id")
    else:
        structlog.contextvars.bind_contextvars(correlation_id=outer)
