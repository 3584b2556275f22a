"""The `/readyz` detail of a service with a replica of `credit.records`: its database answers, and
how far behind its replica is (replica_lag.py)."""

from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.replica_lag import ReplicaClock


def replica_detail(engine: Callable[[], AsyncEngine], clock: ReplicaClock) -> Callable[[], Awaitable[dict]]:
    async def detail() -> dict:
        async with engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"replica": {"topic": "credit.records", **clock.detail()}}

    return detail
