"""What the gateway shows people about the API, with nothing loaded from outside 127.0.0.1:
Swagger UI at /docs from the assets of the pinned `fastapi-offline` wheel (MIT; its licence travels
in the wheel's dist-info; the wheel's ReDoc is not served: ReDoc's sidebar loads a logo from its
CDN), the error-code catalogue at /problems and one page per code at /problems/{code} (each problem
`type` ends in that code), and the problem responses of every route in the merged OpenAPI document."""

from __future__ import annotations

import copy
from html import escape
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi.openapi.docs import get_swagger_ui_html

from services.common.problem_catalogue import catalogue, codes_by_status
from services.common.problem_texts import DETAILS, TEXTS
from services.common.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets/"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)
PUBLIC_PREFIXES = ("/v1/credit", "/v1/blacklist", "/v1/notices", "/v1/catalogue")
PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details (application/problem+json). `code` is the last segment of "
    "`type` and never changes; `title` (and `hint`) are in Chinese with `Accept-Language: zh-CN`.",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "example": PROBLEM_TYPE_BASE + "not_found"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "the error code: see /problems"},
        "hint": {"type": "string", "description": "what it means and what to do (zh-CN only)"},
        "errors": {
            "type": "array",
            "description": "each field's error (invalid_request, invalid_determination …)",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "array", "items": {}}, "msg": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
STATUS_WORDS = {
    400: "Bad request",
    401: "No token, or a token refused",
    403: "The caller's role or region does not allow it",
    404: "Not found (or not visible to the caller)",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    413: "Body too large",
    422: "The request is refused as invalid; each field's error in `errors`",
    429: "Too many public reads (Retry-After)",
    500: "Internal error",
    502: "The service broke off the exchange",
    503: "A service or its database is not answering (Retry-After); nothing was changed",
    504: "The service did not answer in time",
}
# Answered by any route, whatever the service.
COMMON = {500: ["internal_error"], 502: ["bad_gateway"], 503: ["database_unavailable", "service_unavailable"],
          504: ["gateway_timeout"]}  # fmt: skip


def swagger_html() -> bytes:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Procurement credit API — docs",
        swagger_js_url=ASSETS_URL + "swagger-ui-bundle.js",
        swagger_css_url=ASSETS_URL + "swagger-ui.css",
        swagger_favicon_url=ASSETS_URL + "favicon.png",
        # No badge asking validator.swagger.io about the document.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return bytes(page.body)


def asset(name: str) -> tuple[bytes, str] | None:
    media = ASSETS.get(name)
    return ((ASSETS_DIR / name).read_bytes(), media) if media else None


# -- the error-code pages -----------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;"
    "color:#1d2733}table{border-collapse:collapse;width:100%}td,th{border:1px solid #d8dce2;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#eef0f3}code{background:#f3f4f6;padding:0 .2rem}"
)


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width"><style>{_STYLE}</style></head><body>{body}'
        "</body></html>"
    ).encode()


def catalogue_html() -> bytes:
    rows = []
    for code, entry in catalogue().items():
        zh, what, en = TEXTS.get(code, ("", "", ""))
        statuses = ", ".join(str(s) for s in sorted(entry.statuses)) or "—"
        rows.append(
            f'<tr id="{escape(code)}"><td><a href="/problems/{escape(code)}"><code>{escape(code)}</code></a></td>'
            f"<td>{statuses}</td><td>{escape(zh)}</td><td>{escape(what)}<br><small>{escape(en)}</small></td>"
            f"<td>{escape(', '.join(sorted(entry.services)))}</td></tr>"
        )
    body = (
        "<h1>错误代码 Error codes</h1><p>Every error is <code>application/problem+json</code> (RFC 9457) with a "
        f"stable <code>code</code>; its <code>type</code> is <code>{escape(PROBLEM_TYPE_BASE)}&lt;code&gt;</code>. "
        "This list is read from the source code (services/common/problem_catalogue.py). "
        '<a href="/docs">API docs</a></p><table id="codes"><thead><tr><th>code</th><th>HTTP</th><th>标题</th>'
        f"<th>说明 / meaning</th><th>services</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return _page("错误代码 Error codes", body)


def code_html(code: str) -> bytes | None:
    entry = catalogue().get(code)
    if entry is None:
        return None
    zh, what, en = TEXTS.get(code, ("", "", ""))
    titles = "; ".join(sorted(entry.titles)) or "—"
    body = (
        f'<p><a href="/problems">← 全部错误代码 all codes</a></p><h1><code>{escape(code)}</code> {escape(zh)}</h1>'
        f"<p>{escape(what)}</p><p>{escape(en)}</p><table>"
        f"<tr><th>type</th><td><code>{escape(PROBLEM_TYPE_BASE + code)}</code></td></tr>"
        f"<tr><th>HTTP status</th><td>{escape(', '.join(str(s) for s in sorted(entry.statuses)) or '—')}</td></tr>"
        f"<tr><th>title (en)</th><td>{escape(titles)}</td></tr>"
        f"<tr><th>detail (zh-CN)</th><td>{escape(DETAILS.get(code, '—'))}</td></tr>"
        f"<tr><th>services</th><td>{escape(', '.join(sorted(entry.services)))}</td></tr></table>"
    )
    return _page(f"{code} — 错误代码", body)


# -- problem responses in the OpenAPI document ----------------------------------------------------------


def _statuses(path: str, method: str, op: dict[str, Any]) -> list[int]:
    out = {422, 500, 502, 503, 504}
    if op.get("security") or not path.startswith(PUBLIC_PREFIXES):
        out |= {401, 403}
    if "{" in path:
        out.add(404)
    if method in ("post", "put", "patch", "delete"):
        out |= {409, 413}
    if method == "get" and path.startswith(PUBLIC_PREFIXES):
        out.add(429)
    return sorted(out)


def _response(status: int, codes: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{c}`" for c in codes) if codes else "see /problems"
    return {
        "description": f"{STATUS_WORDS.get(status, 'Error')}. Codes: {listed}.",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "x-problem-codes": codes,
    }


def document_problems(doc: dict[str, Any]) -> dict[str, Any]:
    """The merged document with each operation's problem responses: the statuses that apply to it,
    each with the codes its service answers with that status (read from the source)."""
    doc = copy.deepcopy(doc)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for schema in ("HTTPValidationError", "ValidationError"):
        schemas.pop(schema, None)
    by_service: dict[str, dict[int, list[str]]] = {}
    for path, item in doc.get("paths", {}).items():
        if not isinstance(item, dict):
            continue
        service = item.get("x-service", "")
        codes = by_service.setdefault(service, codes_by_status(service))
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            for status in _statuses(path, method, op):
                found = sorted(set(codes.get(status, [])) | set(COMMON.get(status, [])))
                if status == 404 and not found:
                    found = ["not_found"]
                responses[str(status)] = _response(status, found)
    doc.setdefault("info", {})["description"] = (
        doc.get("info", {}).get("description", "")
        + " Every error response is listed per route with its codes; the catalogue of codes is at /problems."
    )
    return doc
