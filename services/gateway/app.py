"""The one HTTP entry point (CONTRACT §2): a reverse proxy by path prefix, plus the merged OpenAPI
and the AsyncAPI document of the Kafka topics (`/asyncapi.json`, rendered at `/asyncapi`).

Written as a bare ASGI app on purpose: public credit reads go through it at hundreds of requests a
second on a 2-core machine, and per-request routing/validation layers would cost more than the
upstream call itself. Requests go to the services over keep-alive pools (`upstream.py`, one per
service, shared by all requests); the OpenAPI documents are fetched with one httpx client. The
hottest of them, `GET /v1/credit/{type}/{id}`, is answered here from publication's read model when
the gateway has a database (`credit.py`, issue 19: the hop cost more than the answer).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx

from services.common.problem_texts import localise, prefers_chinese
from services.common.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from services.common.service import health_body
from services.common.settings import get_settings
from services.gateway import docs
from services.gateway.credit import CreditReads
from services.gateway.ratelimit import PublicReadLimit
from services.gateway.routes import Route, routes_from_env
from services.gateway.upstream import (
    UpstreamBroken,
    UpstreamError,
    UpstreamPool,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger("services.gateway")

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

API_TITLE = "Procurement credit API"

# RFC 9110 §7.6.1 hop-by-hop fields: they describe one connection, not the message.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Also set by the upstream hop itself (Host, framing); Expect: 100-continue is not relayed.
_DROP_FROM_REQUEST = _HOP_BY_HOP | {b"host", b"content-length", b"expect", b"x-forwarded-for"}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_JSON = [(b"content-type", b"application/json")]
_HTML = [(b"content-type", b"text/html; charset=utf-8")]
# The docs page may load nothing from elsewhere.
_DOCS_HTML = [*_HTML, (b"content-security-policy", docs.DOCS_CSP.encode())]
_PROBLEM = [(b"content-type", PROBLEM_MEDIA_TYPE.encode())]


# The caller's Accept-Language, for the gateway's own problems (each request runs in its own task).
_ACCEPT_LANGUAGE: contextvars.ContextVar[str | None] = contextvars.ContextVar("accept_language", default=None)


def _problem(status: int, code: str, title: str, **extra: Any) -> bytes:
    # The shape of services.common.problems.Problem.to_dict: `code` repeats the end of `type`; in
    # Chinese when the caller prefers it, as the services answer (problem_texts.py).
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, **extra, "code": code}
    if prefers_chinese(_ACCEPT_LANGUAGE.get()):
        localise(body)
    return json.dumps(body, ensure_ascii=False).encode()


def _service_problem(status: int, code: str, title: str, service: str, detail: str) -> bytes:
    return _problem(status, code, title, detail=detail, service=service)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class Gateway:
    def __init__(
        self,
        routes: Sequence[Route] | None = None,
        *,
        timeout: float | None = None,
        openapi_ttl: float | None = None,
        max_connections: int = 200,
        max_keepalive: int = 100,
        public_rate_limit: str | None = None,
        read_model_url: str | None = None,
        read_model_connect_args: dict[str, Any] | None = None,
    ) -> None:
        self.public_limit = PublicReadLimit(public_rate_limit)
        # GET /v1/credit/{type}/{id} from publication's read model, without a hop (credit.py).
        self.credit = CreditReads(read_model_url, read_model_connect_args)
        self.routes: tuple[Route, ...] = tuple(routes) if routes is not None else routes_from_env()
        self.timeout = timeout if timeout is not None else float(os.environ.get("GATEWAY_TIMEOUT", "30"))
        self.openapi_ttl = openapi_ttl if openapi_ttl is not None else float(os.environ.get("GATEWAY_OPENAPI_TTL", "5"))
        # One pool per upstream, shared by its prefixes. Keep-alive expiry stays below uvicorn's
        # 5 s, so the pool drops a connection before the upstream closes it under us.
        self.pools: dict[str, UpstreamPool] = {}
        for route in self.routes:
            if route.url not in self.pools:
                self.pools[route.url] = UpstreamPool(
                    route.url,
                    max_connections=max_connections,
                    max_keepalive=max_keepalive,
                    keepalive_expiry=4.0,
                    read_timeout=self.timeout,
                )
        self._client: httpx.AsyncClient | None = None
        self._openapi: tuple[float, bytes] | None = None
        self._openapi_lock = asyncio.Lock()
        self._docs: bytes | None = None
        # Each service once, by name (for the OpenAPI merge).
        self.services: dict[str, str] = {}
        for route in sorted(self.routes, key=lambda r: r.service):
            self.services.setdefault(route.service, route.url)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def startup(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(5.0))

    async def shutdown(self) -> None:
        await self.credit.close()
        for pool in self.pools.values():
            await pool.aclose()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- ASGI --------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        # websockets: none of the services speaks them; uvicorn answers 403 when we return.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def route_for(self, path: str) -> Route | None:
        for route in self.routes:  # longest prefix first
            if route.matches(path):
                return route
        return None

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        _ACCEPT_LANGUAGE.set(next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None))
        route = self.route_for(path)
        if route is not None:
            if self.public_limit.applies(scope["method"], path):
                client = scope.get("client")
                wait = self.public_limit.retry_after(client[0] if client else "")
                if wait is not None:
                    await _respond(
                        send,
                        429,
                        [*_PROBLEM, (b"retry-after", str(wait).encode())],
                        _problem(429, "rate_limited", "Too Many Requests",
                                 detail="too many public reads from this client; retry after the given seconds",
                                 retry_after=wait),
                    )  # fmt: skip
                    return
            reader = await self.credit.reader_for(scope["method"], path)
            if reader is not None:
                await self.credit.serve(reader, scope, receive, send)
                return
            await self._proxy(route, scope, receive, send)
        elif path == "/healthz":
            await _respond(send, 200, _JSON, json.dumps(health_body(None), ensure_ascii=False).encode())
        elif path == "/openapi.json":
            await _respond(send, 200, _JSON, await self.openapi())
        elif path == "/docs":
            await _respond(send, 200, _DOCS_HTML, self.docs_html())
        elif path.startswith(docs.ASSETS_URL) and (found := docs.asset(path[len(docs.ASSETS_URL) :])):
            content, media = found
            headers = [(b"content-type", media.encode()), (b"cache-control", b"public, max-age=86400")]
            await _respond(send, 200, headers, content)
        elif path in ("/problems", "/problems/"):
            await _respond(send, 200, _HTML, docs.catalogue_html())
        elif path.startswith("/problems/") and (page := docs.code_html(path.removeprefix("/problems/"))):
            await _respond(send, 200, _HTML, page)
        elif path in ("/asyncapi.json", "/asyncapi"):
            # The Kafka side of the contract (CONTRACT §1), generated from services/common/contracts;
            # imported on first use, so a gateway that is never asked does not load the models.
            from services.common.contracts import asyncapi

            if path == "/asyncapi.json":
                await _respond(send, 200, _JSON, asyncapi.document_json())
            else:
                await _respond(send, 200, _HTML, asyncapi.page())
        else:
            await _respond(send, 404, _PROBLEM, _problem(404, "not_found", "Not Found"))

    # -- proxy -------------------------------------------------------------------------------------

    def _forward_headers(self, scope: Scope) -> tuple[list[tuple[bytes, bytes]], bool]:
        """The caller's headers less hop-by-hop ones, plus X-Forwarded-*; and whether the request
        announces a body."""
        in_headers: list[tuple[bytes, bytes]] = scope["headers"]
        drop = _DROP_FROM_REQUEST
        forwarded_for = b""
        host = b""
        has_body = False
        for name, value in in_headers:
            if name == b"connection":  # fields it names are hop-by-hop too
                drop = drop | {t.strip().lower() for t in value.split(b",") if t.strip()}
            elif name == b"x-forwarded-for":
                forwarded_for = value
            elif name == b"host":
                host = value
            elif name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
                has_body = True
        headers = [(name, value) for name, value in in_headers if name not in drop]
        client = scope.get("client")
        if client:
            peer = client[0].encode()
            headers.append((b"x-forwarded-for", forwarded_for + b", " + peer if forwarded_for else peer))
        elif forwarded_for:
            headers.append((b"x-forwarded-for", forwarded_for))
        if host:
            headers.append((b"x-forwarded-host", host))
        headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
        return headers, has_body

    async def _proxy(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        pool = self.pools[route.url]
        method: str = scope["method"]
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string") or b""
        if query:
            target += b"?" + query
        headers, has_body = self._forward_headers(scope)

        body: bytes | AsyncIterator[bytes] | None = None
        if has_body or method not in _BODYLESS:
            try:
                body = await self._request_body(receive)
            except ConnectionResetError:
                return  # the caller left before sending its body: nobody to answer

        # A pooled connection the upstream closed just as we reused it: send again, on a fresh
        # connection, only what is harmless to repeat.
        may_retry = method in _IDEMPOTENT and not isinstance(body, AsyncIterator)
        try:
            try:
                response = await pool.request(method, target, headers, body)
            except UpstreamBroken as exc:
                if not (exc.retryable and may_retry):
                    raise
                response = await pool.request(method, target, headers, body, fresh=True)
        except UpstreamUnavailable as exc:
            log.warning("%s unavailable for %s %s: %s", route.service, method, scope["path"], exc)
            await _respond(
                send,
                503,
                [*_PROBLEM, (b"retry-after", b"1")],
                _service_problem(503, "service_unavailable", "Service Unavailable", route.service,
                                 f"the {route.service} service is not answering"),
            )  # fmt: skip
            return
        except UpstreamTimeout:
            await _respond(
                send,
                504,
                _PROBLEM,
                _service_problem(504, "gateway_timeout", "Gateway Timeout", route.service,
                                 f"the {route.service} service did not answer in time"),
            )  # fmt: skip
            return
        except UpstreamError as exc:
            log.warning("%s failed on %s %s: %s", route.service, method, scope["path"], exc)
            await _respond(
                send,
                502,
                _PROBLEM,
                _service_problem(502, "bad_gateway", "Bad Gateway", route.service,
                                 f"the {route.service} service broke off the exchange"),
            )  # fmt: skip
            return

        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [(n, v) for n, v in response.headers if n not in _HOP_BY_HOP],
                }
            )
            # Hold back one chunk so a small body goes out in one message with more_body=False.
            # A failure mid-body propagates: the caller sees a truncated response, as it should.
            pending: bytes | None = None
            async for chunk in response.body():
                if pending is not None:
                    await send({"type": "http.response.body", "body": pending, "more_body": True})
                pending = chunk
            await send({"type": "http.response.body", "body": pending or b"", "more_body": False})
        finally:
            await response.aclose()

    async def _request_body(self, receive: Receive) -> bytes | AsyncIterator[bytes]:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away")
        first: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            return first

        async def stream() -> AsyncIterator[bytes]:
            yield first
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    raise ConnectionResetError("client went away")
                yield msg.get("body", b"")
                if not msg.get("more_body", False):
                    return

        return stream()

    # -- OpenAPI -----------------------------------------------------------------------------------

    async def openapi(self) -> bytes:
        cached = self._openapi
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        async with self._openapi_lock:
            cached = self._openapi
            if cached is not None and time.monotonic() < cached[0]:
                return cached[1]
            body = json.dumps(await self._merged_openapi(), ensure_ascii=False).encode()
            self._openapi = (time.monotonic() + self.openapi_ttl, body)
            return body

    async def _fetch_openapi(self, name: str, url: str) -> dict[str, Any] | None:
        if self._client is None:
            await self.startup()
        assert self._client is not None
        try:
            response = await self._client.get(url + "/openapi.json", timeout=3.0)
            if response.status_code != 200:
                log.warning("%s /openapi.json answered %s", name, response.status_code)
                return None
            doc = response.json()
            return doc if isinstance(doc, dict) else None
        except (httpx.HTTPError, ValueError) as exc:
            log.debug("%s /openapi.json unavailable: %r", name, exc)  # e.g. not started
            return None

    async def _merged_openapi(self) -> dict[str, Any]:
        names = list(self.services)
        fetched = await asyncio.gather(*(self._fetch_openapi(n, self.services[n]) for n in names))
        return docs.document_problems(merge_openapi(self.routes, dict(zip(names, fetched, strict=True))))

    def docs_html(self) -> bytes:
        if self._docs is None:
            self._docs = docs.swagger_html()
        return self._docs


def merge_openapi(routes: Sequence[Route], docs: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """One OpenAPI 3.1 document from the services' own: the paths the gateway sends to each
    service (a service's other paths, such as its /healthz, are not reachable here), and the
    union of their components. Services that did not answer are listed under `x-services`."""
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {}
    status: dict[str, str] = {}
    for service, doc in docs.items():
        status[service] = "up" if doc is not None else "unavailable"
        if doc is None:
            continue
        own = [r for r in routes if r.service == service]
        for path, item in (doc.get("paths") or {}).items():
            if any(r.matches(path) for r in own) and path not in paths:
                paths[path] = {**item, "x-service": service} if isinstance(item, dict) else item
        for kind, entries in (doc.get("components") or {}).items():
            if not isinstance(entries, dict):
                continue
            merged = components.setdefault(kind, {})
            for key, value in entries.items():
                if key not in merged:
                    merged[key] = value
                elif merged[key] != value:
                    log.warning("OpenAPI components.%s.%s differs between services; kept the first", kind, key)
        for tag in doc.get("tags") or ():
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)
    merged_doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": API_TITLE,
            "version": "1",
            "description": "Every endpoint of the credit system, behind one base URL (CONTRACT §2). "
            "Errors are application/problem+json (RFC 9457).",
            "x-services": status,
        },
        "paths": dict(sorted(paths.items())),
        "components": components or {"schemas": {}},
    }
    if tags:
        merged_doc["tags"] = list(tags.values())
    return merged_doc


def create_app(routes: Sequence[Route] | None = None, **options: Any) -> Gateway:
    return Gateway(routes, **options)


# The process's: its DATABASE_URL (role credit_gateway) lets it answer credit reads itself.
app = create_app(
    read_model_url=get_settings().database_url, read_model_connect_args=get_settings().database_connect_args()
)
