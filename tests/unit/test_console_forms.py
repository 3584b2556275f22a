"""A refused console form survives the redirect on any replica (issue 22, post/redirect/get): what
the officer typed is kept in the casework database, so another console replica — a fresh app in
another process, as behind a balancer without affinity — shows it; it is taken once, only by the
officer who typed it."""

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework.console.flash import FLASH_COOKIE, FlashStore
from services.casework.console.routes import COOKIE, _csrf
from services.casework.console.routes import router as console_router
from services.casework.models import MIGRATIONS, TABLES
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.settings import PROJECT_ROOT, Settings
from tests.conftest import token
from tests.unit.test_casework_console import task

OFFICER = token("finance_officer", "410300", "410300", sub="alice")
REASON = "经查证属实，投标文件中的业绩合同系伪造。" * 150  # ~3,000 characters: more than a cookie holds
PROBLEM = {
    "type": "/problems/invalid_determination",
    "code": "invalid_determination",
    "title": "处理决定内容无效",
    "detail": "see `errors`",
    "errors": [{"loc": ["body", "determination", "liability_ends_on"], "msg": "Input should be a valid date"}],
}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'casework.db'}")
    await migrate(engine, "casework", MIGRATIONS, TABLES)
    yield engine
    await engine.dispose()


def api(request: httpx.Request) -> httpx.Response:
    """The one API as the console sees it: the decision is refused, the task reads back claimed."""
    if request.method == "POST" and request.url.path == "/v1/tasks/task-1/complete":
        return httpx.Response(422, json=PROBLEM, headers={"content-type": "application/problem+json"})
    if request.url.path == "/v1/tasks/task-1":
        return httpx.Response(200, json=task(state="claimed", assignee="alice", links={}))
    return httpx.Response(404, json={"title": "not found"})


def console_app(engine: AsyncEngine) -> FastAPI:
    """One console replica: its own app object and API client, the shared casework database."""
    app = FastAPI()
    app.include_router(console_router)
    app.state.settings = Settings()
    app.state.runtime = SimpleNamespace(engine=engine)
    app.state.api = httpx.AsyncClient(transport=httpx.MockTransport(api), base_url="http://api")
    return app


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", cookies={COOKIE: OFFICER})


async def replica_get(db: Path, path: str, cookies: dict[str, str]) -> tuple[int, str]:
    """GET on another console replica: a fresh app in another process, on the same database."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.console_replica", str(db), path, *(f"{k}={v}" for k, v in cookies.items()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=PROJECT_ROOT,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    status, _, text = out.decode().partition("\n")
    return int(status), text


async def test_another_replica_in_another_process_shows_what_the_officer_typed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    first = console_app(engine)
    csrf = _csrf(SimpleNamespace(app=first), OFFICER)  # type: ignore[arg-type]
    form = {
        "csrf": csrf,
        "decision": "determine",
        "reason": REASON,
        "decision_no": "洛财购处〔2026〕1号",
        "decided_on": "2026-12-01",
        "liability_ends_on": "2029-13-01",  # refused by the API: kept, marked, with its error
        "penalty": "禁止参加政府采购活动三年",
    }
    async with browser(first) as a:
        posted = await a.post("/console/tasks/task-1/complete", data=form)
    await first.state.api.aclose()
    assert posted.status_code == 303 and posted.headers["location"] == "/console/tasks/task-1"
    kept = posted.cookies[FLASH_COOKIE]
    assert len(kept) < 100  # a key, not the form
    cookies = {COOKIE: OFFICER, FLASH_COOKIE: kept}
    status, page = await replica_get(tmp_path / "casework.db", "/console/tasks/task-1", cookies)
    assert status == 200
    assert f">{REASON}</textarea>" in page and 'value="洛财购处〔2026〕1号"' in page
    assert 'value="2029-13-01" class="invalid" aria-invalid="true"' in page
    assert "Input should be a valid date" in page and "处理决定内容无效" in page
    # Taken once: asked again (on this replica), the page is the plain form.
    async with browser(console_app(engine)) as b:
        b.cookies.set(FLASH_COOKIE, kept)
        again = await b.get("/console/tasks/task-1")
    assert again.status_code == 200 and REASON not in again.text and "Input should be a valid date" not in again.text


async def test_a_kept_form_is_taken_once_and_only_by_its_officer(engine: AsyncEngine) -> None:
    store = FlashStore(engine)
    key = await store.put({"form": {"reason": "r"}}, officer="alice")
    assert await store.take(key, officer="alice") == {"form": {"reason": "r"}}
    assert await store.take(key, officer="alice") is None
    other = await store.put({"form": {"reason": "r"}}, officer="alice")
    assert await store.take(other, officer="bob") is None  # and it is gone: a key is used once
    assert await store.take(other, officer="alice") is None
    assert await store.take("forged", officer="alice") is None and await store.take(None, officer="alice") is None


async def test_a_kept_form_expires(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.casework.console.flash.TTL_SECONDS", -1)
    store = FlashStore(engine)
    key = await store.put({"form": {"reason": "r"}}, officer="alice")
    assert await store.take(key, officer="alice") is None
