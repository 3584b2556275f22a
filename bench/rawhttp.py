"""A lean open-loop GET generator: keep-alive HTTP/1.1 connections as asyncio Protocols, responses
parsed by httptools (the C parser uvicorn uses), no task per request.

Why not httpx for the load itself: measured here, at a few hundred requests/s httpx.AsyncClient
spends a whole core of this 2-core machine in its connection pool (httpcore scans every queued
request on each assignment, and without `sniffio` installed it retries `import sniffio` on every
request), so the generator starved the stack it was measuring and then hid the stall behind its
own queue. This costs ~30-50 µs of CPU a request. Seeding and checks still use httpx.
"""

import asyncio
import collections
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httptools

IDLE_LIMIT = 3.0  # seconds a kept-alive connection may idle before it is not reused


class _Detached:
    """Where the callbacks of a connection we closed on purpose go."""

    def answered(self, *args: object) -> None: ...

    def broken(self, *args: object) -> None: ...

    def lost(self, *args: object) -> None: ...


class _Connection(asyncio.Protocol):
    def __init__(self, gen: "OpenLoopGetter") -> None:
        self.gen: OpenLoopGetter | _Detached = gen
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.current: tuple[int, float] | None = None
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] - uvloop's is not an asyncio.Transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.gen.broken(self)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        keep_alive = self.parser.should_keep_alive()
        self.gen.answered(self, status, keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self)

    def send(self, request: bytes, item: tuple[int, float]) -> None:
        self.current = item
        assert self.transport is not None
        self.transport.write(request)


class OpenLoopGetter:
    """Sends GETs on up to `connections` keep-alive connections; a request that finds every
    connection busy waits in a FIFO (its latency still counts from when it was due)."""

    def __init__(self, base_url: str, connections: int, on_result: Callable[[int, float, int], None]) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only plain http base URLs are supported, got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.host_header = parts.netloc.encode()
        self.connections = connections
        self.on_result = on_result  # (index, due, status or 0 for a failure)
        self.free: list[_Connection] = []
        self.open = 0
        self.opening = 0
        self.waiting: collections.deque[tuple[int, float, bytes]] = collections.deque()
        self.loop = asyncio.get_running_loop()

    def request_bytes(self, path: str) -> bytes:
        return (
            f"GET {self.prefix}{path} HTTP/1.1\r\nHost: ".encode()
            + self.host_header
            + b"\r\nAccept: application/json\r\nUser-Agent: credit-bench\r\n\r\n"
        )

    async def _connect(self) -> None:
        self.opening += 1
        try:
            _, conn = await self.loop.create_connection(lambda: _Connection(self), self.host, self.port)
        except OSError:
            self.opening -= 1
            # Nothing listens: fail one waiting request rather than spin.
            if self.waiting:
                index, due, _ = self.waiting.popleft()
                self.on_result(index, due, 0)
            return
        self.opening -= 1
        self.open += 1
        self._idle(conn)

    async def warm(self) -> None:
        await asyncio.gather(*(self._connect() for _ in range(self.connections)))

    def _idle(self, conn: _Connection) -> None:
        if self.waiting:
            index, due, request = self.waiting.popleft()
            conn.send(request, (index, due))
        else:
            conn.idle_since = time.monotonic()
            self.free.append(conn)

    def get(self, index: int, due: float, request: bytes) -> None:
        while self.free:
            conn = self.free.pop()
            if time.monotonic() - conn.idle_since < IDLE_LIMIT:
                conn.send(request, (index, due))
                return
            # The server may be closing it (uvicorn drops idle keep-alives after 5 s): not this one.
            self.open -= 1
            conn.gen = _Detached()
            if conn.transport is not None:
                conn.transport.close()
        self.waiting.append((index, due, request))
        if self.open + self.opening < self.connections:
            self.loop.create_task(self._connect())

    def answered(self, conn: _Connection, status: int, keep_alive: bool) -> None:
        item, conn.current = conn.current, None
        if item is not None:
            self.on_result(item[0], item[1], status)
        if keep_alive:
            self._idle(conn)
        elif conn.transport is not None:
            conn.transport.close()

    def broken(self, conn: _Connection) -> None:
        if conn.transport is not None:
            conn.transport.close()

    def lost(self, conn: _Connection) -> None:
        self.open -= 1
        if conn in self.free:
            self.free.remove(conn)
        item, conn.current = conn.current, None
        if item is not None:
            self.on_result(item[0], item[1], 0)
        if self.waiting and self.open + self.opening < self.connections:
            self.loop.create_task(self._connect())

    def close(self) -> None:
        for conn in self.free:
            if conn.transport is not None:
                conn.transport.close()
        self.free.clear()
