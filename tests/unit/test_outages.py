"""Issue 21 (11): a database outage answers 503 + Retry-After, fails readiness, and consumers wait
with backoff (one log line per outage) instead of re-reading their batch as fast as they can."""

import asyncio
import time
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from deploy.local.components import free_port
from services.common import outages
from services.common.db import make_engine
from services.common.service import base_app


def refused() -> OperationalError:
    try:
        raise ConnectionRefusedError(111, "Connect call failed")
    except ConnectionRefusedError as cause:
        try:
            raise OperationalError("SELECT 1", {}, cause) from cause
        except OperationalError as exc:
            return exc


def test_what_counts_as_the_database_being_down() -> None:
    assert outages.database_unavailable(refused())
    assert outages.database_unavailable(ConnectionRefusedError())
    assert outages.database_unavailable(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert outages.database_unavailable(asyncpg.exceptions.ConnectionDoesNotExistError("gone"))
    # The database refusing a statement is not an outage: retrying it would not help.
    assert not outages.database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not outages.database_unavailable(asyncpg.exceptions.UniqueViolationError("dup"))
    assert not outages.database_unavailable(ValueError("bug"))


async def test_consumer_waits_with_backoff_and_logs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outages, "_BACKOFF_START", 0.01)
    calls: list[float] = []
    lines: list[str] = []
    monkeypatch.setattr(outages.log, "warning", lambda event, **kw: lines.append(event))
    monkeypatch.setattr(outages.log, "info", lambda event, **kw: lines.append(event))

    async def attempt() -> str:
        calls.append(time.monotonic())
        if len(calls) < 5:
            raise refused()
        return "applied"

    assert await outages.while_database_down("test consumer", attempt, hold=30) == "applied"
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps  # growing pauses
    assert lines == ["database unavailable; waiting with backoff", "database available again"]

    async def never() -> None:
        raise refused()

    with pytest.raises(OperationalError):  # held only so long, then the batch goes back (NACK)
        await outages.while_database_down("test consumer", never, hold=0.05)

    async def bug() -> None:
        raise ValueError("not an outage")

    with pytest.raises(ValueError):
        await outages.while_database_down("test consumer", bug, hold=30)


async def test_http_answers_503_with_retry_after_and_readiness_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = free_port()  # nothing listens: broker and Temporal are "down"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{closed}")
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{closed}")
    from services.common.settings import get_settings

    get_settings.cache_clear()
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")

    @asynccontextmanager
    async def lifespan(app):  # type: ignore[no-untyped-def]
        app.state.runtime = SimpleNamespace(engine=engine)
        yield

    app = base_app("test", lifespan)

    @app.get("/v1/thing")
    async def thing() -> None:
        raise refused()

    @app.get("/v1/bug")
    async def bug() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/v1/thing")
            assert r.status_code == 503 and r.headers["retry-after"] == str(outages.RETRY_AFTER_SECONDS)
            assert r.json()["code"] == "database_unavailable"
            assert (await c.get("/v1/bug")).status_code == 500  # a refusal is not an outage
            ready = await c.get("/readyz")
            assert ready.status_code == 503 and "retry-after" in ready.headers
            assert ready.json()["checks"] == {
                "database": "ok",
                "broker": "unavailable: ConnectionRefusedError",
                "temporal": "unavailable: ConnectionRefusedError",
            }
            assert (await c.get("/healthz")).status_code == 200  # alive: a restart would not help
            server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", closed)
            try:
                ok = await c.get("/readyz")
                assert ok.status_code == 200 and ok.json()["status"] == "ready"
            finally:
                server.close()
                await server.wait_closed()
    finally:
        await engine.dispose()
        get_settings.cache_clear()
