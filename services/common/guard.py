"""What every service refuses before routing (issue 21): a body larger than
`CREDIT_MAX_BODY_BYTES` (413 `payload_too_large`), and a path, query string or body holding text
the database cannot store (`services.common.text`: 422 `invalid_text`), so no handler, repository
or workflow ever sees it — the same rules the Kafka consumers apply."""

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.problems import Problem, problem_response
from services.common.settings import get_settings
from services.common.text import INVALID_TEXT, invalid_text_at, is_storable, message, suspect_json

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _invalid(where: str, detail: str, pointer: str | None = None) -> Problem:
    problem = Problem(422, INVALID_TEXT, "Text that cannot be stored", detail, location=where)
    if pointer is not None:
        problem.extra["pointer"] = pointer
    return problem


class RequestGuard:
    """Pure ASGI middleware (no response streaming is touched): reads the body of a JSON or form
    request once, checks it, and hands the same bytes on."""

    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes or get_settings().credit_max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._target_problem(scope)
        if problem is None and scope["method"] in _BODY_METHODS:
            body = await _read_body(receive, scope, self.max_body_bytes)
            if body is None:
                problem = _too_large(self.max_body_bytes)
            else:
                problem = _body_problem(scope, body)
                receive = _replay(body, receive)
        if problem is not None:
            await problem_response(problem, instance=_printable_path(scope))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _target_problem(scope: Scope) -> Problem | None:
        if not is_storable(scope["path"]):
            return _invalid("path", "the path holds a character that cannot be stored (NUL U+0000)")
        query = scope.get("query_string") or b""
        if b"%00" in query or b"\x00" in query:
            return _invalid("query", "the query string holds a character that cannot be stored (NUL U+0000)")
        return None


def _printable_path(scope: Scope) -> str:
    return scope["path"].replace("\x00", "%00")


def _body_problem(scope: Scope, body: bytes) -> Problem | None:
    if not body:
        return None
    content_type = ""
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            content_type = value.decode("latin-1").split(";", 1)[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        if b"%00" in body or b"\x00" in body:
            fields = [k for k, v in parse_qsl(body.decode("latin-1"), keep_blank_values=True) if "\x00" in k + v]
            if fields:
                return _invalid(
                    "body", f"form field {fields[0]!r} holds a character that cannot be stored (NUL U+0000)"
                )
        return None
    if not suspect_json(body):
        return None
    try:
        # The parser FastAPI uses, so what is checked is what the handler would get.
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the route answers `invalid_request`
    pointer = invalid_text_at(document)
    if pointer is None:
        return None
    return _invalid("body", message(pointer), pointer=pointer)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload_too_large",
        "Request body too large",
        f"a request body may hold at most {limit} bytes",
        max_bytes=limit,
    )


async def _read_body(receive: Receive, scope: Scope, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed `limit` (from Content-Length
    before anything is read, else while reading: a chunked body is not read past the limit)."""
    for name, value in scope.get("headers") or ():
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not msg.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
