"""The case officers' console at /console, behind the gateway on the API's origin. The officer signs
in by pasting a token, kept in an HttpOnly, SameSite=Strict cookie scoped to /console; every page
reads and acts through the one API (CREDIT_API_URL) with that token, so the console can do exactly
what the officer may do and nothing more. POST forms carry a CSRF token derived from the session
token (SameSite=Strict already keeps other sites' forms from sending the cookie)."""

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.casework.console.pages import calendar_home, message, page, queue, signin
from services.casework.console.replicas import replica_lags
from services.casework.console.task_page import task_page
from services.common.auth import decode_token
from services.common.calendar_status import calendar_status
from services.common.problems import Problem

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "credit_console_token"
QUEUE_FILTERS = ("state", "kind", "overdue", "escalated", "assignee", "region")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _csrf(request: Request, token: str) -> str:
    secret = request.app.state.settings.credit_jwt_secret.encode()
    return hmac.new(secret, b"console-csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


async def _who(request: Request, token: str) -> dict | None:
    settings = request.app.state.settings
    try:
        p = await asyncio.to_thread(
            decode_token, token, secret=settings.credit_jwt_secret, jwks_url=settings.credit_jwt_jwks_url
        )
    except Problem:
        return None
    return {"sub": p.sub, "role": p.role.value, "region": p.region, "org": p.org}


async def _api(request: Request, method: str, path: str, token: str, **kw: Any) -> tuple[int, object]:
    client: httpx.AsyncClient = request.app.state.api
    try:
        r = await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
    except httpx.HTTPError as exc:
        return 503, {"title": "API unavailable", "detail": str(exc)}
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, {"title": r.reason_phrase}


def _problem_text(body: object) -> str:
    if isinstance(body, dict):
        return " — ".join(str(body[k]) for k in ("title", "detail") if body.get(k)) or "refused"
    return "refused"


async def _session(request: Request) -> tuple[str, dict] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    who = await _who(request, token)
    return (token, who) if who else None


def _signed_out(error: str | None = None) -> Response:
    response = _html(signin(error), 401 if error else 200)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("")
@router.get("/")
async def queue_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out()
    token, who = session
    if who["role"] == "administrator":
        return _html(calendar_home(calendar_status(), who=who, csrf=_csrf(request, token)))
    warnings = calendar_status()["warnings"] if who["role"] == "supervisor" else []
    params = {k: v for k in QUEUE_FILTERS if (v := request.query_params.get(k))}
    if "state" not in request.query_params:
        params["state"] = "active"
    if params.get("assignee") == "me":
        params["assignee"] = who["sub"]
    status, tasks = await _api(request, "GET", "/v1/tasks", token, params=params)
    if status == 401:
        return _signed_out("Your token is no longer accepted: sign in again.")
    if status != 200 or not isinstance(tasks, dict):
        tasks, error = {"items": [], "total": 0, "as_of": ""}, _problem_text(tasks)
    else:
        error = None
    (_, counts), replicas = await asyncio.gather(
        _api(request, "GET", "/v1/tasks/counts", token),
        replica_lags(request.app.state.api, request.app.state.settings),
    )
    if not isinstance(counts, dict) or "by_officer" not in counts:
        counts = {"by_officer": [], "by_region": []}
    page_html = queue(
        tasks, counts, who=who, csrf=_csrf(request, token), error=error, warnings=warnings, replicas=replicas
    )
    return _html(page_html)


@router.post("/signin")
async def do_signin(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    who = await _who(request, token) if token else None
    if who is None:
        return _html(signin("That token was refused (expired, malformed or not signed by us)."), 400)
    if who["role"] not in ("finance_officer", "supervisor", "administrator"):
        return _html(signin("The console is for finance officers, supervisors and administrators."), 403)
    response = RedirectResponse("/console", status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        COOKIE,
        token,
        max_age=_expiry(token),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.headers.get("x-forwarded-proto", request.url.scheme) == "https",
    )
    return response


def _expiry(token: str) -> int | None:
    """The cookie lives as long as the token (already verified by _who)."""
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return max(0, int(exp - datetime.now(UTC).timestamp())) if isinstance(exp, int | float) else None


async def _form(request: Request) -> dict[str, str]:
    parsed = parse_qs((await request.body()).decode(errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _csrf_ok(request: Request, token: str, form: dict[str, str]) -> bool:
    return hmac.compare_digest(form.get("csrf", ""), _csrf(request, token))


@router.post("/signout")
async def do_signout(request: Request) -> Response:
    session = await _session(request)
    form = await _form(request)
    if session is not None and not _csrf_ok(request, session[0], form):
        return _html(signin("Sign-out refused: invalid form token."), 403)
    response = RedirectResponse("/console", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path="/console")
    return response


async def _render_task(
    request: Request, token: str, who: dict, task_id: str, *, error: str | None = None, ok: str | None = None
) -> Response:
    status, task = await _api(request, "GET", f"/v1/tasks/{quote(task_id)}", token)
    if status == 401:
        return _signed_out("Your token is no longer accepted: sign in again.")
    if status != 200 or not isinstance(task, dict):
        return _html(
            queue(
                {"items": [], "total": 0, "as_of": ""},
                {"by_officer": [], "by_region": []},
                who=who,
                csrf=_csrf(request, token),
                error=_problem_text(task),
            ),
            status,
        )
    related = {}
    for name, path in task["links"].items():
        s, body = await _api(request, "GET", path, token)
        related[name] = {"status": s, "body": body}
    return _html(task_page(task, related, who=who, csrf=_csrf(request, token), error=error, ok=ok))


@router.get("/tasks/{task_id}")
async def task_detail(task_id: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out()
    token, who = session
    done = request.query_params.get("done")
    return await _render_task(request, token, who, task_id, ok=f"Done: {done}" if done else None)


def completion_body(form: dict[str, str]) -> dict:
    """The JSON of POST /v1/tasks/{id}/complete from the decision form: only the fields the chosen
    decision takes, and only those filled in (an empty `correct` withdraws the record)."""
    decision = form.get("decision", "")
    body: dict = {"decision": decision, "reason": form.get("reason", "")}
    determination = {k: form.get(k, "").strip() for k in ("decision_no", "decided_on", "liability_ends_on", "penalty")}
    code = form.get("behaviour_code", "").strip()
    if decision == "determine" or (decision == "correct" and any(determination.values())):
        body["determination"] = determination
    if decision in ("record_general", "correct") and code:
        body["behaviour_code"] = code
    if decision in ("approve", "reject") and form.get("opinion", "").strip():
        body["opinion"] = form["opinion"].strip()
    return body


@router.post("/tasks/{task_id}/{action}")
async def task_action(task_id: str, action: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out("Sign in first.")
    token, who = session
    form = await _form(request)
    if not _csrf_ok(request, token, form):
        # Answered before anything is read or done: a forged form learns nothing about the task.
        back = f'<p><a href="/console/tasks/{quote(task_id)}">Back to the task</a></p>'
        return _html(page("Refused", message("Refused: invalid form token (CSRF).") + back, who=who), 403)
    if action not in ("claim", "unclaim", "complete"):
        return await _render_task(request, token, who, task_id, error=f"Unknown action {action!r}.")
    kw = {"json": completion_body(form)} if action == "complete" else {}
    status, body = await _api(request, "POST", f"/v1/tasks/{quote(task_id)}/{action}", token, **kw)
    if status == 401:
        return _signed_out("Your token is no longer accepted: sign in again.")
    if status != 200:
        return await _render_task(request, token, who, task_id, error=_problem_text(body))
    target = f"/console/tasks/{quote(task_id)}?{urlencode({'done': action})}"
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
