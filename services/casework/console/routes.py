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

from services.casework.console.flash import FLASH_COOKIE, TTL_SECONDS, FlashStore, field_errors, refusal_text
from services.casework.console.i18n import DECISIONS as DECISION_WORDS
from services.casework.console.i18n import LANG_COOKIE, LANGS, lang_of, named, w
from services.casework.console.pages import PAGE_SIZE, calendar_home, queue, signin
from services.casework.console.pages_base import message, page
from services.casework.console.replicas import replica_lags
from services.casework.console.subject_pages import record_page, subject_page
from services.casework.console.task_page import task_page
from services.common.auth import decode_token
from services.common.calendar_status import calendar_status
from services.common.lawdates import today
from services.common.problems import Problem

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "credit_console_token"
QUEUE_FILTERS = ("state", "kind", "overdue", "escalated", "assignee", "region", "q", "sort")
SUBJECT_TYPES = frozenset({"supplier", "agency", "expert", "purchaser"})
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


def _lang(request: Request) -> str:
    return lang_of(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


async def _api(request: Request, method: str, path: str, token: str, **kw: Any) -> tuple[int, object]:
    client: httpx.AsyncClient = request.app.state.api
    # The API's problems come back in the console's language (titles and hints in Chinese).
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN" if _lang(request) == "zh" else "en"}
    try:
        r = await client.request(method, path, headers=headers, **kw)
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


OFFICER_ROLES = frozenset({"finance_officer", "supervisor"})


async def _officer(request: Request) -> tuple[str, dict] | Response:
    """The signed-in finance officer or supervisor, or the answer that refuses anyone else before
    anything is asked of the API (deny unless a role allows: evidence and evaluations are theirs)."""
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    if who["role"] not in OFFICER_ROLES:
        lang = _lang(request)
        body = message(w(lang, "console_roles"))
        return _html(page("403", body, who=who, csrf=_csrf(request, token), lang=lang), 403)
    return token, who


def _signed_out(request: Request, error: str | None = None) -> Response:
    response = _html(signin(error, _lang(request)), 401 if error else 200)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/lang")
async def switch_language(request: Request) -> Response:
    """The language switch in the header: remembered in a cookie for a year; back to the same page."""
    to = request.query_params.get("to", "zh")
    back = request.query_params.get("back", "/console")
    if not back.startswith("/console") or back.startswith("//"):
        back = "/console"
    response = RedirectResponse(back, status_code=303, headers=SECURITY_HEADERS)
    if to in LANGS:
        response.set_cookie(LANG_COOKIE, to, max_age=365 * 86400, path="/console", samesite="strict")
    return response


def queue_params(request: Request) -> dict[str, str]:
    """The queue's filters as the page shows them (`assignee=me` stays `me`); active tasks by default."""
    params = {k: v for k in QUEUE_FILTERS if (v := request.query_params.get(k, "").strip())}
    if "state" not in request.query_params:
        params["state"] = "active"
    else:
        params["state"] = request.query_params["state"]
    return params


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


@router.get("")
@router.get("/")
async def queue_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    lang = _lang(request)
    if who["role"] == "administrator":
        return _html(calendar_home(calendar_status(), who=who, csrf=_csrf(request, token), lang=lang))
    warnings = calendar_status()["warnings"] if who["role"] == "supervisor" else []
    shown = queue_params(request)
    params = {k: v for k, v in shown.items() if v}
    if params.get("assignee") == "me":
        params["assignee"] = who["sub"]
    number = _page_number(request)
    params |= {"limit": str(PAGE_SIZE), "offset": str((number - 1) * PAGE_SIZE)}
    status, tasks = await _api(request, "GET", "/v1/tasks", token, params=params)
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    if status != 200 or not isinstance(tasks, dict):
        tasks, error = {"items": [], "total": 0, "as_of": ""}, refusal_text(tasks, lang)
    else:
        error = None
    (_, counts), replicas = await asyncio.gather(
        _api(request, "GET", "/v1/tasks/counts", token),
        replica_lags(request.app.state.api, request.app.state.settings),
    )
    if not isinstance(counts, dict) or "by_officer" not in counts:
        counts = {"by_officer": [], "by_region": []}
    page_html = queue(
        tasks,
        counts,
        who=who,
        csrf=_csrf(request, token),
        error=error,
        warnings=warnings,
        replicas=replicas,
        lang=lang,
        params=shown,
    )
    return _html(page_html)


@router.post("/signin")
async def do_signin(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    who = await _who(request, token) if token else None
    lang = _lang(request)
    if who is None:
        return _html(signin(w(lang, "token_refused"), lang), 400)
    if who["role"] not in ("finance_officer", "supervisor", "administrator"):
        return _html(signin(w(lang, "console_roles"), lang), 403)
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
        return _html(signin(w(_lang(request), "csrf"), _lang(request)), 403)
    response = RedirectResponse("/console", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path="/console")
    return response


async def _render_task(
    request: Request, token: str, who: dict, task_id: str, *, ok: str | None = None, flash: dict | None = None
) -> Response:
    lang = _lang(request)
    status, task = await _api(request, "GET", f"/v1/tasks/{quote(task_id, safe='')}", token)
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    if status != 200 or not isinstance(task, dict):
        body = f'<p><a href="/console">{w(lang, "back")}</a></p>{message(refusal_text(task, lang))}'
        return _html(page(w(lang, "queue"), body, who=who, csrf=_csrf(request, token), lang=lang), status)
    paths = dict(task["links"])
    subject = task.get("subject") or {}
    if subject.get("type") in SUBJECT_TYPES and subject.get("id"):
        paths["_archive"] = f"/v1/archive/{quote(subject['type'], safe='')}/{quote(str(subject['id']), safe='')}"
    fetched = await asyncio.gather(*(_api(request, "GET", path, token) for path in paths.values()))
    related = {name: {"status": s, "body": b} for name, (s, b) in zip(paths, fetched, strict=True)}
    archive = related.pop("_archive", {})
    flash = flash or {}
    html = task_page(
        {**task, "as_of": today().isoformat()},
        related,
        who=who,
        csrf=_csrf(request, token),
        error=flash.get("error"),
        ok=ok or flash.get("ok"),
        lang=lang,
        form=flash.get("form"),
        field_errors=flash.get("errors"),
        archive=found if archive.get("status") == 200 and isinstance(found := archive.get("body"), dict) else None,
    )
    return _html(html)


async def _take_flash(request: Request, who: dict) -> dict | None:
    key = request.cookies.get(FLASH_COOKIE)
    if not key:  # nothing was kept for this GET: the database is not asked
        return None
    return await FlashStore(request.app.state.runtime.engine).take(key, officer=who["sub"])


def _redirect(target: str) -> Response:
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


async def _redirect_kept(request: Request, target: str, flash: dict, who: dict) -> Response:
    """Post/redirect/get with what the GET must show (flash.py): kept in the casework database."""
    key = await FlashStore(request.app.state.runtime.engine).put(flash, officer=who["sub"])
    response = _redirect(target)
    response.set_cookie(FLASH_COOKIE, key, max_age=TTL_SECONDS, path="/console", httponly=True, samesite="strict")
    return response


@router.get("/tasks/{task_id}")
async def task_detail(task_id: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    lang = _lang(request)
    done = request.query_params.get("done")
    ok = None
    if done in ("claim", "unclaim"):
        ok = w(lang, f"done_{done}")
    elif done:
        ok = w(lang, "done", decision=named(DECISION_WORDS, done, lang))
    response = await _render_task(request, token, who, task_id, ok=ok, flash=await _take_flash(request, who))
    response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


def completion_body(form: dict[str, str]) -> dict:
    """The JSON of POST /v1/tasks/{id}/complete from the decision form: only the fields the chosen
    decision takes, and only those filled in (an empty `correct` withdraws the record)."""
    decision = form.get("decision", "")
    body: dict = {"decision": decision, "reason": form.get("reason", "")}
    determination = {k: form.get(k, "").strip() for k in ("decision_no", "decided_on", "liability_ends_on", "penalty")}
    if form.get("legal_basis", "").strip():
        determination["legal_basis"] = form["legal_basis"].strip()
    code = form.get("behaviour_code", "").strip()
    if decision == "determine" or (decision == "correct" and any(determination.values())):
        body["determination"] = determination
    if decision in ("record_general", "correct") and code:
        body["behaviour_code"] = code
    if decision == "refer":
        body["suppliers"] = form.get("suppliers", "").replace(",", " ").split()
    if decision in ("approve", "reject") and form.get("opinion", "").strip():
        body["opinion"] = form["opinion"].strip()
    return body


async def _posted(request: Request, back: str) -> tuple[str, dict, dict[str, str], str] | Response:
    """(token, who, form, language) of a console form post, or the answer that refuses it: no session, or
    no valid CSRF token (answered before anything is read or done: a forged form learns nothing)."""
    session = await _session(request)
    lang = _lang(request)
    if session is None:
        return _signed_out(request, w(lang, "signin_again"))
    token, who = session
    form = await _form(request)
    if not _csrf_ok(request, token, form):
        link = f'<p><a href="{back}">{w(lang, "back_to_task")}</a></p>'
        return _html(page("Refused", message(w(lang, "csrf") + " invalid form token") + link, who=who, lang=lang), 403)
    return token, who, form, lang


@router.post("/tasks/{task_id}/{action}")
async def task_action(task_id: str, action: str, request: Request) -> Response:
    back = f"/console/tasks/{quote(task_id, safe='')}"
    posted = await _posted(request, back)
    if isinstance(posted, Response):
        return posted
    token, who, form, lang = posted
    kept = {k: v for k, v in form.items() if k != "csrf"}
    if action not in ("claim", "unclaim", "complete"):
        return await _redirect_kept(request, back, {"error": w(lang, "unknown_action"), "form": kept}, who)
    body = completion_body(form) if action == "complete" else None
    status, answer = await _api(
        request, "POST", f"/v1/tasks/{quote(task_id, safe='')}/{action}", token, **({"json": body} if body else {})
    )
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    if status != 200:
        # Post/redirect/get: the GET shows what was typed and each field's error (flash.py).
        flash = {"error": refusal_text(answer, lang), "form": kept, "errors": field_errors(answer, lang)}
        return await _redirect_kept(request, back, flash, who)
    done = body["decision"] if body else action
    return _redirect(f"{back}?{urlencode({'done': done})}")


@router.post("/records/{record_id}/access-request")
async def request_evidence(record_id: str, request: Request) -> Response:
    """The evidence access request button: POST /v1/records/{id}/access-requests {purpose}."""
    back = f"/console/records/{quote(record_id, safe='')}"
    posted = await _posted(request, back)
    if isinstance(posted, Response):
        return posted
    token, who, form, lang = posted
    status, answer = await _api(
        request, "POST", f"/v1/records/{quote(record_id, safe='')}/access-requests", token,
        json={"purpose": form.get("purpose", "").strip()},
    )  # fmt: skip
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    if status not in (200, 201) or not isinstance(answer, dict):
        kept = {"error": refusal_text(answer, lang), "form": {"purpose": form.get("purpose", "")}}
        return await _redirect_kept(request, back, kept, who)
    return await _redirect_kept(request, back, {"ok": w(lang, "access_requested", id=answer.get("id"))}, who)


@router.get("/records/{record_id}")
async def record_detail(record_id: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    lang = _lang(request)
    status, record = await _api(request, "GET", f"/v1/records/{quote(record_id, safe='')}", token)
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    flash = await _take_flash(request, who) or {}
    html = record_page(
        record_id, status, record, who=who, csrf=_csrf(request, token), lang=lang,
        error=flash.get("error") or (None if status == 200 else refusal_text(record, lang)), ok=flash.get("ok"),
    )  # fmt: skip
    response = _html(html, 200 if status == 200 else status)
    response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


@router.get("/subjects/{subject_type}/{subject_id}")
async def subject_detail(subject_type: str, subject_id: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _signed_out(request)
    token, who = session
    lang = _lang(request)
    if subject_type not in SUBJECT_TYPES:
        return _html(page("404", message(refusal_text({"title": subject_type}, lang)), who=who, lang=lang), 404)
    path = f"{quote(subject_type, safe='')}/{quote(subject_id, safe='')}"
    (status, archive), (_, public) = await asyncio.gather(
        _api(request, "GET", f"/v1/archive/{path}", token), _api(request, "GET", f"/v1/credit/{path}", token)
    )
    if status == 401:
        return _signed_out(request, w(lang, "signin_again"))
    html = subject_page(
        subject_type, subject_id, archive if status == 200 and isinstance(archive, dict) else None,
        public if isinstance(public, dict) else None,
        who=who, csrf=_csrf(request, token), lang=lang, error=None if status == 200 else refusal_text(archive, lang),
    )  # fmt: skip
    return _html(html, 200 if status == 200 else status)
