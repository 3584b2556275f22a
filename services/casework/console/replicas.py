"""How far behind the replicas of `credit.records` are (issue 23), for the console: each replica
service's `/readyz` (replica_lag.py), asked directly (not through the gateway, which does not route
it), with a short timeout so a slow service never holds up the queue page."""

import asyncio

import httpx

from services.common.settings import Settings

TIMEOUT_SECONDS = 1.0


async def replica_lags(client: httpx.AsyncClient, settings: Settings) -> list[dict]:
    async def one(service: str, url: str) -> dict:
        try:
            r = await client.get(f"{url}/readyz", timeout=TIMEOUT_SECONDS)
            return {"service": service, **r.json()["replica"]}
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return {"service": service, "error": "not answering"}

    return list(
        await asyncio.gather(one("appeal", settings.credit_appeal_url), one("repair", settings.credit_repair_url))
    )
