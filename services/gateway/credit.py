"""The public credit status without a hop (issue 19): `GET /v1/credit/{type}/{id}` answered by the
gateway from publication's read model (`publication_credit_view`, one primary-key read), with
publication's own code (services.publication.credit), so the bytes and the problems are the same.

Why: proxied, each answer woke two processes on a 2-core machine, and publication's event loop also
runs its consumers, whose batches hold the loop while the system digests a burst (bench/README.md,
"Issue 19"). The gateway's loop does nothing but HTTP.

Only with a PostgreSQL DATABASE_URL (the role `credit_gateway`, which may only read that table:
services/dbsetup.py); without one, or while the pool cannot be opened, the request is proxied to
publication as before. The per-client limit of public reads applies before either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from services.common.db import make_engine
from services.publication.credit import CreditReader, is_credit_status, serve_credit_status

log = logging.getLogger("services.gateway")

Scope = dict[str, Any]

RETRY_OPEN_SECONDS = 5.0


class CreditReads:
    def __init__(self, database_url: str | None, connect_args: dict[str, Any] | None = None) -> None:
        pg = database_url is not None and database_url.startswith(("postgresql://", "postgres://", "postgresql+"))
        self.database_url = database_url if pg else None
        # DATABASE_SSLMODE's `ssl=` (Settings.database_connect_args), for the engine and the pool alike.
        self._connect_args = dict(connect_args or {})
        self._reader: CreditReader | None = None
        self._lock = asyncio.Lock()
        self._next_try = 0.0

    @property
    def enabled(self) -> bool:
        return self.database_url is not None

    async def reader_for(self, method: str, path: str) -> CreditReader | None:
        """The reader when this request is a credit status the gateway answers itself, else None
        (proxy it)."""
        if self.database_url is None or not is_credit_status(method, path):
            return None
        if self._reader is None:
            await self._open()
        return self._reader

    async def _open(self) -> None:
        async with self._lock:
            if self._reader is not None or time.monotonic() < self._next_try:
                return
            assert self.database_url is not None
            url = "postgresql+asyncpg://" + self.database_url.split("://", 1)[1]
            engine = make_engine(url, pool_size=1, connect_args=self._connect_args)
            try:
                self._reader = await CreditReader.open(engine, self._connect_args)
            except Exception as exc:  # noqa: BLE001 - the database away: proxy meanwhile
                await engine.dispose()
                self._next_try = time.monotonic() + RETRY_OPEN_SECONDS
                log.warning("credit read model not reachable, proxying credit reads: %r", exc)

    @staticmethod
    async def serve(reader: CreditReader, scope: Scope, receive: Any, send: Any) -> None:
        """The answer or its problem, as publication gives them (services.publication.credit)."""
        await serve_credit_status(reader, scope, receive, send)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
