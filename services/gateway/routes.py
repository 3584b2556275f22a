"""Which service answers which path (CONTRACT §2: one base URL for every endpoint).

Adding a service is one line in `UPSTREAMS`. The environment can change the table:

- `GATEWAY_UPSTREAM_<NAME>=http://host:port` moves one service (e.g. `GATEWAY_UPSTREAM_PUBLICATION`);
- `GATEWAY_ROUTES` replaces the whole table with a JSON object of path prefix -> upstream, where an
  upstream is a base URL or `{"service": name, "url": base URL}`:
  `{"/v1/credit": "http://127.0.0.1:8102", "/v1/tasks": {"service": "casework", "url": "http://..."}}`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Upstream:
    name: str
    url: str
    prefixes: tuple[str, ...]


# service, local base URL, the path prefixes it answers
UPSTREAMS: tuple[Upstream, ...] = (
    Upstream("publication", "http://127.0.0.1:8102", ("/v1/credit", "/v1/blacklist", "/v1/notices", "/v1/pushes")),
    Upstream(
        "evaluation",
        "http://127.0.0.1:8101",
        (
            "/v1/catalogue",
            "/v1/reports",
            "/v1/records",
            "/v1/experts",
            "/v1/ledger",
            "/v1/access-requests",
            "/v1/audit",
            "/v1/archive",
            "/v1/determinations",
        ),
    ),
    Upstream("repair", "http://127.0.0.1:8103", ("/v1/repairs",)),
    Upstream("appeal", "http://127.0.0.1:8104", ("/v1/appeals",)),
    # The dashboard page is the statistics service's: its longer prefix wins over casework's /console.
    Upstream("statistics", "http://127.0.0.1:8110", ("/v1/statistics", "/console/dashboard")),
    Upstream(
        "casework", "http://127.0.0.1:8105", ("/v1/tasks", "/v1/calendar", "/v1/intended-determinations", "/console")
    ),
    Upstream("watch", "http://127.0.0.1:8107", ("/v1/projects", "/v1/warnings", "/v1/rankings")),
    Upstream(
        "evaluations", "http://127.0.0.1:8109", ("/v1/purchasers", "/v1/agencies", "/v1/inspections", "/v1/suppliers")
    ),
)


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str
    url: str  # base URL, no trailing slash

    def matches(self, path: str) -> bool:
        # "/v1/credit" answers "/v1/credit" and "/v1/credit/...", never "/v1/creditors".
        return path == self.prefix or path.startswith(self.prefix + "/")


def _clean_prefix(prefix: str) -> str:
    prefix = "/" + prefix.strip().strip("/")
    if prefix == "/":
        raise ValueError("a gateway route cannot claim the whole URL space ('/')")
    return prefix


def _clean_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"upstream must be an http(s) base URL, got {url!r}")
    return url


def build_routes(entries: Iterable[tuple[str, str, str]]) -> tuple[Route, ...]:
    """(prefix, service, url) triples -> routes, longest prefix first (so it wins)."""
    routes = {}
    for prefix, service, url in entries:
        p = _clean_prefix(prefix)
        routes[p] = Route(p, service, _clean_url(url))
    return tuple(sorted(routes.values(), key=lambda r: len(r.prefix), reverse=True))


def _service_for(prefix: str, url: str) -> str:
    for upstream in UPSTREAMS:
        if prefix in upstream.prefixes:
            return upstream.name
    return urlsplit(url).netloc


def routes_from_env(env: Mapping[str, str] | None = None) -> tuple[Route, ...]:
    env = os.environ if env is None else env
    raw = env.get("GATEWAY_ROUTES", "").strip()
    if raw:
        table = json.loads(raw)
        if not isinstance(table, dict):
            raise ValueError("GATEWAY_ROUTES must be a JSON object of path prefix -> upstream")
        entries = []
        for prefix, target in table.items():
            if isinstance(target, str):
                entries.append((prefix, _service_for(_clean_prefix(prefix), target), target))
            elif isinstance(target, dict) and "url" in target:
                service = target.get("service") or _service_for(_clean_prefix(prefix), target["url"])
                entries.append((prefix, service, target["url"]))
            else:
                raise ValueError(f"GATEWAY_ROUTES[{prefix!r}] must be a URL or {{service, url}}")
        return build_routes(entries)
    return build_routes(
        (prefix, u.name, env.get(f"GATEWAY_UPSTREAM_{u.name.upper()}", u.url))
        for u in UPSTREAMS
        for prefix in u.prefixes
    )
