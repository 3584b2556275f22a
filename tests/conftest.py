"""Fixtures. Connected tests (marker `connected`) share one real stack per session: Tansu,
Temporal dev server, a fresh PostgreSQL database and every service as its own process."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.common.auth import mint_token
from services.common.settings import DEV_JWT_SECRET
from tests.stack import Stack

ARTIFACTS = Path(__file__).parent / "artifacts"


def token(role: str, org: str, region: str, sub: str | None = None) -> str:
    return mint_token(sub=sub or f"{role}-{org}", role=role, org=org, region=region, secret=DEV_JWT_SECRET)


def bearer(role: str, org: str, region: str, sub: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, org, region, sub)}"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    s = Stack(workdir=workdir)
    try:
        s.start()
        yield s
    finally:
        s.close()
        _keep_logs(workdir, "session")


def _keep_logs(workdir: Path, name: str) -> None:
    """Service logs are the first thing to read when a connected test fails in CI."""
    if os.environ.get("CI"):
        for log in workdir.glob("*.log"):
            tail = log.read_text(errors="replace")[-4000:]
            (ARTIFACTS / name).mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / name / log.name).write_text(tail)


@pytest.fixture(scope="session")
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.api, timeout=30, trust_env=False) as client:
        yield client
