"""The gateway in front of two tiny upstream services, all three under uvicorn in this process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from deploy.local.components import ManagedProcess, free_port, wait_for_http
from deploy.local.stack import GATEWAY, SERVICES
from services.codec.__main__ import PORT as CODEC_PORT
from services.common.settings import PROJECT_ROOT
from services.gateway.app import create_app
from services.gateway.routes import UPSTREAMS, Route, build_routes, routes_from_env
from services.gateway.upstream import UpstreamPool, UpstreamTimeout

PUBLICATION_OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "publication", "version": "0"},
    "paths": {
        "/v1/credit/{subject_type}/{subject_id}": {"get": {"operationId": "get_credit"}},
        "/v1/blacklist": {"get": {"operationId": "get_blacklist"}},
        "/healthz": {"get": {"operationId": "health"}},
    },
    "components": {
        "schemas": {
            "CreditStatus": {"type": "object"},
            "HTTPValidationError": {"type": "object", "title": "HTTPValidationError"},
        }
    },
    "tags": [{"name": "public"}],
}
EVALUATION_OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "evaluation", "version": "0"},
    "paths": {
        "/v1/records/{id}": {"get": {"operationId": "get_record"}},
        "/v1/reports": {"post": {"operationId": "post_report"}},
        "/v1/credit/shadow": {"get": {"operationId": "not_routed_here"}},
    },
    "components": {
        "schemas": {
            "Record": {"type": "object"},
            "HTTPValidationError": {"type": "object", "title": "HTTPValidationError"},
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "tags": [{"name": "public"}, {"name": "finance"}],
}


def make_upstream(name: str, openapi: dict[str, Any]):
    """An ASGI app that echoes what reached it, with a few special paths."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if path == "/openapi.json":
            payload = json.dumps(openapi).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": payload})
            return
        if path.endswith("/stream"):
            # Chunked (no content-length), many body messages.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            for i in range(16):
                await send({"type": "http.response.body", "body": bytes([i]) * 65536, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if path.endswith("/nocontent"):
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if path.endswith("/slow"):
            await asyncio.sleep(1.0)
        if path.endswith("/close"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"connection", b"close"), (b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"bye"})
            return
        if path.endswith("/missing"):
            problem = {
                "type": "https://credit.procurement.gov.cn/problems/not_found",
                "title": "Not Found",
                "status": 404,
            }
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"application/problem+json")],
                }
            )
            await send({"type": "http.response.body", "body": json.dumps(problem).encode()})
            return
        echo = {
            "service": name,
            "method": scope["method"],
            "path": path,
            "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "body": body.decode("utf-8", "replace"),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        }
        status = 201 if scope["method"] == "POST" else 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-upstream", name.encode()),
                    (b"location", b"/v1/reports/42"),
                    (b"cache-control", b"max-age=5"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(echo).encode()})

    return app


async def serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    # As services/gateway/__main__.py runs it: the gateway is the edge, so it records the real
    # peer rather than trusting a caller's X-Forwarded-For.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="auto",
        loop="asyncio",
        http="httptools",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    assert server.started, f"uvicorn did not start on {port}"
    return server, task


async def flaky_upstream(port: int) -> asyncio.Server:
    """Answers the first request of each connection; on a reused connection it hangs up without a
    word, as an upstream closing an idle keep-alive connection just as the gateway reuses it."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if served:
                    break
                served += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfresh")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


@pytest.fixture(scope="module")
async def upstreams() -> AsyncIterator[dict[str, str]]:
    pub_port, eval_port, flaky_port = free_port(), free_port(), free_port()
    servers = [
        await serve(make_upstream("publication", PUBLICATION_OPENAPI), pub_port),
        await serve(make_upstream("evaluation", EVALUATION_OPENAPI), eval_port),
    ]
    flaky = await flaky_upstream(flaky_port)
    yield {
        "publication": f"http://127.0.0.1:{pub_port}",
        "evaluation": f"http://127.0.0.1:{eval_port}",
        "repair": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "appeal": f"http://127.0.0.1:{flaky_port}",
    }
    flaky.close()
    await flaky.wait_closed()
    for server, task in reversed(servers):
        server.should_exit = True
        await task


def routes_for(urls: dict[str, str]) -> tuple[Route, ...]:
    return build_routes(
        [
            ("/v1/credit", "publication", urls["publication"]),
            ("/v1/blacklist", "publication", urls["publication"]),
            ("/v1/records", "evaluation", urls["evaluation"]),
            ("/v1/reports", "evaluation", urls["evaluation"]),
            ("/v1/repairs", "repair", urls["repair"]),
            ("/v1/appeals", "appeal", urls["appeal"]),
        ]
    )


@pytest.fixture(scope="module")
async def gateway_url(upstreams: dict[str, str]) -> AsyncIterator[str]:
    port = free_port()
    # These tests are about proxying; the public read limit has its own test below.
    server, task = await serve(create_app(routes_for(upstreams), openapi_ttl=0.0, public_rate_limit=""), port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, trust_env=False, timeout=10) as c:
        yield c


def header(echo: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in echo["headers"] if k == name]


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    # Up, and loud about Luoyang's measures past their stated validity (issue 16 point 2).
    assert response.json()["status"] == "ok"
    assert response.json()["policy_validity"] == "past_validity"


async def test_get_routed_by_prefix_with_query_and_authorization(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/credit/supplier/91410300MA44XXXX0X",
        params={"at": "2026-01-01", "region": "中国"},
        headers={"Authorization": "Bearer abc.def.ghi", "X-Request-Id": "r-1"},
    )
    assert response.status_code == 200
    echo = response.json()
    assert echo["service"] == "publication"
    assert echo["method"] == "GET"
    assert echo["path"] == "/v1/credit/supplier/91410300MA44XXXX0X"
    assert echo["query"] == "at=2026-01-01&region=%E4%B8%AD%E5%9B%BD"
    assert header(echo, "authorization") == ["Bearer abc.def.ghi"]
    assert header(echo, "x-request-id") == ["r-1"]
    assert header(echo, "x-forwarded-for") == ["127.0.0.1"]
    assert header(echo, "x-forwarded-host") == [client.base_url.netloc.decode()]
    # Upstream headers come back unchanged.
    assert response.headers["x-upstream"] == "publication"
    assert response.headers["cache-control"] == "max-age=5"
    assert response.headers["content-type"] == "application/json"


async def test_percent_encoded_path_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/records/a%2Fb%20c")
    echo = response.json()
    assert echo["service"] == "evaluation"
    assert echo["raw_path"] == "/v1/records/a%2Fb%20c"


async def test_post_body_status_and_headers(client: httpx.AsyncClient) -> None:
    report = {"behaviour_code": "S01", "subject_id": "91410300MA44XXXX0X", "note": "虚假材料"}
    response = await client.post(
        "/v1/reports", json=report, headers={"Authorization": "Bearer t", "X-Forwarded-For": "10.0.0.7"}
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/reports/42"
    echo = response.json()
    assert echo["service"] == "evaluation"
    assert json.loads(echo["body"]) == report
    assert header(echo, "content-type") == ["application/json"]
    assert header(echo, "content-length") == [str(len(response.request.content))]
    assert header(echo, "x-forwarded-for") == ["10.0.0.7, 127.0.0.1"]
    assert header(echo, "authorization") == ["Bearer t"]


async def test_streamed_request_body(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(8):
            yield f"part{i};".encode() * 1000

    response = await client.post("/v1/reports", content=chunks())
    assert response.status_code == 201
    assert response.json()["body"] == "".join(f"part{i};" * 1000 for i in range(8))


async def test_streamed_response_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/credit/stream")
    assert response.status_code == 200
    assert response.content == b"".join(bytes([i]) * 65536 for i in range(16))


async def test_upstream_error_status_and_body_pass_through(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/credit/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


async def test_hop_by_hop_headers_are_not_forwarded(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/blacklist",
        headers={
            "Connection": "keep-alive, x-private",
            "X-Private": "secret",
            "TE": "trailers",
            "Proxy-Authorization": "Basic xyz",
            "Upgrade": "h2c",
        },
    )
    echo = response.json()
    names = {k for k, _ in echo["headers"]}
    assert not names & {"x-private", "te", "proxy-authorization", "upgrade"}
    # The upstream's Host is the upstream's own, not the gateway's.
    assert header(echo, "host") != [client.base_url.netloc.decode()]


async def test_unknown_prefix_is_404_problem(client: httpx.AsyncClient) -> None:
    for path in ("/v2/credit", "/v1/creditors", "/"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "type": "https://credit.procurement.gov.cn/problems/not_found",
            "title": "Not Found",
            "status": 404,
            "code": "not_found",
        }
    # The gateway's own problems in Chinese when asked, as the services' (issue 22).
    zh = (await client.get("/v2/credit", headers={"Accept-Language": "zh-CN,zh;q=0.9"})).json()
    assert (zh["title"], zh["code"]) == ("不存在", "not_found") and zh["hint"]
    assert (await client.get("/v2/credit")).json()["title"] == "Not Found"  # not carried to the next request


async def test_upstream_down_is_503_naming_the_service(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/repairs", json={"record_id": "r1"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://credit.procurement.gov.cn/problems/service_unavailable"
    assert problem["status"] == 503
    assert problem["code"] == "service_unavailable"
    assert problem["service"] == "repair"
    assert "repair" in problem["detail"]
    zh = (await client.post("/v1/repairs", json={"record_id": "r1"}, headers={"Accept-Language": "zh-CN"})).json()
    assert zh["detail"] == "后端服务 repair 暂未响应；请按 Retry-After 稍后重试。" and zh["service"] == "repair"


async def test_many_sequential_requests_reuse_the_pool(client: httpx.AsyncClient) -> None:
    for i in range(100):
        response = await client.get(f"/v1/credit/supplier/{i}")
        assert response.status_code == 200
        assert response.json()["path"] == f"/v1/credit/supplier/{i}"


async def test_concurrent_requests(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(client.get(f"/v1/records/{i}") for i in range(50)))
    assert [r.json()["path"] for r in responses] == [f"/v1/records/{i}" for i in range(50)]


async def test_merged_openapi(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "Procurement credit API"
    assert set(doc["paths"]) == {
        "/v1/credit/{subject_type}/{subject_id}",
        "/v1/blacklist",
        "/v1/records/{id}",
        "/v1/reports",
    }  # not the services' /healthz, nor a path the gateway would send elsewhere
    assert doc["paths"]["/v1/reports"]["post"]["operationId"] == "post_report"
    assert doc["paths"]["/v1/reports"]["x-service"] == "evaluation"
    # FastAPI's validation shape is replaced by the problem+json every error really is.
    assert set(doc["components"]["schemas"]) == {"CreditStatus", "Record", "Problem"}
    assert doc["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert [t["name"] for t in doc["tags"]] == ["public", "finance"]
    assert doc["info"]["x-services"] == {
        "appeal": "unavailable",  # answers, but not with an OpenAPI document
        "evaluation": "up",
        "publication": "up",
        "repair": "unavailable",
    }


async def test_head_and_no_content(client: httpx.AsyncClient) -> None:
    head = await client.head("/v1/credit/supplier/1")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["x-upstream"] == "publication"
    empty = await client.delete("/v1/credit/nocontent")
    assert empty.status_code == 204
    assert empty.content == b""
    # The pool is still in step afterwards.
    assert (await client.get("/v1/credit/supplier/2")).json()["path"] == "/v1/credit/supplier/2"


async def test_upstream_connection_close(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        response = await client.get("/v1/credit/close")
        assert response.status_code == 200
        assert response.text == "bye"
        assert "connection" not in response.headers or response.headers["connection"] != "close"
    assert (await client.get("/v1/credit/supplier/3")).status_code == 200


async def test_stale_keepalive_connection_is_retried_for_idempotent_requests(
    client: httpx.AsyncClient,
) -> None:
    # Every request after the first on a pooled connection finds it hung up.
    for _ in range(3):
        response = await client.get("/v1/appeals/A1")
        assert response.status_code == 200
        assert response.text == "fresh"
    # A POST is not repeated, it might have been acted on: the caller is told (502) instead. The
    # connection the last GET left in the pool is the one this POST finds hung up.
    response = await client.post("/v1/appeals", json={})
    assert response.status_code == 502
    assert response.json()["code"] == "bad_gateway"
    assert response.json()["service"] == "appeal"
    # The broken connection is gone; the next POST goes out on a fresh one.
    assert (await client.post("/v1/appeals", json={})).status_code == 200


async def test_upstream_timeout_is_504(upstreams: dict[str, str]) -> None:
    port = free_port()
    server, task = await serve(create_app(routes_for(upstreams), timeout=0.2), port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            response = await c.get("/v1/credit/slow")
            assert response.status_code == 504
            assert response.json()["service"] == "publication"
            assert (await c.get("/v1/credit/supplier/1")).status_code == 200
    finally:
        server.should_exit = True
        await task

    pool = UpstreamPool(upstreams["publication"], read_timeout=0.2)
    with pytest.raises(UpstreamTimeout):
        await pool.request("GET", b"/v1/credit/slow", [])
    await pool.aclose()


async def test_gateway_process_under_uvloop(upstreams: dict[str, str]) -> None:
    """`python -m services.gateway` as the runner starts it (uvloop, httptools)."""
    port = free_port()
    routes = {r.prefix: {"service": r.service, "url": r.url} for r in routes_for(upstreams)}
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "GATEWAY_ROUTES": json.dumps(routes),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    process = ManagedProcess("gateway").start([sys.executable, "-m", "services.gateway"], env=env, cwd=PROJECT_ROOT)
    try:
        await asyncio.to_thread(wait_for_http, f"http://127.0.0.1:{port}/healthz", 30, process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            for i in range(20):
                echo = (await c.get(f"/v1/credit/supplier/{i}", params={"q": "1"})).json()
                assert (echo["path"], echo["query"]) == (f"/v1/credit/supplier/{i}", "q=1")
            posted = await c.post("/v1/reports", content=b"x" * 200_000)
            assert posted.status_code == 201
            assert len(posted.json()["body"]) == 200_000
            streamed = await c.get("/v1/credit/stream")
            assert len(streamed.content) == 16 * 65536
            assert (await c.get("/v1/repairs/1")).status_code == 503
            assert (await c.get("/nowhere")).status_code == 404
            # The first merge builds the problem catalogue (about 1 s idle, several on a loaded
            # machine): this checks the answer, not its speed.
            merged = await c.get("/openapi.json", timeout=60)
            assert set(merged.json()["paths"]) >= {"/v1/reports"}
    finally:
        # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
        assert process.stop() in (0, -15)


async def test_docs_page_points_at_openapi(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    # Everything the page loads comes from the gateway itself (issue 22: /docs offline).
    assert "cdn" not in response.text and "https://" not in response.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in response.text
        loaded = await client.get(asset)
        assert loaded.status_code == 200 and len(loaded.content) > 100_000
    # And the page's own policy refuses anything from elsewhere.
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert (await client.get("/docs/assets/../app.py")).status_code == 404


def test_default_route_table_covers_the_contract() -> None:
    routes = routes_from_env({})
    table = {r.prefix: (r.service, r.url) for r in routes}
    assert table["/v1/credit"] == ("publication", "http://127.0.0.1:8102")
    assert table["/v1/blacklist"][0] == table["/v1/notices"][0] == "publication"
    assert table["/v1/catalogue"] == ("evaluation", "http://127.0.0.1:8101")
    assert table["/v1/reports"][0] == table["/v1/records"][0] == "evaluation"
    assert table["/v1/repairs"] == ("repair", "http://127.0.0.1:8103")
    assert table["/v1/appeals"] == ("appeal", "http://127.0.0.1:8104")
    assert table["/v1/tasks"] == table["/console"] == ("casework", "http://127.0.0.1:8105")
    assert len(table) == sum(len(u.prefixes) for u in UPSTREAMS)


def test_default_upstreams_are_the_local_runners_ports_and_no_port_is_taken_twice() -> None:
    """The gateway's defaults reach each service where the local runner starts it, and no process
    (the codec server included) listens where another does (statistics took the codec's 8106, then
    the evaluations' 8109)."""
    runner = {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES if s.port is not None}
    assert {u.name: u.url for u in UPSTREAMS} == {u.name: runner[u.name] for u in UPSTREAMS}
    assert runner["statistics"] == "http://127.0.0.1:8110"
    ports = [s.port for s in (*SERVICES, GATEWAY) if s.port is not None] + [CODEC_PORT]
    assert len(ports) == len(set(ports)), sorted(ports)


def test_route_table_from_env() -> None:
    moved = routes_from_env({"GATEWAY_UPSTREAM_PUBLICATION": "http://127.0.0.1:18102/"})
    assert {r.url for r in moved if r.service == "publication"} == {"http://127.0.0.1:18102"}

    replaced = routes_from_env(
        {
            "GATEWAY_ROUTES": json.dumps(
                {
                    "/v1/credit": "http://127.0.0.1:9001",
                    "/v1/credit/experts": {"service": "experts", "url": "http://127.0.0.1:9002"},
                    "/v1/other/": "http://10.0.0.1:80",
                }
            )
        }
    )
    by_prefix = {r.prefix: r for r in replaced}
    assert by_prefix["/v1/credit"].service == "publication"
    assert by_prefix["/v1/other"].service == "10.0.0.1:80"
    # The longest prefix wins.
    gateway = create_app(replaced)
    assert gateway.route_for("/v1/credit/experts/E1").service == "experts"
    assert gateway.route_for("/v1/credit/supplier/X").service == "publication"
    assert gateway.route_for("/v1/creditx") is None

    with pytest.raises(ValueError):
        routes_from_env({"GATEWAY_ROUTES": json.dumps({"/": "http://127.0.0.1:1"})})
    with pytest.raises(ValueError):
        routes_from_env({"GATEWAY_ROUTES": json.dumps({"/v1/x": "ftp://host"})})


async def test_connection_after_an_upstream_500_is_not_reused() -> None:
    """Issue 21 (7): a service whose handler raises answers 500 (a problem, keep-alive) and then
    uvicorn hangs up. Under load the hang-up can reach the gateway after it has already pooled the
    connection and sent the next, unrelated request on it, which then answered 502 — its caller could
    not tell whether its POST was applied. This upstream hangs up exactly then, every time."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        failed = False
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if failed:
                    break  # the request after the 500 on this connection: hung up unanswered
                if b" /v1/reports/boom " in head.split(b"\r\n")[0]:
                    failed = True
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}")
                else:
                    writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 8\r\n\r\nrecorded")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    up_port, gw_port = free_port(), free_port()
    upstream = await asyncio.start_server(handle, "127.0.0.1", up_port)
    routes = build_routes([("/v1/reports", "evaluation", f"http://127.0.0.1:{up_port}")])
    gw_server, gw_task = await serve(create_app(routes, openapi_ttl=0.0), gw_port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw_port}", trust_env=False, timeout=10) as c:
            for _ in range(3):
                assert (await c.post("/v1/reports/boom", json={})).status_code == 500
                response = await c.post("/v1/reports", json={})
                assert response.status_code == 201, response.text
                assert response.text == "recorded"
    finally:
        gw_server.should_exit = True
        await gw_task
        upstream.close()
        await upstream.wait_closed()


async def test_public_reads_are_limited_per_client(upstreams: dict[str, str]) -> None:
    """Issue 21 (10): one client enumerating credit answers is refused with 429 and Retry-After;
    reads that need a token and writes are not counted against the public limit."""
    port = free_port()
    server, task = await serve(create_app(routes_for(upstreams), public_rate_limit="5/minute"), port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            for i in range(5):
                assert (await c.get(f"/v1/credit/supplier/{i}")).status_code == 200
            refused = await c.get("/v1/credit/supplier/6")
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "rate_limited"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert (await c.get("/v1/blacklist")).status_code == 429
            assert (await c.get("/v1/records/R1")).status_code == 200
            assert (await c.post("/v1/reports", json={})).status_code == 201
    finally:
        server.should_exit = True
        await task


def test_public_rate_limit_setting() -> None:
    from services.gateway.ratelimit import DEFAULT_PUBLIC_RATE_LIMIT, PublicReadLimit

    assert PublicReadLimit().item is not None  # on by default
    assert str(PublicReadLimit().item) == str(PublicReadLimit(DEFAULT_PUBLIC_RATE_LIMIT).item)
    assert PublicReadLimit("").item is None  # switched off only on purpose


async def test_credit_reads_of_its_own_only_for_the_credit_status_with_postgresql() -> None:
    """Issue 19: with a PostgreSQL DATABASE_URL the gateway answers GET /v1/credit/{type}/{id} from
    the read model (tests/integration/test_gateway_credit_connected.py); everything else, and that
    too while the database cannot be reached, is proxied."""
    from services.gateway.credit import CreditReads

    assert not CreditReads(None).enabled and not CreditReads("sqlite+aiosqlite:///x.db").enabled
    reads = CreditReads(f"postgresql://nobody@127.0.0.1:{free_port()}/none")  # nothing listens there
    assert reads.enabled
    assert await reads.reader_for("GET", "/v1/credit/consortium") is None
    assert await reads.reader_for("GET", "/v1/credit/supplier/X/receipt") is None
    assert await reads.reader_for("POST", "/v1/credit/supplier/X") is None
    assert await reads.reader_for("GET", "/v1/credit/supplier/91410300MA0000003X") is None  # proxied meanwhile
    await reads.close()
