"""RFC 9457 problem details for every HTTP error (CONTRACT §2: stable `type`, problem+json)."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.policy import NoPolicy
from services.common.problem_texts import localise, prefers_chinese

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Clients key on this URI, so it must never change for a given code.
PROBLEM_TYPE_BASE = "https://credit.procurement.gov.cn/problems/"
_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "code", "hint"})
_CODES_BY_STATUS = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


class Problem(Exception):
    """An error answered as problem+json; raise it anywhere in a request.

    `code` is the stable machine-readable part (also the last segment of `type`); `extra` members are
    added to the body as RFC 9457 extensions; `values` fill the code's Chinese detail (problem_texts).
    `headers` (e.g. Retry-After) go on the response.
    """

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        values: Mapping[str, object] | None = None,
        **extra: Any,
    ) -> None:
        clash = _RESERVED.intersection(extra)
        if clash:
            raise ValueError(f"extension members may not redefine {sorted(clash)}")
        super().__init__(f"{code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra
        # For the catalogue's Chinese detail (problem_texts.DETAILS); never answered as members.
        self.values = dict(values or {})
        self.type = PROBLEM_TYPE_BASE + code
        self.headers: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        """The problem+json body. `code` is repeated as a member so clients need not parse `type`."""
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        body["code"] = self.code
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None, accept_language: str | None = None) -> JSONResponse:
    """The response for a problem. Every 401 challenges for a Bearer token (RFC 9110 §15.5.2).
    A caller that prefers Chinese (`Accept-Language: zh-CN`) reads the title, what to do and, for the
    common codes, the detail in Chinese (problem_texts.localise); `code` and `type` never change."""
    body = problem.to_dict()
    if instance is not None:
        body.setdefault("instance", instance)
    headers = dict(problem.headers)
    if prefers_chinese(accept_language) and localise(body, problem.values):
        headers["Content-Language"] = "zh-CN"
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=problem.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc, instance=request.url.path, accept_language=_lang(request))


def _lang(request: Request) -> str | None:
    return request.headers.get("accept-language")


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Only loc and msg: pydantic's `input` and `ctx` could echo back submitted personal data.
    errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
    problem = Problem(
        422,
        "invalid_request",
        "Invalid request",
        f"The request does not match the API ({len(errors)} error(s)).",
        errors=errors,
    )
    return problem_response(problem, instance=request.url.path, accept_language=_lang(request))


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    title = _phrase(status)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    problem = Problem(status, _CODES_BY_STATUS.get(status, "http_error"), title, detail)
    # Keep headers Starlette sets, e.g. Allow on a 405.
    problem.headers.update(exc.headers or {})
    return problem_response(problem, instance=request.url.path, accept_language=_lang(request))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this handler answers, so the server still logs the traceback;
    # the client learns nothing about the internals.
    problem = Problem(500, "internal_error", "Internal error", "The server could not complete the request.")
    return problem_response(problem, instance=request.url.path, accept_language=_lang(request))


async def _on_no_policy(request: Request, exc: NoPolicy) -> JSONResponse:
    # A policy applies only where it was issued: a region without one is told so, never served
    # another city's rules.
    problem = Problem(422, "no_policy", "No credit policy for the region", str(exc), region=exc.region)
    return problem_response(problem, instance=request.url.path, accept_language=_lang(request))


def install_problem_handlers(app: FastAPI) -> None:
    """Makes every error of `app` a problem+json response."""
    # Through FastAPI's decorator, which takes a handler of the class it is registered for
    # (Starlette's add_exception_handler types every handler as taking any Exception).
    app.exception_handler(Problem)(_on_problem)
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(StarletteHTTPException)(_on_http_exception)
    app.exception_handler(NoPolicy)(_on_no_policy)
    app.add_exception_handler(Exception, _on_unexpected)
