"""A per-client limit on the public read path (issue 21, point 10): anyone may query credit status,
but one client enumerating random USCCs at hundreds of requests a second is refused with 429 and
`Retry-After` instead of being served.

The client is the peer address the gateway sees (it is the edge: uvicorn runs with
`proxy_headers=False`, so a caller cannot pick its own key with X-Forwarded-For). Behind a load
balancer, give the gateway the balancer's PROXY protocol or run it with trusted proxy headers, else
every caller shares the balancer's address. The limit is in `limits`' notation
(`GATEWAY_PUBLIC_RATE_LIMIT`, default `50/second`: a purchaser's desk or a platform checking a
tender's bidders asks a few times a second; an empty value switches it off). A fixed window per
client in memory: about 10 µs a request, and a burst of at most twice the limit across a window's
edge. Each gateway replica counts on its own.
"""

from __future__ import annotations

import math
import os
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

DEFAULT_PUBLIC_RATE_LIMIT = "50/second"
# GET only: what anyone may read without a token and what an enumeration walks.
PUBLIC_READ_PREFIXES = ("/v1/credit/", "/v1/blacklist", "/v1/notices")


class PublicReadLimit:
    def __init__(self, limit: str | None = None) -> None:
        spec = os.environ.get("GATEWAY_PUBLIC_RATE_LIMIT", DEFAULT_PUBLIC_RATE_LIMIT) if limit is None else limit
        self.item: RateLimitItem | None = parse(spec) if spec.strip() else None
        self._limiter = FixedWindowRateLimiter(MemoryStorage())

    def applies(self, method: str, path: str) -> bool:
        return self.item is not None and method in ("GET", "HEAD") and path.startswith(PUBLIC_READ_PREFIXES)

    def retry_after(self, client: str) -> int | None:
        """None when the request may go on, else the whole seconds until the client's window resets."""
        assert self.item is not None
        if self._limiter.hit(self.item, client):
            return None
        reset = self._limiter.get_window_stats(self.item, client).reset_time
        return max(1, math.ceil(reset - time.time()))
